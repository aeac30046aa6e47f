/** The event-loop delay monitor on its own: start-up work is not load; a loop kept busy is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { EventLoopDelay } from './load-shedding.ts';

function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* the loop is busy */
  }
}

test('work before start() is not counted; a loop kept busy is', async () => {
  const monitor = new EventLoopDelay(100);
  hold(300); // as start-up's compiling and loading
  monitor.start();
  try {
    await delay(250);
    assert.ok(monitor.delayMs < 100, `after start-up: ${String(monitor.delayMs)} ms`);
    // Kept busy: 80 ms of work in every turn, as under sustained load.
    let busiest = 0;
    for (const until = performance.now() + 600; performance.now() < until;) {
      hold(80);
      await delay(1);
      busiest = Math.max(busiest, monitor.delayMs);
    }
    assert.ok(busiest >= 30, `a loop kept busy: ${String(busiest)} ms`);
  } finally {
    monitor.stop();
  }
});
