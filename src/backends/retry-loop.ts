/**
 * The delivery loop both outboxes run (feedback's, ADR 0011; account emails', ADR 0035): a first attempt the caller
 * waits for only so long, exponential backoff with jitter, and a polling loop that stops cleanly, waiting for the
 * attempts in flight. What is delivered, where rows live and what an outcome means stay with each outbox.
 */

export interface RetryOptions {
  /** How often the loop looks for due rows (ms). */
  readonly pollMs: number;
  /** Delay after the first failure (ms); doubles with each attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** After this many attempts a row is parked (kept, not retried). */
  readonly maxAttempts: number;
  /** Most rows delivered per tick. */
  readonly batchSize: number;
  /** How long a claimed row is reserved for its deliverer (ms); must exceed the transport's timeout. */
  readonly leaseMs: number;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random (`random` in [0, 1)). */
export function backoffMs(attempts: number, retry: RetryOptions, random: () => number): number {
  const exp = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export interface RetryLoop {
  /** `attempt`, kept in flight until it settles, so that `stop` waits for it. */
  readonly track: <T>(attempt: Promise<T>) => Promise<T>;
  /** `attempt`'s answer, or false once `waitMs` has passed (it goes on in the background, tracked). */
  readonly waitAtMost: (attempt: Promise<boolean>, waitMs: number) => Promise<boolean>;
  /** Runs `tick` every `pollMs` after the last one ended. */
  readonly start: () => void;
  /** Stops the loop and waits for the tick and the attempts in flight. */
  readonly stop: () => Promise<void>;
}

export function createRetryLoop(options: {
  readonly pollMs: number;
  /** One pass over the due rows; a rejection is given to `failed` and the loop goes on. */
  readonly tick: () => Promise<unknown>;
  readonly failed: (err: unknown) => void;
}): RetryLoop {
  const inFlight = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<unknown> | undefined;

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      ticking = options
        .tick()
        .catch(options.failed)
        .finally(() => {
          ticking = undefined;
          schedule();
        });
    }, options.pollMs);
    timer.unref();
  }

  return {
    track,
    waitAtMost: async (attempt, waitMs) => {
      let waitTimer: NodeJS.Timeout | undefined;
      const answer = await Promise.race([
        track(attempt),
        new Promise<false>((resolve) => {
          waitTimer = setTimeout(() => {
            resolve(false);
          }, waitMs);
          waitTimer.unref();
        }),
      ]);
      clearTimeout(waitTimer);
      return answer;
    },
    start: () => {
      if (running) return;
      running = true;
      schedule();
    },
    stop: async () => {
      running = false;
      clearTimeout(timer);
      timer = undefined;
      if (ticking !== undefined) await ticking;
      await Promise.allSettled([...inFlight]);
    },
  };
}
