import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { evenTime, untilFloor } from './even-time.ts';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn().catch(() => undefined);
  return performance.now() - start;
}

describe('evenTime', () => {
  test('a fast and a slow outcome are answered at the same time (median of 10 pairs within 15 ms)', async () => {
    const differences: number[] = [];
    for (let i = 0; i < 10; i++) {
      const fast = await timed(() =>
        evenTime(120, async () => {
          await sleep(2);
          return 'exists';
        }),
      );
      const slow = await timed(() =>
        evenTime(120, async () => {
          await sleep(80);
          return 'created';
        }),
      );
      differences.push(Math.abs(slow - fast));
    }
    differences.sort((a, b) => a - b);
    assert.ok((differences[5] ?? Infinity) < 15, `median difference ${String(differences[5])} ms`);
  });

  test('without it the same pair is told apart (the test can fail)', async () => {
    const fast = await timed(async () => {
      await sleep(2);
    });
    const slow = await timed(async () => {
      await sleep(80);
    });
    assert.ok(slow - fast > 50);
  });

  test('answers the value, no sooner than the floor', async () => {
    const start = performance.now();
    assert.equal(await evenTime(60, () => Promise.resolve(42)), 42);
    assert.ok(performance.now() - start >= 59);
  });

  test('a timer that ends early (a busy loop with a stale clock) is slept again until the floor has passed', async () => {
    const readings = [0, 0, 30, 61]; // started, then: 60 ms left, a timer that ended 30 ms early, past the floor
    const seen: number[] = [];
    const clock = (): number => {
      const reading = readings.shift() ?? 1000;
      seen.push(reading);
      return reading;
    };
    assert.equal(await evenTime(60, () => Promise.resolve('ok'), clock), 'ok');
    assert.deepEqual(seen, [0, 0, 30, 61]);
  });

  test('a failure is delayed to the floor too, then thrown', async () => {
    const start = performance.now();
    await assert.rejects(
      evenTime(60, () => Promise.reject(new Error('api down'))),
      /api down/,
    );
    assert.ok(performance.now() - start >= 59);
  });

  test('work slower than the floor is answered when it ends, not cut short', async () => {
    const start = performance.now();
    assert.equal(
      await evenTime(10, async () => {
        await untilFloor(start, 50);
        return 'late';
      }),
      'late',
    );
    assert.ok(performance.now() - start >= 49);
  });
});
