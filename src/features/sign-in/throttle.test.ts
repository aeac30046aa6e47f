import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryThrottleStore, checkSignInThrottle, resetAccountThrottle } from './throttle.ts';

test('sliding window: old hits drop out one by one', async () => {
  let now = 1_000_000;
  const store = new MemoryThrottleStore({ now: () => now });
  assert.equal(await store.hit('k', 60), 1);
  now += 30_000;
  assert.equal(await store.hit('k', 60), 2);
  now += 31_000; // the first hit is now 61 s old
  assert.equal(await store.hit('k', 60), 2);
  await store.reset('k');
  assert.equal(await store.hit('k', 60), 1);
  await store.close();
});

test('memory stays bounded', async () => {
  let now = 0;
  const store = new MemoryThrottleStore({ now: () => now, maxKeys: 3, maxHitsPerKey: 5 });
  for (const k of ['a', 'b', 'c', 'd']) await store.hit(k, 60);
  assert.equal(store.size, 3);
  assert.equal(await store.hit('a', 60), 1, 'the least recently hit key was dropped');
  for (let i = 0; i < 10; i++) await store.hit('z', 60);
  assert.equal(await store.hit('z', 60), 5, 'per-key log is capped (still over any sane limit)');
  now += 61_000;
  store.sweep();
  assert.equal(store.size, 0);
  await store.close();
});

test('address limit, then account limit; reset only the account', async () => {
  const store = new MemoryThrottleStore();
  const limits = { perAddress: 3, perAccount: 2, windowSeconds: 60 };
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.1', 'h1'), { limited: false });
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.2', 'h1'), { limited: false });
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.3', 'h1'), {
    limited: true,
    by: 'account',
    retryAfterSeconds: 60,
  });
  await resetAccountThrottle(store, 'h1');
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.3', 'h1'), { limited: false });
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.1', 'h2'), { limited: false });
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.1', null), { limited: false });
  assert.deepEqual(await checkSignInThrottle(store, limits, '10.0.0.1', 'h3'), {
    limited: true,
    by: 'address',
    retryAfterSeconds: 60,
  });
  await store.close();
});
