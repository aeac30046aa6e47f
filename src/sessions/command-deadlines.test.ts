import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandDeadlines, CommandTimeoutError, unbounded } from './command-deadlines.ts';

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CommandDeadlines', () => {
  test('an answer in time passes through, value or error', async () => {
    const d = new CommandDeadlines(1000);
    assert.equal(await d.bound(Promise.resolve(42)), 42);
    await assert.rejects(d.bound(Promise.reject(new Error('READONLY'))), /READONLY/);
    d.close();
  });

  test('no answer: rejected once the bound has passed, within one sweep, and the late answer is ignored', async () => {
    const d = new CommandDeadlines(50);
    const hung = deferred<string>();
    const started = performance.now();
    await assert.rejects(d.bound(hung.promise), (err: unknown) => err instanceof CommandTimeoutError);
    const took = performance.now() - started;
    assert.ok(took >= 49 && took < 400, `rejected after ${took.toFixed(0)} ms`);
    hung.resolve('late'); // nothing to see: already rejected
    hung.reject(new Error('later still'));
    assert.equal(d.pending, 0);
    d.close();
  });

  test('each call has its own deadline: a later call is not cut short by an earlier one', async () => {
    let now = 0;
    const d = new CommandDeadlines(100, { now: () => now });
    const first = deferred<number>();
    const second = deferred<number>();
    const a = d.bound(first.promise);
    now = 60;
    const b = d.bound(second.promise);
    now = 101; // the first is due, the second (due at 160) not yet
    await assert.rejects(a, CommandTimeoutError);
    second.resolve(2);
    assert.equal(await b, 2);
    d.close();
  });

  test('many answered calls are dropped from the queue; the sweep timer stops when nothing waits', async () => {
    const d = new CommandDeadlines(20);
    const calls = Array.from({ length: 5000 }, (_, i) => d.bound(Promise.resolve(i)));
    assert.equal((await Promise.all(calls)).length, 5000);
    assert.equal(d.pending, 0);
    await sleep(30); // a sweep empties the queue and stops its timer
    assert.equal(d.pending, 0);
    d.close();
  });

  test('refuses a bound that is not a positive number', () => {
    assert.throws(() => new CommandDeadlines(0), /positive/);
    assert.throws(() => new CommandDeadlines(Number.NaN), /positive/);
  });

  test('unbounded is the promise itself', async () => {
    const p = Promise.resolve('x');
    assert.equal(unbounded(p), p);
    assert.equal(await unbounded(p), 'x');
  });
});
