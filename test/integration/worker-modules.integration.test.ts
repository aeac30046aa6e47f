/**
 * A worker loads no more of Node than it uses (docs/adr/0032). An ESM import of node:http reads every export of the
 * module, and one of them loads Node's fetch implementation (undici), as does making a WHATWG `Headers`: 2–3 MiB of
 * heap for nothing the app does. Any Intl.DateTimeFormat touches ICU's date data in the node binary (about 6.4 MiB
 * resident, for good), so UK dates are formatted by src/platform/uk-time.ts. The server is started as production
 * runs it, with the LPA API as its backend (a contract-checked fake); a person signs in, sees the dashboard with the
 * time they last signed in (API calls through the egress client) and sends "about you" with a date of birth; what
 * the process loaded and used is read at its exit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, startProcess } from '../helpers/services.ts';
import type { StartedProcess } from '../helpers/services.ts';
import { csrfTokenFrom } from '../helpers/http.ts';
import { productionServerEnv } from '../helpers/app.ts';
import { addActiveUser, fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import { PATHS } from '../../src/paths.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EMAIL = 'modules@example.com';
const PASSWORD = 'correct horse battery staple';

let work = '';
let api: FakeLpaApi | undefined;
let server: StartedProcess | undefined;
let host = '';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'lpa-modules-'));
  api = await fakeLpaApi();
  const at = new Date(api.clock).toISOString().replace(/\.\d{3}Z$/, '+0000');
  addActiveUser(api, {
    email: EMAIL,
    password: PASSWORD,
    name: { title: '', first: 'Ada', last: 'Lovelace' },
    lpas: [
      {
        id: 10_000_001,
        startedAt: at,
        updatedAt: at,
        createdAt: null,
        completedAt: null,
        document: { type: 'health-and-welfare', donor: { name: { title: '', first: 'Ada', last: 'Lovelace' } } },
        metadata: {},
      },
    ],
  });
  const port = await freePort();
  host = `127.0.0.1:${String(port)}`;
  server = await startProcess(
    process.execPath,
    ['--import', join(ROOT, 'test/helpers/report-modules.mjs'), join(ROOT, 'src/server.ts')],
    {
      cwd: ROOT,
      env: {
        ...productionServerEnv(port, work, randomBytes(48).toString('base64')),
        API_BASE_URL: api.origin,
        EGRESS_ALLOW_PRIVATE: '127.0.0.1',
        REPORT_MODULES_FILE: join(work, 'modules.json'),
        // The test's own keep-alive connections would otherwise hold the drain open past the stop's grace time.
        SHUTDOWN_DRAIN_MS: '200',
      },
      readyCheck: () => canConnect(port),
      name: 'lpa-front (production, LPA API)',
      timeoutMs: 60_000,
    },
  );
});

after(async () => {
  await server?.stop();
  await api?.close();
  rmSync(work, { recursive: true, force: true });
});

const cookiesOf = (response: Response): string =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

test('a signed-in journey through the API loads no undici and makes no ICU date formatter', async () => {
  assert.ok(server !== undefined && api !== undefined);
  const headers = { host, 'x-forwarded-proto': 'https' };
  const form = await fetch(`http://${host}${PATHS.login}`, { headers, redirect: 'manual' });
  const signedIn = await fetch(`http://${host}${PATHS.login}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      ...headers,
      origin: `https://${host}`,
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookiesOf(form),
    },
    body: new URLSearchParams({ email: EMAIL, password: PASSWORD, _csrf: csrfTokenFrom(await form.text()) }).toString(),
  });
  assert.equal(signedIn.status, 303, server.output());
  const dashboard = await fetch(`http://${host}${PATHS.dashboard}`, {
    redirect: 'manual',
    headers: { ...headers, cookie: cookiesOf(signedIn) },
  });
  assert.equal(dashboard.status, 200, server.output());
  assert.match(await dashboard.text(), /data-qa="last-saved">\d\d\/\d\d\/\d\d</, 'an LPA with its date (UK time)');
  // "About you" with a date of birth: checked against today in the UK.
  const cookie = cookiesOf(signedIn);
  const aboutYou = await fetch(`http://${host}${PATHS.aboutYou}`, {
    redirect: 'manual',
    headers: { ...headers, cookie },
  });
  assert.equal(aboutYou.status, 200, server.output());
  const sent = await fetch(`http://${host}${PATHS.aboutYou}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, origin: `https://${host}`, 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({
      _csrf: csrfTokenFrom(await aboutYou.text()),
      'name-title': '',
      'name-first': 'Ada',
      'name-last': 'Lovelace',
      'dob-date-day': '10',
      'dob-date-month': '12',
      'dob-date-year': '2999',
    }).toString(),
  });
  assert.equal(sent.status, 400, 'a date of birth in the future is refused');
  assert.match(await sent.text(), /dob-date-day/);
  const operations = new Set(api.calls.map((c) => c.request.operationId));
  assert.ok(operations.has('authenticate') && operations.has('listApplications'), [...operations].join(', '));

  await server.stop();
  const report = JSON.parse(readFileSync(join(work, 'modules.json'), 'utf8')) as { modules: string[]; intl: string[] };
  assert.ok(report.modules.includes('NativeModule http'), 'the list is the worker’s own (it serves HTTP)');
  assert.deepEqual(
    report.modules.filter((m) => m.includes('undici')),
    [],
  );
  assert.deepEqual(report.intl, []);
});
