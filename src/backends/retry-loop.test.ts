import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, createRetryLoop } from './retry-loop.ts';

const RETRY = { pollMs: 10, baseDelayMs: 1000, maxDelayMs: 8000, maxAttempts: 5, batchSize: 1, leaseMs: 100 };

test('backoff doubles, is capped, and has jitter in the upper half', () => {
  const cases: readonly [attempts: number, random: number, ms: number][] = [
    [1, 0, 500],
    [1, 0.999_999, 1000],
    [2, 0, 1000],
    [3, 0, 2000],
    [10, 0, 4000],
    [1000, 0.999_999, 8000],
  ];
  for (const [attempts, random, ms] of cases)
    assert.equal(
      backoffMs(attempts, RETRY, () => random),
      ms,
      `${attempts}`,
    );
});

test('waitAtMost: the answer in time, else false while the attempt goes on; stop waits for it', async () => {
  const loop = createRetryLoop({ pollMs: 60_000, tick: () => Promise.resolve(), failed: () => undefined });
  assert.equal(await loop.waitAtMost(Promise.resolve(true), 1000), true);
  let finished = false;
  const slow = sleep(100).then(() => {
    finished = true;
    return true;
  });
  assert.equal(await loop.waitAtMost(slow, 10), false);
  assert.equal(finished, false);
  await loop.stop();
  assert.equal(finished, true);
});

test('the loop ticks every pollMs, goes on after a failed tick, and stops after the tick in progress', async () => {
  let ticks = 0;
  const failures: unknown[] = [];
  const loop = createRetryLoop({
    pollMs: 5,
    tick: async () => {
      ticks++;
      if (ticks === 1) throw new Error('store unavailable');
      await sleep(1);
    },
    failed: (err) => failures.push(err),
  });
  loop.start();
  loop.start(); // a second start runs no second loop
  while (ticks < 3) await sleep(5);
  await loop.stop();
  const stoppedAt = ticks;
  await sleep(30);
  assert.equal(ticks, stoppedAt);
  assert.equal(failures.length, 1);
});
