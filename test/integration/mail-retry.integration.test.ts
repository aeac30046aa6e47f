/**
 * The server process runs the mail outbox's retry loop and stops it cleanly (issue 22): an activation email whose
 * first attempt failed (DATA_DIR/mail.jsonl cannot be written) is sent by the loop once it can be, and SIGTERM
 * still exits 0. Without the loop the email would wait in the outbox for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATHS } from '../../src/paths.ts';
import { TEST_LOAD_SHED_BOUND_MS, TEST_SECRET } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { canConnect, freePort, startProcess, waitFor } from '../helpers/services.ts';
import { signupForm } from '../helpers/signup.ts';

const SERVER = join(import.meta.dirname, '..', '..', 'src', 'server.ts');

test(
  'server: the outbox retry loop sends an email whose first attempt failed, and stops on ' + 'SIGTERM',
  { timeout: 90_000 },
  async (t) => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-mail-retry-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const mailFile = join(dataDir, 'mail.jsonl');
    mkdirSync(mailFile); // a directory where the file transport appends: every attempt fails until it goes
    const server = await startProcess(process.execPath, [SERVER], {
      env: {
        NODE_ENV: 'test',
        PORT: String(port),
        DATA_DIR: dataDir,
        SESSION_SECRET: TEST_SECRET,
        ACCOUNT_ANSWER_FLOOR_MS: '0',
        LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS), // test/helpers/app.ts says why
        LOG_LEVEL: 'info',
      },
      readyCheck: () => canConnect(port),
      name: 'lpa-front',
    });
    t.after(() => server.stop());
    const origin = `http://127.0.0.1:${String(port)}`;
    const browser = new Browser(origin, origin);
    const csrf = csrfTokenFrom((await browser.get(PATHS.signup)).text);
    const sent = await browser.post(PATHS.signup, signupForm('ada@example.com', csrf));
    assert.equal(sent.status, 303, 'the page answers: the email is safe in the outbox');
    // The server batches its log lines (flushed at least once a second): generous for a loaded machine.
    await waitFor(() => server.output().includes('email not sent; will retry'), {
      timeoutMs: 15_000,
      what: 'the failed first attempt',
    });

    rmSync(mailFile, { recursive: true });
    await waitFor(
      () =>
        existsSync(mailFile) &&
        statSync(mailFile).isFile() &&
        readFileSync(mailFile, 'utf8').includes('accountActivate'),
      { timeoutMs: 45_000, what: 'the retry loop sending the email' },
    );
    const lines = readFileSync(mailFile, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, 'sent once');

    process.kill(server.pid, 'SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.output());
  },
);
