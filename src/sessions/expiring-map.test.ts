import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringMap } from './expiring-map.ts';

test('full: a new entry sweeps the expired first, then drops the oldest added; an index is told', () => {
  let clock = 1000;
  const dropped: string[] = [];
  const map = new ExpiringMap<number>({
    now: () => clock,
    maxEntries: 3,
    expiresAt: (until) => until,
    dropped: (key) => dropped.push(key),
  });
  map.add('a', 5000);
  map.add('b', 1500);
  map.add('c', 5000);
  clock = 2000;
  map.add('d', 5000); // b has expired: the sweep makes room, nothing live goes
  assert.deepEqual(dropped, ['b']);
  map.add('a', 6000); // re-added: now the newest
  map.add('e', 5000); // none expired: the oldest added (c) goes
  assert.deepEqual(dropped, ['b', 'c']);
  assert.equal(map.size, 3);
  assert.deepEqual(
    ['a', 'c', 'd', 'e'].map((k) => map.get(k)),
    [6000, undefined, 5000, 5000],
  );
  map.delete('e');
  assert.deepEqual(dropped, ['b', 'c'], "a delete is the caller's own: not reported");
  map.close();
  assert.equal(map.size, 0);
});

test('evictBatch drops that many of the oldest at once; sweep reads expiry changed in place', () => {
  let clock = 0;
  const map = new ExpiringMap<{ expiresAt: number }>({
    now: () => clock,
    maxEntries: 4,
    expiresAt: (e) => e.expiresAt,
    evictBatch: 2,
  });
  for (const k of ['a', 'b', 'c', 'd']) map.add(k, { expiresAt: 100 });
  map.add('e', { expiresAt: 100 });
  assert.deepEqual(
    ['a', 'b', 'c'].map((k) => map.get(k) !== undefined),
    [false, false, true],
  );
  const slid = map.get('c');
  assert.ok(slid);
  slid.expiresAt = 500;
  clock = 200;
  map.sweep();
  assert.equal(map.size, 1);
  assert.equal(map.get('c'), slid);
  map.close();
});

test('sweepWhenFull false: when full the oldest goes at once, even while an expired entry waits for the sweep', () => {
  let clock = 0;
  const map = new ExpiringMap<number>({ now: () => clock, maxEntries: 2, expiresAt: (t) => t, sweepWhenFull: false });
  map.add('old', 1000);
  map.add('gone', 10);
  clock = 100;
  map.add('new', 1000);
  assert.deepEqual(
    ['old', 'gone', 'new'].map((k) => map.get(k)),
    [undefined, 10, 1000],
  );
  map.sweep();
  assert.equal(map.size, 1);
  map.close();
});
