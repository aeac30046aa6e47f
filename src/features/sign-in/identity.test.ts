import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { Session } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import { identityFromSession } from '../../services.ts';
import type { CredentialBackend, RefreshResult } from '../../backends/credentials.ts';
import { PATHS } from '../../paths.ts';
import { MemoryRevocationStore } from '../../sessions/revocation-store.ts';
import { createResolveUser, newIdentity, revokeSignIn } from './identity.ts';

const NOW = Date.UTC(2026, 7, 21, 12);

function backend(result: RefreshResult, calls: string[]): CredentialBackend {
  return {
    kind: 'local',
    authenticate: () => Promise.reject(new Error('unused')),
    refresh: (token) => {
      calls.push(token);
      return Promise.resolve(result);
    },
    revoke: (token) => {
      calls.push(`revoke ${token}`);
      return Promise.resolve(true);
    },
    getUser: () => Promise.resolve(null),
    updateName: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}

function request(
  identity: unknown,
  url: string = PATHS.dashboard,
  readOnly = false,
): FastifyRequest & { session: Session } {
  const session = new Session(
    '0'.repeat(32),
    new Map(identity === undefined ? [] : [[SESSION_KEYS.identity, identity]]),
    readOnly,
  );
  return { session, id: 'REQ', routeOptions: { url }, log: pino({ level: 'silent' }) } as unknown as FastifyRequest & {
    session: Session;
  };
}

const identityExpiringIn = (seconds: number) =>
  newIdentity('u'.repeat(32), 'tok', new Date(NOW + seconds * 1000), null);

test('identity as the PHP front writes it', () => {
  assert.deepEqual(newIdentity('id', 'tok', new Date('2026-08-21T14:20:00Z'), new Date('2026-08-20T09:00:00Z')), {
    userId: 'id',
    token: 'tok',
    tokenExpiresAt: '2026-08-21T14:20:00+00:00',
    lastLogin: '2026-08-20T09:00:00+00:00',
    sharedSpaceId: null,
  });
});

test('fresh token: no refresh; older than a minute: slid and written back', async () => {
  const calls: string[] = [];
  const resolve = createResolveUser({
    backend: backend({ ok: true, expiresAt: new Date(NOW + 4500_000) }, calls),
    revocations: new MemoryRevocationStore({ now: () => NOW }),
    identityFromSession,
    now: () => NOW,
  });
  const fresh = request(identityExpiringIn(4480));
  assert.equal((await resolve(fresh))?.userId, 'u'.repeat(32));
  assert.equal(calls.length, 0);
  assert.equal(fresh.session.changed, false);

  const older = request({ ...identityExpiringIn(4000), extra: 'kept' });
  const user = await resolve(older);
  assert.equal(calls.length, 1);
  assert.equal(user?.tokenExpiresAt.getTime(), NOW + 4500_000);
  assert.deepEqual(older.session.get(SESSION_KEYS.identity), { ...identityExpiringIn(4500), extra: 'kept' });
});

test('/session-state and read-only requests never refresh', async () => {
  const calls: string[] = [];
  const resolve = createResolveUser({
    backend: backend({ ok: true, expiresAt: new Date(NOW + 4500_000) }, calls),
    revocations: new MemoryRevocationStore({ now: () => NOW }),
    identityFromSession,
    now: () => NOW,
  });
  assert.ok(await resolve(request(identityExpiringIn(100), PATHS.sessionState)));
  assert.ok(await resolve(request(identityExpiringIn(100), PATHS.dashboard, true)));
  assert.equal(calls.length, 0);
});

test('expired, rejected or malformed identities sign out; an API outage does not', async () => {
  const calls: string[] = [];
  const invalid = createResolveUser({
    backend: backend({ ok: false, reason: 'invalid' }, calls),
    revocations: new MemoryRevocationStore({ now: () => NOW }),
    identityFromSession,
    now: () => NOW,
  });
  const expired = request(identityExpiringIn(-1));
  assert.equal(await invalid(expired), undefined);
  assert.equal(expired.signedOutByTimeout, true);
  assert.equal(expired.session.has(SESSION_KEYS.identity), false);
  assert.equal(calls.length, 0);

  const rejected = request(identityExpiringIn(1000));
  assert.equal(await invalid(rejected), undefined);
  assert.equal(rejected.signedOutByTimeout, true);
  assert.equal(rejected.session.has(SESSION_KEYS.identity), false);

  const junk = request({ nonsense: true });
  assert.equal(await invalid(junk), undefined);
  assert.notEqual(junk.signedOutByTimeout, true, 'not a real identity: plain sign-in, no timeout notice');
  assert.equal(await invalid(request(undefined)), undefined);

  const outage = createResolveUser({
    backend: backend({ ok: false, reason: 'api-error' }, calls),
    revocations: new MemoryRevocationStore({ now: () => NOW }),
    identityFromSession,
    now: () => NOW,
  });
  const kept = request(identityExpiringIn(1000));
  assert.ok(await outage(kept));
  assert.equal(kept.session.has(SESSION_KEYS.identity), true);
});

test('an anonymous request is answered at once, not through a promise; one with an identity is not', async () => {
  const resolve = createResolveUser({
    backend: backend({ ok: true, expiresAt: new Date(NOW + 4500_000) }, []),
    revocations: new MemoryRevocationStore({ now: () => NOW }),
    identityFromSession,
    now: () => NOW,
  });
  assert.equal(resolve(request(undefined)), undefined);
  assert.equal(resolve(request('not an identity')), undefined);
  assert.equal(resolve({ session: null } as unknown as FastifyRequest), undefined);
  const signedIn = resolve(request(identityExpiringIn(4480)));
  assert.ok(signedIn instanceof Promise);
  assert.equal((await signedIn)?.userId, 'u'.repeat(32));
});

test('a revoked token is refused: the identity is removed and the request is anonymous, not timed out', async () => {
  const calls: string[] = [];
  const revocations = new MemoryRevocationStore({ now: () => NOW });
  const resolve = createResolveUser({
    backend: backend({ ok: true, expiresAt: new Date(NOW + 4500_000) }, calls),
    revocations,
    identityFromSession,
    now: () => NOW,
  });
  const identity = identityExpiringIn(4000);
  const user = await resolve(request(identity));
  assert.ok(user);
  assert.equal(
    await revokeSignIn(
      { backend: backend({ ok: true, expiresAt: new Date() }, calls), revocations, now: () => NOW },
      user,
      'REQ',
    ),
    true,
  );
  assert.deepEqual(calls, ['tok', 'revoke tok'], 'the backend is told too');

  const copy = request(identity);
  assert.equal(await resolve(copy), undefined);
  assert.equal(copy.session.has(SESSION_KEYS.identity), false);
  assert.notEqual(copy.signedOutByTimeout, true);
  assert.equal(calls.length, 2, 'a revoked token is never slid');
  await revocations.close();
});
