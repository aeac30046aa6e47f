import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/backends/sqlite-store.ts';
import { LOCAL_ACCOUNTS_MIGRATIONS, createLocalAccounts } from '../src/backends/local-accounts.ts';
import { createLocalCredentials } from '../src/backends/local-credentials.ts';
import { seedLpas } from './lpa-seed.ts';

test('seeds a local user with LPAs the dashboard can page and search', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-seed-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const store = openStore(dir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
  t.after(() => {
    store.close();
  });
  const scrypt = { log2N: 10, r: 8, p: 1 };
  const credentials = createLocalCredentials({ db: () => store.db, scrypt });
  await credentials.addUser({
    email: 'seed@example.com',
    password: 'a long enough passphrase 1',
    name: { first: 'S', last: 'Eed' },
  });
  assert.throws(() => seedLpas(store, 'nobody@example.com', 3), /no local user/);
  assert.equal(seedLpas(store, 'Seed@Example.com', 60).length, 60);
  const signedIn = await credentials.authenticate('seed@example.com', 'a long enough passphrase 1', 't');
  assert.ok(signedIn.ok);
  const accounts = createLocalAccounts({ db: () => store.db });
  const page = await accounts.listLpas(signedIn.userId, signedIn.token, { page: 2, perPage: 50 });
  assert.equal(page?.total, 60);
  assert.equal(page.lpas.length, 10);
  const lovelace = await accounts.listLpas(signedIn.userId, signedIn.token, {
    search: 'lovelace',
    page: 1,
    perPage: 50,
  });
  assert.ok((lovelace?.total ?? 0) > 0 && lovelace?.lpas.every((l) => l.donorName?.includes('Lovelace')));
});
