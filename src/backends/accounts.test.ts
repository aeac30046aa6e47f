/**
 * One table of account behaviours, run against both backends: the embedded SQLite one, and the API one
 * against a fake LPA API whose every request and answer is checked against docs/api/lpa-api.openapi.yaml.
 */
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from './sqlite-store.ts';
import type { Store } from './sqlite-store.ts';
import { createLocalCredentials } from './local-credentials.ts';
import { LOCAL_ACCOUNTS_MIGRATIONS, createLocalAccounts } from './local-accounts.ts';
import { createEgress } from './egress.ts';
import { createApiClient } from './api-client.ts';
import type { ApiClient } from './api-client.ts';
import { createApiCredentials } from './api-credentials.ts';
import { createApiAccounts } from './api-accounts.ts';
import type { AccountsBackend } from './accounts.ts';
import { searchFilter } from './accounts.ts';
import type { CredentialBackend } from './credentials.ts';
import { CredentialBackendError } from './credentials.ts';
import { fakeLpaApi } from '../../test/helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../../test/helpers/fake-lpa-api.ts';

const PASSWORD = 'correct horse battery 7';
const NEW_PASSWORD = 'another long passphrase 9';
const DAY = 86_400_000;

interface Harness {
  readonly accounts: AccountsBackend;
  readonly credentials: CredentialBackend;
  advance(ms: number): void;
  /** Gives the user `count` LPAs, the first the most recently updated, donors "Donor 0 Smith", "Donor 1 Jones"… */
  addLpas(userId: string, count: number): void;
  violations(): string[];
  close(): Promise<void>;
}

const donor = (i: number) => ({ first: `Donor ${String(i)}`, last: i % 3 === 0 ? 'Smith' : 'Jones' });

