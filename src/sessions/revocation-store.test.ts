import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryRevocationStore, RedisRevocationStore, tokenDigest } from './revocation-store.ts';
import { startRedis } from '../../test/helpers/services.ts';
import type { StartedRedis } from '../../test/helpers/services.ts';

test('memory deny-list: refused for the TTL, then forgotten; bounded, oldest dropped first', async () => {
  let clock = 1_000_000;
  const store = new MemoryRevocationStore({ now: () => clock, maxEntries: 2 });
  await store.revoke('token-a', 10);
  assert.equal(await store.isRevoked('token-a'), true);
  assert.equal(await store.isRevoked('token-b'), false);
  clock += 10_000;
  assert.equal(await store.isRevoked('token-a'), false, 'gone once its TTL has passed');

  await store.revoke('token-a', 0.2);
  clock += 999;
  assert.equal(await store.isRevoked('token-a'), true, 'at least one second, whatever the TTL');
  await store.revoke('token-b', 60);
  await store.revoke('token-c', 60);
  assert.deepEqual(
    [await store.isRevoked('token-a'), await store.isRevoked('token-b'), await store.isRevoked('token-c')],
    [false, true, true],
  );
  await store.close();
});

test('keys are the SHA-256 of the token, never the token', () => {
  assert.equal(tokenDigest('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test(
  'account index (ADR 0047): every remembered token of an account but the one kept is ' + 'refused, then forgotten',
  async () => {
    let clock = 1_000_000;
    const store = new MemoryRevocationStore({ now: () => clock });
    await store.remember('account-a', 'token-1', 600);
    await store.remember('account-a', 'token-2', 600);
    await store.remember('account-a', 'token-old', 5);
    await store.remember('account-b', 'token-3', 600);
    assert.equal(await store.accountOf('token-2'), 'account-a');
    clock += 10_000;
    assert.equal(await store.accountOf('token-old'), null, 'forgotten once its TTL has passed');
    assert.equal(await store.revokeAccount('account-a', 'token-2', 60), 1, 'only the live token that is not kept');
    assert.deepEqual(
      [await store.isRevoked('token-1'), await store.isRevoked('token-2'), await store.isRevoked('token-3')],
      [true, false, false],
    );
    assert.equal(await store.accountOf('token-1'), null);
    assert.equal(await store.revokeAccount('account-a', null, 60), 1, 'the kept one stays indexed');
    assert.equal(await store.isRevoked('token-2'), true);
    await store.close();
  },
);

describe('Redis deny-list: the check begun with the session read (ADR 0038)', () => {
  let redis: StartedRedis;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  });
  after(async () => {
    client.disconnect();
    await redis.stop();
  });

  test('answers for the token the session holds now, whichever token it expected', async () => {
    const store = new RedisRevocationStore({ redis: client, prefix: 'checkfor:' });
    await store.revoke('old-token', 60);
    assert.equal(await store.checkFor('s1').isRevoked('new-token'), false, 'nothing expected yet: read on its own');
    assert.equal(await store.checkFor('s1').isRevoked('new-token'), false, 'expected and read early');
    assert.equal(await store.checkFor('s1').isRevoked('old-token'), true, 'another token than expected: read for it');
    await store.revoke('new-token', 60);
    assert.equal(await store.checkFor('s2').isRevoked('new-token'), true);
  });

  test('a revocation after the last check is seen by the next one (the read is made on every request)', async () => {
    const store = new RedisRevocationStore({ redis: client, prefix: 'checkfor-next:' });
    assert.equal(await store.checkFor('s').isRevoked('t'), false);
    assert.equal(await store.checkFor('s').isRevoked('t'), false);
    await new RedisRevocationStore({ redis: client, prefix: 'checkfor-next:' }).revoke('t', 60); // another instance
    assert.equal(await store.checkFor('s').isRevoked('t'), true);
  });

  test('remembers at most sessionsRemembered sessions, the least recently checked dropped first', async () => {
    const store = new RedisRevocationStore({ redis: client, prefix: 'checkfor-bound:', sessionsRemembered: 2 });
    for (const id of ['a', 'b', 'c']) await store.checkFor(id).isRevoked(`token-${id}`);
    assert.equal(store.remembered, 2);
  });

  test('an early read that fails and is never used is no unhandled rejection', async () => {
    const breaking = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    breaking.on('error', () => undefined);
    const store = new RedisRevocationStore({ redis: breaking, prefix: 'x:' });
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => {
      unhandled.push(err);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await new Promise((resolve) => breaking.once('ready', resolve));
      await store.checkFor('s').isRevoked('t'); // now remembered: the next check for 's' reads at once
      breaking.disconnect();
      await assert.rejects(store.checkFor('s').isRevoked('t'), 'a used check reports the failure');
      await store
        .checkFor('s')
        .isRevoked('t')
        .catch(() => undefined);
      store.checkFor('s'); // its early read fails, and nothing ever asks
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      breaking.disconnect();
    }
  });
});
