/**
 * Sign-in throttling: sliding-window counters per account (the keyed hash of the email, whether or not the
 * account exists) and per source address, behind a small store interface so that all instances can share
 * them (a Redis implementation keeps the same contract). The memory store is the embedded default.
 *
 * This sits in front of the backend's own lockout (5 failures → 15 minutes): the lockout protects one
 * account from guessing; the address limit slows one source spraying many accounts.
 */
import { ExpiringMap } from '../../sessions/expiring-map.ts';

export interface ThrottleStore {
  /**
   * Records one hit on `key` now and returns how many hits `key` had in the last `windowSeconds`, this one included.
   */
  hit(key: string, windowSeconds: number): Promise<number>;
  /** Forgets every hit on `key`. */
  reset(key: string): Promise<void>;
  /** Releases timers or connections the store owns (not a shared connection). */
  close?(): Promise<void>;
}

export interface ThrottleLimits {
  /** Attempts allowed per account (email hash) in the window. */
  readonly perAccount: number;
  /** Attempts allowed per source address in the window. */
  readonly perAddress: number;
  readonly windowSeconds: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = { perAccount: 10, perAddress: 50, windowSeconds: 15 * 60 };

/**
 * In-process sliding-window log: each key keeps the times of its hits within the window (at most
 * `maxHitsPerKey`, enough to know the limit is passed). Memory is bounded: at most `maxKeys` keys, the
 * least recently hit dropped first, and idle keys are swept.
 */
export class MemoryThrottleStore implements ThrottleStore {
  /** key → times of its recent hits, least recently hit first. */
  readonly #hits: ExpiringMap<number[]>;
  readonly #now: () => number;
  readonly #maxHitsPerKey: number;
  #longestWindowMs = 0;

  constructor(options: { now?: () => number; maxKeys?: number; maxHitsPerKey?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxHitsPerKey = options.maxHitsPerKey ?? 1000;
    this.#hits = new ExpiringMap({
      now: this.#now,
      maxEntries: options.maxKeys ?? 100_000,
      // A key stops mattering one window (the longest asked for) after its last hit.
      expiresAt: (times) => (times.at(-1) ?? -Infinity) + this.#longestWindowMs,
      sweepWhenFull: false,
    });
  }

  get size(): number {
    return this.#hits.size;
  }

  hit(key: string, windowSeconds: number): Promise<number> {
    const now = this.#now();
    const windowMs = windowSeconds * 1000;
    if (windowMs > this.#longestWindowMs) this.#longestWindowMs = windowMs;
    const since = now - windowMs;
    const previous = this.#hits.get(key) ?? [];
    const kept = previous.filter((t) => t > since);
    kept.push(now);
    if (kept.length > this.#maxHitsPerKey) kept.splice(0, kept.length - this.#maxHitsPerKey);
    this.#hits.add(key, kept); // the newest: Map order stays least recently hit first
    return Promise.resolve(kept.length);
  }

  reset(key: string): Promise<void> {
    this.#hits.delete(key);
    return Promise.resolve();
  }

  sweep(): void {
    this.#hits.sweep();
  }

  close(): Promise<void> {
    this.#hits.close();
    return Promise.resolve();
  }
}

export type ThrottleVerdict =
  | { readonly limited: false }
  | { readonly limited: true; readonly by: 'account' | 'address'; readonly retryAfterSeconds: number };

/** Counts one attempt against the address and (when known) the account, and says whether to refuse it. */
export async function checkSignInThrottle(
  store: ThrottleStore,
  limits: ThrottleLimits,
  address: string,
  userHash: string | null,
): Promise<ThrottleVerdict> {
  const byAddress = await store.hit(`sign-in:address:${address}`, limits.windowSeconds);
  if (byAddress > limits.perAddress) return { limited: true, by: 'address', retryAfterSeconds: limits.windowSeconds };
  if (userHash !== null) {
    const byAccount = await store.hit(`sign-in:account:${userHash}`, limits.windowSeconds);
    if (byAccount > limits.perAccount) return { limited: true, by: 'account', retryAfterSeconds: limits.windowSeconds };
  }
  return { limited: false };
}

/** After a successful sign-in the account's count starts again (the address's does not). */
export function resetAccountThrottle(store: ThrottleStore, userHash: string): Promise<void> {
  return store.reset(`sign-in:account:${userHash}`);
}
