// The bench's LPA API (--backend api): seeded accounts sign in, refresh their token as the app does once a minute,
// read a named profile and an empty list, all within the contract; its summary counts what it answered.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { spawnGroup } from '../helpers/processes.ts';
import type { GroupProcess } from '../helpers/processes.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'lpa-bench-api-'));
const log = path.join(dir, 'api.log');
let api: GroupProcess;
let origin = '';

before(async () => {
  const seed = path.join(dir, 'seed.json');
  writeFileSync(seed, JSON.stringify({ users: [{ email: 'bench.user@example.com', password: 'Bench-pw-Aa1!' }] }));
  api = spawnGroup(process.execPath, [path.join(import.meta.dirname, '../../bench/lpa-api.ts'), seed], {
    logFile: log,
  });
  for (let i = 0; i < 200 && origin === ''; i++) {
    origin = /^LPA_API_ORIGIN (\S+)$/m.exec(readFileSync(log, 'utf8'))?.[1] ?? '';
    if (origin === '') await new Promise((r) => setTimeout(r, 50));
  }
  assert.notEqual(origin, '', readFileSync(log, 'utf8'));
});

after(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${origin}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

test('a seeded account signs in, slides its token, is named and has no LPAs; a wrong password is refused', async () => {
  const signIn = await post('/v2/authenticate', { username: 'bench.user@example.com', password: 'Bench-pw-Aa1!' });
  assert.equal(signIn.status, 200);
  const auth = (await signIn.json()) as { userId: string; token: string };
  const refreshed = await post('/v2/authenticate', { authToken: auth.token });
  assert.equal(refreshed.status, 200, 'the refresh the app sends once a minute (identity.ts)');
  assert.equal(((await refreshed.json()) as { token: string }).token, auth.token);
  assert.equal((await post('/v2/authenticate', { authToken: 'not-a-token' })).status, 401);
  const user = await fetch(`${origin}/v2/user/${auth.userId}`, { headers: { token: auth.token } });
  assert.equal(user.status, 200);
  assert.deepEqual(((await user.json()) as { name: unknown }).name, { title: '', first: 'Bench', last: 'User' });
  const lpas = await fetch(`${origin}/v2/user/${auth.userId}/applications?page=1&perPage=50`, {
    headers: { token: auth.token },
  });
  assert.equal(lpas.status, 204);
  const wrong = await post('/v2/authenticate', { username: 'bench.user@example.com', password: 'wrong' });
  assert.equal(wrong.status, 401);
  await api.stop();
  const done = /^LPA_API_DONE (.*)$/m.exec(readFileSync(log, 'utf8'))?.[1];
  assert.ok(done !== undefined, readFileSync(log, 'utf8'));
  const summary = JSON.parse(done) as { calls: number; violations: number; byOperation: Record<string, number> };
  assert.equal(summary.violations, 0);
  assert.equal(summary.calls, 6);
  assert.equal(summary.byOperation.authenticate, 4);
});
