/**
 * A new developer's first hour (issue 16, point 10), against the real server process as `npm start` runs it:
 * on another port (`PORT=8123 npm start`, no PUBLIC_ORIGIN) and browsed as 127.0.0.1 or localhost, forms are
 * accepted; a form from an origin that is neither is refused, and the log names both origins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { canConnect, freePort, startProcess, waitFor } from '../helpers/services.ts';
import { PATHS } from '../../src/paths.ts';
import { TEST_LOAD_SHED_BOUND_MS } from '../helpers/app.ts';

const SERVER = join(import.meta.dirname, '..', '..', 'src', 'server.ts');

test(
  'PORT set, PUBLIC_ORIGIN not: forms work through 127.0.0.1 and localhost; another origin ' + 'is refused and logged',
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-first-hour-'));
    const port = await freePort();
    const server = await startProcess(process.execPath, [SERVER], {
      env: {
        NODE_ENV: 'development',
        PORT: String(port),
        DATA_DIR: dataDir,
        PUBLIC_ORIGIN: undefined,
        HOST: undefined,
        SESSION_SECRET: undefined,
        WORKERS: undefined,
        REDIS_URL: undefined,
        API_BASE_URL: undefined,
        LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS), // test/helpers/app.ts says why
        LOG_LEVEL: 'info',
      },
      readyCheck: () => canConnect(port),
      name: 'lpa-front',
    });
    t.after(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const origin = `http://127.0.0.1:${String(port)}`;

    for (const browsedAs of [origin, `http://localhost:${String(port)}`, `http://[::1]:${String(port)}`]) {
      const browser = new Browser(origin, browsedAs);
      const form = await browser.get(PATHS.login);
      const res = await browser.post(PATHS.login, { email: '', password: '', _csrf: csrfTokenFrom(form.text) });
      assert.equal(res.status, 400, `${browsedAs}: the form is checked, not refused (${String(res.status)})`);
    }

    const stranger = new Browser(origin, 'http://localhost:9');
    const form = await stranger.get(PATHS.login);
    const refused = await stranger.post(PATHS.login, { email: '', password: '', _csrf: csrfTokenFrom(form.text) });
    assert.equal(refused.status, 403);
    const line = await waitFor(
      () =>
        server
          .output()
          .split('\n')
          .find((l) => l.includes('form refused')),
      // The server batches its log lines (flushed at least once a second): generous for a loaded machine.
      { timeoutMs: 15_000, what: 'the form refused warning' },
    );
    assert.ok(line.includes('http://localhost:9') && line.includes(origin), `the warning names both origins: ${line}`);
    assert.match(line, /"level":"warn"/, 'logged as a warning');
  },
);
