import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from './memory-store.ts';
import { DELETE } from './session-store.ts';

test('commit applies only changed keys; load returns copies', async () => {
  const store = new MemoryStore();
  await store.commit(
    'a',
    new Map<string, unknown>([
      ['x', { n: 1 }],
      ['y', 2],
    ]),
    60,
    'new',
  );
  await store.commit(
    'a',
    new Map<string, unknown>([
      ['y', DELETE],
      ['z', 3],
    ]),
    60,
  );
  const data = await store.load('a');
  assert.deepEqual(Object.fromEntries(data ?? []), { x: { n: 1 }, z: 3 });
  (data?.get('x') as { n: number }).n = 99;
  assert.deepEqual((await store.load('a'))?.get('x'), { n: 1 });
  await store.close();
});

test('sessions expire after their idle TTL, and touch slides it', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ now: () => now });
  await store.commit('a', new Map([['k', 1]]), 10, 'new');
  now += 9_000;
  await store.touch('a', 10);
  now += 9_000;
  assert.notEqual(await store.load('a'), null);
  now += 11_000;
  assert.equal(await store.load('a'), null);
  await store.close();
});

test('loadAndSlide reads and slides in one step, and never creates a session', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ now: () => now });
  await store.commit('a', new Map([['k', 1]]), 10, 'new');
  now += 9_000;
  const loaded = await store.loadAndSlide('a', 10);
  assert.deepEqual([Object.fromEntries(loaded.data ?? []), loaded.slid], [{ k: 1 }, true]);
  now += 9_000;
  assert.notEqual(await store.load('a'), null, 'slid by the load');
  assert.equal((await store.loadAndSlide('none', 10)).data, null);
  assert.equal(await store.load('none'), null);
  await store.close();
});

test('a regenerated id starts as a copy of the old session', async () => {
  const store = new MemoryStore();
  await store.commit('old', new Map([['keep', 'v']]), 60, 'new');
  await store.commit('new', new Map([['added', 1]]), 60, { copyFrom: 'old' });
  assert.deepEqual(Object.fromEntries((await store.load('new')) ?? []), { keep: 'v', added: 1 });
  await store.close();
});

test('when full it evicts the oldest sessions instead of refusing new ones', async () => {
  const store = new MemoryStore({ maxEntries: 100 });
  for (let i = 0; i < 150; i++) await store.commit(`s${String(i)}`, new Map([['i', i]]), 60, 'new');
  assert.ok(store.size <= 100);
  assert.equal(await store.load('s0'), null);
  assert.notEqual(await store.load('s149'), null);
  await store.close();
});

test('a destroyed or expired session stays gone: only an id made by the request creates one (ADR 0021)', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ now: () => now });
  assert.equal(await store.commit('a', new Map([['identity', 'alice']]), 10, 'new'), true);
  // A request loaded 'a', then a sign-out destroyed it before that request committed its change.
  await store.destroy('a');
  assert.equal(await store.commit('a', new Map([['identity', 'alice2']]), 10), false);
  assert.equal(await store.load('a'), null);
  await store.touch('a', 10);
  assert.equal(await store.load('a'), null, 'a touch does not create it either');
  assert.equal(await store.commit('b', new Map([['k', 1]]), 10, 'new'), true);
  now += 11_000;
  assert.equal(await store.commit('b', new Map([['k', 2]]), 10), false, 'expired since it was loaded');
  assert.equal(await store.load('b'), null);
  await store.close();
});
