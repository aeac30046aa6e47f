import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/backends/sqlite-store.ts';
import { LOCAL_CREDENTIALS_MIGRATIONS, createLocalCredentials } from '../src/backends/local-credentials.ts';
import { parseArgs, splitName } from './user-add.ts';

const dir = mkdtempSync(join(tmpdir(), 'lpa-user-add-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], stdin: string) {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'user-add.ts'), ...args], {
    input: stdin,
    env: { ...process.env, DATA_DIR: dir, NODE_ENV: 'test' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('arguments: email and name; a password on the command line is refused', () => {
  assert.deepEqual(parseArgs(['--email', 'a@example.com', '--name', 'Ada King Lovelace']), {
    email: 'a@example.com',
    name: { first: 'Ada King', last: 'Lovelace' },
  });
  assert.deepEqual(parseArgs(['--email=a@example.com', '--name=Ada']).name, { first: '', last: 'Ada' });
  assert.deepEqual(splitName('  '), null);
  for (const bad of [
    [],
    ['--email', 'nope', '--name', 'A'],
    ['--email', 'a@example.com'],
    ['--email', 'a@example.com', '--name', 'A', '--password', 'x'],
    ['--what'],
  ]) {
    assert.throws(() => parseArgs(bad), JSON.stringify(bad));
  }
});

test('adds a user with the password from piped stdin; refuses weak ones and duplicates', async () => {
  const ok = run(
    ['--email', 'Someone@Example.com', '--name', 'Full Name'],
    'a perfectly fine passphrase\nignored second line\n',
  );
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /added user [0-9a-f]{32}/);
  assert.equal(ok.stderr.includes('passphrase'), false);

  const weak = run(['--email', 'x@example.com', '--name', 'X Y'], 'short\n');
  assert.equal(weak.status, 2);
  assert.match(weak.stderr, /at least 12/);
  assert.equal(run(['--email', 'someone@example.com', '--name', 'Full Name'], 'another fine passphrase\n').status, 2);
  assert.equal(
    run(['--email', 'y@example.com', '--name', 'Y', '--password', 'a perfectly fine passphrase'], '').status,
    2,
  );

  const store = openStore(dir, { migrations: LOCAL_CREDENTIALS_MIGRATIONS });
  try {
    const users = createLocalCredentials({ db: () => store.db });
    const r = await users.authenticate('someone@example.com', 'a perfectly fine passphrase', 't');
    assert.ok(r.ok);
    assert.deepEqual((await users.getUser(r.userId, r.token))?.name, { first: 'Full', last: 'Name' });
    assert.equal((await users.authenticate('x@example.com', 'short', 't')).ok, false);
  } finally {
    store.close();
  }
});
