/** The event-loop delay monitor on its own: start-up work and one long pause are not load; a loop kept busy is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { EventLoopDelay } from './load-shedding.ts';
import type { LoopProbe } from './load-shedding.ts';

/** Production's LOAD_SHED_EVENT_LOOP_DELAY_MS default. */
const BOUND_MS = 1000;

function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* the loop is busy */
  }
}

async function worstOver(monitor: EventLoopDelay, ms: number): Promise<number> {
  let worst = 0;
  for (const until = performance.now() + ms; performance.now() < until;) {
    await delay(5);
    worst = Math.max(worst, monitor.delayMs);
  }
  return worst;
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

test('one real 1.5 s pause just after a reading does not reach the 1000 ms bound', async () => {
  // Just after start() is just after a reading: no 10 ms sample comes before the pause, so the reading's own
  // lateness (1.5 s - 250 ms) stood for the lag, and every request was shed until the next reading.
  const monitor = new EventLoopDelay(250);
  monitor.start();
  try {
    hold(1500);
    const worst = await worstOver(monitor, 700);
    assert.ok(worst <= BOUND_MS, `one pause read as ${worst.toFixed(0)} ms`);
  } finally {
    monitor.stop();
  }
});

/** A probe the test drives: it sets what the histogram holds and the time, then reads. */
function fakeProbe(): { probe: LoopProbe; read: (ticksMs: number[], elapsedMs: number) => void } {
  let now = 0;
  let ticks: number[] = [];
  let read = (): void => undefined;
  const histogram = {
    get count() {
      return ticks.length;
    },
    get mean() {
      return ticks.length === 0 ? Number.NaN : (ticks.reduce((a, b) => a + b, 0) / ticks.length) * 1e6;
    },
    reset: () => {
      ticks = [];
    },
    enable: () => true,
    disable: () => true,
  };
  const probe: LoopProbe = {
    histogram,
    now: () => now,
    every: (_ms, onRead) => {
      read = onRead;
      return () => {
        read = () => undefined;
      };
    },
  };
  return {
    probe,
    read: (ticksMs, elapsedMs) => {
      ticks = ticksMs;
      now += elapsedMs;
      read();
    },
  };
}

test('one long pause, whichever way it is read, does not shed; a loop that stays behind does', () => {
  const { probe, read } = fakeProbe();
  const monitor = new EventLoopDelay(250, probe);
  monitor.start();
  const normal = Array.from({ length: 25 }, () => 10);

  read(normal, 250);
  assert.ok(monitor.delayMs < 1, `a loop on time: ${String(monitor.delayMs)} ms`);
  // A 1.3 s pause that began before the histogram's first tick: nothing recorded, the reading is 1.3 s late.
  read([], 1550);
  assert.ok(monitor.delayMs <= BOUND_MS, `pause read as its lateness: ${String(monitor.delayMs)} ms`);
  read(normal, 250);
  assert.ok(monitor.delayMs <= BOUND_MS, `the reading after it: ${String(monitor.delayMs)} ms`);
  // A 1.3 s pause recorded as the one tick of its reading.
  read([1300], 1300);
  assert.ok(monitor.delayMs <= BOUND_MS, `pause read as one tick: ${String(monitor.delayMs)} ms`);
  read(normal, 250);
  assert.ok(monitor.delayMs <= BOUND_MS, `the reading after it: ${String(monitor.delayMs)} ms`);

  // Sustained: every tick 1.2 s late, reading after reading.
  read([1210], 1460);
  read([1210], 1460);
  assert.ok(monitor.delayMs > BOUND_MS, `a loop that stays behind: ${String(monitor.delayMs)} ms`);
  read([1210, 1210], 2420);
  assert.ok(monitor.delayMs > BOUND_MS, 'and while it stays behind');
  // It catches up: shedding stops at the next reading.
  read(normal, 250);
  assert.ok(monitor.delayMs < 1, `caught up: ${String(monitor.delayMs)} ms`);
  monitor.stop();
});
