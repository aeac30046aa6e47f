/**
 * The account index (ADR 0047) in Redis, through a real redis-server: two instances share it, so a password change
 * on one signs out the account's session on the other at its next request; nothing in Redis holds a token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import {
  ACCOUNT_TOKENS_PREFIX,
  RedisRevocationStore,
  TOKEN_ACCOUNT_PREFIX,
  tokenDigest,
} from '../../src/sessions/revocation-store.ts';

let redis: StartedRedis;
const clients: Redis[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

function client(): Redis {
  const c = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: false });
  clients.push(c);
  return c;
}

test('Redis account index: remembered on one instance, revoked from another, digests only', async () => {
  const one = new RedisRevocationStore({ redis: client() });
  const two = new RedisRevocationStore({ redis: client() });
  await one.remember('acct', 'sign-in-one-token-xxxxxxxx', 600);
  await one.remember('acct', 'sign-in-two-token-xxxxxxxx', 600);
  assert.equal(await two.accountOf('sign-in-one-token-xxxxxxxx'), 'acct');
  const raw = client();
  const keys = await raw.keys('*');
  assert.ok(
    keys.includes(ACCOUNT_TOKENS_PREFIX + 'acct') &&
      keys.includes(TOKEN_ACCOUNT_PREFIX + tokenDigest('sign-in-one-token-xxxxxxxx')),
  );
  for (const k of keys) {
    const type = await raw.type(k);
    const values = type === 'zset' ? await raw.zrange(k, '0', '-1') : [(await raw.get(k)) ?? ''];
    assert.ok(![k, ...values].some((v) => v.includes('token-xxxxxxxx')), `no token in ${k}`);
    assert.ok((await raw.ttl(k)) > 0, `${k} expires`);
  }
  assert.equal(await two.revokeAccount('acct', 'sign-in-two-token-xxxxxxxx', 60), 1);
  assert.equal(await one.isRevoked('sign-in-one-token-xxxxxxxx'), true);
  assert.equal(await one.isRevoked('sign-in-two-token-xxxxxxxx'), false);
  assert.equal(await one.accountOf('sign-in-one-token-xxxxxxxx'), null);
});
