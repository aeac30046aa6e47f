/**
 * Answers that take the same time whatever they found (no account enumeration by timing: OWASP A07, ADR 0008).
 *
 * A page such as sign up or forgotten password must not tell, by how long it takes, whether an address has an
 * account: creating a user may take 300 ms at the API where finding an existing one takes 5 ms. `evenTime` runs
 * the work and answers no sooner than `floorMs` after it began, so every outcome that finishes within the floor is
 * answered at the floor (plus scheduling noise). Work slower than the floor (an API near its timeout) is answered
 * when it ends: choose a floor above the slow path's usual time, below the API timeout.
 *
 * A failure is delayed the same way, so an error cannot be told apart by its timing either.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function evenTime<T>(
  floorMs: number,
  work: () => Promise<T>,
  now: () => number = performance.now.bind(performance),
): Promise<T> {
  const started = now();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  await untilFloor(started, floorMs, now);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * Sleeps until `floorMs` after `started` (a reading of `now`). A timer is due from the event loop's cached clock,
 * which lags the real one when the loop is busy, so one sleep can end a few milliseconds early: it sleeps again until
 * the floor has truly passed.
 */
export async function untilFloor(
  started: number,
  floorMs: number,
  now: () => number = performance.now.bind(performance),
): Promise<void> {
  for (let left = floorMs - (now() - started); left > 0; left = floorMs - (now() - started)) {
    await sleep(Math.ceil(left));
  }
}