async function localHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-accounts-'));
  const store: Store = openStore(dir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
  let t = Date.UTC(2026, 7, 21, 12);
  const now = () => t;
  const scrypt = { log2N: 10, r: 8, p: 1 };
  const accounts = createLocalAccounts({ db: () => store.db, now, scrypt });
  return {
    accounts,
    credentials: createLocalCredentials({ db: () => store.db, now, scrypt }),
    advance: (ms) => {
      t += ms;
    },
    addLpas: (userId, count) => {
      accounts.addLpas(
        userId,
        Array.from({ length: count }, (_, i) => ({
          type: 'health-and-welfare' as const,
          donorName: `${donor(i).first} ${donor(i).last}`,
          updatedAt: t - i * 60_000,
        })),
      );
    },
    violations: () => [],
    close: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

async function apiHarness(): Promise<Harness & { fake: FakeLpaApi }> {
  const fake = await fakeLpaApi();
  const egress = createEgress({
    allowedOrigins: [fake.origin],
    allowPrivateFor: ['127.0.0.1'],
    timeoutMs: 3000,
    maxResponseBytes: 1024 * 1024,
    logger: { debug: () => undefined },
  });
  const client: ApiClient = createApiClient({ baseUrl: fake.origin, egress });
  return {
    fake,
    accounts: createApiAccounts({ api: client }),
    credentials: createApiCredentials({ api: client }),
    advance: (ms) => {
      fake.clock += ms;
    },
    addLpas: (userId, count) => {
      const user = fake.users.get(userId);
      assert.ok(user);
      for (let i = 0; i < count; i++) {
        const at = new Date(fake.clock - i * 60_000).toISOString().replace(/\.\d{3}Z$/, '+0000');
        user.lpas.push({
          id: 10_000_000 + i,
          startedAt: at,
          updatedAt: at,
          completedAt: null,
          document: { type: 'health-and-welfare', donor: { name: { title: 'Mx', ...donor(i) } } },
        });
      }
    },
    violations: () => fake.violations,
    close: async () => {
      client.close();
      await fake.close();
    },
  };
}

async function signIn(h: Harness, email: string, password: string): Promise<{ userId: string; token: string }> {
  const r = await h.credentials.authenticate(email, password, 't');
  assert.ok(r.ok, `sign-in of ${email} failed: ${r.ok ? '' : r.reason}`);
  return { userId: r.userId, token: r.token };
}

/** A registered, activated user. */
async function activeUser(h: Harness, email: string): Promise<{ userId: string; token: string }> {
  const r = await h.accounts.register(email, PASSWORD);
  assert.ok(r.outcome === 'created');
  assert.equal(await h.accounts.activate(r.activationToken), 'activated');
  return signIn(h, email, PASSWORD);
}

for (const [name, make] of [
  ['local (SQLite)', localHarness],
  ['api (fake LPA API, contract-checked)', apiHarness],
] as const) {
  describe(`accounts backend: ${name}`, () => {
    let h: Harness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h.close();
    });
    afterEach(() => {
      const found = h.violations().splice(0);
      assert.deepEqual(found, [], 'every call and answer conforms to the contract');
    });

    test(
      'register: created (inactive), exists for the same address in any case, invalid email and ' + 'password refused',
      async () => {
        const r = await h.accounts.register('Reg@Example.com', PASSWORD);
        assert.equal(r.outcome, 'created');
        assert.deepEqual(await h.accounts.register(' reg@example.COM ', PASSWORD), { outcome: 'exists' });
        assert.deepEqual(await h.accounts.register('not-an-email', PASSWORD), { outcome: 'invalid-email' });
        assert.deepEqual(await h.accounts.register('weak@example.com', 'short'), { outcome: 'invalid-password' });
        assert.deepEqual(await h.credentials.authenticate('reg@example.com', PASSWORD, 't'), {
          ok: false,
          reason: 'not-activated',
        });
      },
    );

    test('activation: once, then the account signs in; reused and tampered tokens are refused alike', async () => {
      const r = await h.accounts.register('act@example.com', PASSWORD);
      assert.ok(r.outcome === 'created');
      const tampered = r.activationToken.slice(0, -1) + (r.activationToken.endsWith('A') ? 'B' : 'A');
      assert.equal(await h.accounts.activate(tampered), 'invalid-token');
      assert.equal(await h.accounts.activate(r.activationToken), 'activated');
      assert.equal(await h.accounts.activate(r.activationToken), 'invalid-token');
      assert.equal(await h.accounts.activate('x'), 'invalid-token');
      await signIn(h, 'act@example.com', PASSWORD);
    });

    test(
      'password reset request: unknown, not activated (its activation token works), active (a ' + 'reset token)',
      async () => {
        assert.deepEqual(await h.accounts.requestPasswordReset('nobody@example.com'), { outcome: 'unknown' });
        const r = await h.accounts.register('inactive@example.com', PASSWORD);
        assert.ok(r.outcome === 'created');
        const again = await h.accounts.requestPasswordReset('Inactive@example.com');
        assert.ok(again.outcome === 'not-activated');
        assert.equal(await h.accounts.activate(again.activationToken), 'activated');
        const reset = await h.accounts.requestPasswordReset('inactive@example.com');
        assert.equal(reset.outcome, 'reset');
      },
    );

    test('reset password with a token: rules first (the link survives a refused password), then once', async () => {
      await activeUser(h, 'reset@example.com');
      const reset = await h.accounts.requestPasswordReset('reset@example.com');
      assert.ok(reset.outcome === 'reset');
      assert.ok(reset.expiresAt.getTime() > Date.now() - DAY * 365);
      assert.equal(await h.accounts.resetPassword(reset.token, 'short'), 'invalid-password');
      assert.equal(await h.accounts.resetPassword(reset.token, NEW_PASSWORD), 'changed');
      assert.equal(await h.accounts.resetPassword(reset.token, NEW_PASSWORD), 'invalid-token');
      assert.equal((await h.credentials.authenticate('reset@example.com', PASSWORD, 't')).ok, false);
      await signIn(h, 'reset@example.com', NEW_PASSWORD);
    });

    test('two concurrent resets with one token: exactly one changes the password', async () => {
      await activeUser(h, 'race@example.com');
      const reset = await h.accounts.requestPasswordReset('race@example.com');
      assert.ok(reset.outcome === 'reset');
      const results = await Promise.all([
        h.accounts.resetPassword(reset.token, NEW_PASSWORD),
        h.accounts.resetPassword(reset.token, 'a third long passphrase 5'),
      ]);
      assert.deepEqual(results.slice().sort(), ['changed', 'invalid-token']);
    });

    test('reset and email-change tokens expire after 24 hours', async () => {
      const { userId, token } = await activeUser(h, 'expiry@example.com');
      const reset = await h.accounts.requestPasswordReset('expiry@example.com');
      const change = await h.accounts.requestEmailChange(userId, token, 'expiry-new@example.com');
      assert.ok(reset.outcome === 'reset' && change.ok);
      h.advance(DAY + 1000);
      assert.equal(await h.accounts.resetPassword(reset.token, NEW_PASSWORD), 'invalid-token');
      assert.equal(await h.accounts.verifyEmailChange(change.token), 'invalid-token');
    });

    test('change password: the current one is required, rules apply, a new token is given', async () => {
      const { userId, token } = await activeUser(h, 'change@example.com');
      assert.deepEqual(await h.accounts.changePassword(userId, token, 'wrong password here', NEW_PASSWORD), {
        ok: false,
        reason: 'wrong-password',
      });
      assert.deepEqual(await h.accounts.changePassword(userId, token, PASSWORD, 'short'), {
        ok: false,
        reason: 'invalid-password',
      });
      assert.deepEqual(await h.accounts.changePassword(userId, 'not-a-real-token-at-all', PASSWORD, NEW_PASSWORD), {
        ok: false,
        reason: 'invalid-token',
      });
      const changed = await h.accounts.changePassword(userId, token, PASSWORD, NEW_PASSWORD);
      assert.ok(changed.ok);
      assert.notEqual(changed.token, token);
      assert.equal((await h.accounts.getDetails(userId, changed.token))?.email, 'change@example.com');
      await signIn(h, 'change@example.com', NEW_PASSWORD);
    });

    test('change email: same and taken addresses refused, verified once, then the new address signs in', async () => {
      await activeUser(h, 'taken@example.com');
      const { userId, token } = await activeUser(h, 'old@example.com');
      assert.deepEqual(await h.accounts.requestEmailChange(userId, token, 'old@example.com'), {
        ok: false,
        reason: 'same-email',
      });
      assert.deepEqual(await h.accounts.requestEmailChange(userId, token, 'taken@example.com'), {
        ok: false,
        reason: 'email-taken',
      });
      assert.deepEqual(await h.accounts.requestEmailChange(userId, 'not-a-real-token-at-all', 'new@example.com'), {
        ok: false,
        reason: 'invalid-token',
      });
      const change = await h.accounts.requestEmailChange(userId, token, 'New@Example.com');
      assert.ok(change.ok);
      assert.equal(await h.accounts.verifyEmailChange(change.token), 'changed');
      assert.equal(await h.accounts.verifyEmailChange(change.token), 'invalid-token');
      await signIn(h, 'new@example.com', PASSWORD);
      assert.equal((await h.credentials.authenticate('old@example.com', PASSWORD, 't')).ok, false);
    });

    test('details: empty at first, saved whole, refused with another token', async () => {
      const { userId, token } = await activeUser(h, 'details@example.com');
      const first = await h.accounts.getDetails(userId, token);
      assert.equal(first?.name, null);
      assert.equal(first.email, 'details@example.com');
      const update = {
        name: { title: 'Dr', first: 'Ada', last: 'Lovelace' },
        dob: '1815-12-10',
        address: { address1: '12 St James Square', address2: null, address3: 'London', postcode: 'SW1Y 4JH' },
      };
      assert.equal(await h.accounts.updateDetails(userId, token, update), true);
      const saved = await h.accounts.getDetails(userId, token);
      assert.deepEqual({ name: saved?.name, dob: saved?.dob, address: saved?.address }, update);
      assert.equal(await h.accounts.getDetails(userId, 'not-a-real-token-at-all'), null);
      assert.equal(await h.accounts.updateDetails(userId, 'not-a-real-token-at-all', update), false);
    });

    test('LPAs: newest first, paged, searched by id (A-reference too) and by donor name of 3+ characters', async () => {
      const { userId, token } = await activeUser(h, 'lpas@example.com');
      assert.deepEqual(await h.accounts.listLpas(userId, token, { page: 1, perPage: 50 }), { lpas: [], total: 0 });
      h.addLpas(userId, 60);
      const page1 = await h.accounts.listLpas(userId, token, { page: 1, perPage: 50 });
      const page2 = await h.accounts.listLpas(userId, token, { page: 2, perPage: 50 });
      assert.equal(page1?.total, 60);
      assert.equal(page1.lpas.length, 50);
      assert.equal(page2?.lpas.length, 10);
      assert.equal(page1.lpas[0]?.donorName?.endsWith('Donor 0 Smith'), true);
      assert.equal(page2.lpas.at(-1)?.donorName?.endsWith('Donor 59 Jones'), true);
      const id = page1.lpas[7]?.id ?? 0;
      for (const search of [String(id), `A${String(id)}`, `a ${String(id).slice(0, 4)} ${String(id).slice(4)}`]) {
        const found = await h.accounts.listLpas(userId, token, { search, page: 1, perPage: 50 });
        assert.deepEqual(
          found?.lpas.map((l) => l.id),
          [id],
          search,
        );
      }
      assert.equal((await h.accounts.listLpas(userId, token, { search: 'smith', page: 1, perPage: 50 }))?.total, 20);
      assert.equal(
        (await h.accounts.listLpas(userId, token, { search: 'Sm', page: 1, perPage: 50 }))?.total,
        60,
        'under 3 characters is ignored',
      );
      assert.equal(
        (await h.accounts.listLpas(userId, token, { search: 'nobody at all', page: 1, perPage: 50 }))?.total,
        0,
      );
      assert.equal(await h.accounts.listLpas(userId, 'not-a-real-token-at-all', { page: 1, perPage: 50 }), null);
    });

    test('delete: refused with another token; afterwards nothing signs in or reads', async () => {
      const { userId, token } = await activeUser(h, 'delete@example.com');
      h.addLpas(userId, 3);
      assert.equal(await h.accounts.deleteAccount(userId, 'not-a-real-token-at-all'), false);
      assert.equal(await h.accounts.deleteAccount(userId, token), true);
      assert.equal(await h.accounts.getDetails(userId, token), null);
      assert.equal((await h.credentials.authenticate('delete@example.com', PASSWORD, 't')).ok, false);
      assert.deepEqual(await h.accounts.requestPasswordReset('delete@example.com'), { outcome: 'unknown' });
    });
  });
}

