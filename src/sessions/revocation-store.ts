/**
 * The deny-list of signed-out sign-in tokens (ADR 0019): a token that signed out is refused by lpa-front for as
 * long as it could still be valid, even if a copy of its identity survives (a session re-created by a request that
 * was in flight at sign-out, or a stolen session value), and even if the backend could not be told.
 *
 * - Keys are the SHA-256 of the token, never the token, so the list holds nothing that signs anyone in.
 * - Redis when sessions are shared (`lpa-front:revoked:<sha256>`, SET … EX), so every instance and worker refuses
 *   the token at once; otherwise in memory (one process: `npm start`, tests), bounded and swept.
 * - An entry lives `ttlSeconds`: the token's own remaining lifetime, after which the backend refuses it anyway.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface RevocationStore {
  /** Refuses `token` for `ttlSeconds` (at least 1). */
  revoke(token: string, ttlSeconds: number): Promise<void>;
  isRevoked(token: string): Promise<boolean>;
  /** Releases timers the store owns; a shared connection stays open. */
  close(): Promise<void>;
}

export const REVOKED_KEY_PREFIX = 'lpa-front:revoked:';

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function wholeSeconds(ttlSeconds: number): number {
  return Number.isFinite(ttlSeconds) ? Math.max(1, Math.ceil(ttlSeconds)) : 1;
}

/** One process's deny-list: at most `maxEntries` (the oldest dropped first), expired entries swept each minute. */
export class MemoryRevocationStore implements RevocationStore {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#sweeper = setInterval(() => { this.sweep(); }, 60_000);
    this.#sweeper.unref();
  }

  revoke(token: string, ttlSeconds: number): Promise<void> {
    const key = tokenDigest(token);
    this.#until.delete(key);
    if (this.#until.size >= this.#maxEntries) this.sweep();
    if (this.#until.size >= this.#maxEntries) {
      const oldest = this.#until.keys().next();
      if (oldest.done !== true) this.#until.delete(oldest.value);
    }
    this.#until.set(key, this.#now() + wholeSeconds(ttlSeconds) * 1000);
    return Promise.resolve();
  }

  isRevoked(token: string): Promise<boolean> {
    const until = this.#until.get(tokenDigest(token));
    return Promise.resolve(until !== undefined && until > this.#now());
  }

  sweep(): void {
    const now = this.#now();
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
  }

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#until.clear();
    return Promise.resolve();
  }
}

/** The deny-list every instance shares, on a connection it is given (normally the session store's). */
export class RedisRevocationStore implements RevocationStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: { redis: Redis; prefix?: string }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? REVOKED_KEY_PREFIX;
  }

  key(token: string): string {
    return this.#prefix + tokenDigest(token);
  }

  async revoke(token: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.key(token), '1', 'EX', wholeSeconds(ttlSeconds));
  }

  async isRevoked(token: string): Promise<boolean> {
    return (await this.#redis.exists(this.key(token))) === 1;
  }

  /** The connection belongs to whoever passed it in. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
