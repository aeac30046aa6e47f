/** The event-loop delay monitor on its own: start-up work is not load; a held loop is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { EventLoopDelay } from './load-shedding.ts';

function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the loop is busy */ }
}

test('work before start() is not counted; a loop held for 400 ms is, until the next sample', async () => {
  const monitor = new EventLoopDelay(100);
  hold(300); // as start-up's compiling and loading
  monitor.start();
  try {
    await delay(250);
    assert.ok(monitor.delayMs < 200, `after start-up: ${String(monitor.delayMs)} ms`);
    hold(400);
    await delay(20); // the overdue sampling timer runs first; the next sample is 100 ms away

    assert.ok(monitor.delayMs >= 100, `after a 400 ms hold: ${String(monitor.delayMs)} ms`);
  } finally {
    monitor.stop();
  }
});