describe('local accounts backend storage', () => {
  test('tokens are stored only as their SHA-256; the database holds no usable token', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lpa-accounts-hash-'));
    const store = openStore(dir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
    t.after(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const accounts = createLocalAccounts({ db: () => store.db, scrypt: { log2N: 10, r: 8, p: 1 } });
    const r = await accounts.register('hashed@example.com', PASSWORD);
    assert.ok(r.outcome === 'created');
    const everything = JSON.stringify([
      store.db.prepare('SELECT * FROM account_tokens').all(),
      store.db.prepare('SELECT * FROM users').all(),
    ]);
    assert.ok(!everything.includes(r.activationToken), 'the raw token is nowhere in the database');
    assert.ok(everything.includes(createHash('sha256').update(r.activationToken).digest('hex')));
  });
});

describe('API accounts backend under an outage', () => {
  test('a 5xx or an unreachable API throws CredentialBackendError, never a wrong answer', async () => {
    const h = await apiHarness();
    try {
      h.fake.outage = 503;
      await assert.rejects(h.accounts.register('x@example.com', PASSWORD), CredentialBackendError);
      await assert.rejects(h.accounts.requestPasswordReset('x@example.com'), CredentialBackendError);
      await assert.rejects(h.accounts.activate('a-long-enough-token-value'), CredentialBackendError);
    } finally {
      await h.close();
    }
    const egress = createEgress({
      allowedOrigins: ['http://127.0.0.1:9'],
      allowPrivateFor: ['127.0.0.1'],
      timeoutMs: 500,
      maxResponseBytes: 1024,
      logger: { debug: () => undefined },
    });
    const down = createApiAccounts({ api: createApiClient({ baseUrl: 'http://127.0.0.1:9', egress }) });
    await assert.rejects(down.requestPasswordReset('x@example.com'), CredentialBackendError);
    egress.close();
  });
});

describe('search as the API reads it', () => {
  test('ids, A-references, names of 3+ characters, else nothing', () => {
    assert.deepEqual(searchFilter('  '), { kind: 'none' });
    assert.deepEqual(searchFilter('123'), { kind: 'id', id: 123 });
    assert.deepEqual(searchFilter('A123 456'), { kind: 'id', id: 123456 });
    assert.deepEqual(searchFilter('ab'), { kind: 'none' });
    assert.deepEqual(searchFilter('Smi'), { kind: 'name', text: 'Smi' });
  });
});
