/**
 * The test app builder: a test's answer must not depend on how busy the machine is. On a loaded CI machine this
 * process's event loop can lag a second or more at times; with the production load-shedding bound (1 s) a test of
 * something else then got a 503 (feedback, sign-up and round-trip tests did, two files at a time at load 14).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { build } from './app.ts';
import { Browser } from './http.ts';
import { PATHS } from '../../src/paths.ts';

/** Keeps this process's loop about `lagMs` behind for `forMs`, as a starved process is: long turns, brief yields. */
async function lag(lagMs: number, forMs: number): Promise<void> {
  for (const end = performance.now() + forMs; performance.now() < end;) {
    const until = performance.now() + lagMs;
    while (performance.now() < until) {
      /* the loop is held, as when the process gets no CPU */
    }
    await delay(1);
  }
}

test('a test app answers while its loop lags 1.5 s at a time (load shedding cannot be set off by the machine)', async (t) => {
  const built = await build(t);
  const browser = new Browser(built.origin);
  assert.equal((await browser.get(PATHS.feedback)).status, 200, 'control');
  await lag(1500, 3200);
  const page = await browser.get(PATHS.feedback);
  assert.equal(page.status, 200, 'answered, not shed');
  assert.ok(built.config.loadShedEventLoopDelayMs > 0, 'the shedding hook is still on, with a bound load cannot reach');
});
