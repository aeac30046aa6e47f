/**
 * The deny-list of signed-out sign-in tokens (ADR 0019): a token that signed out is refused by lpa-front for as
 * long as it could still be valid, even if a copy of its identity survives (a session re-created by a request that
 * was in flight at sign-out, or a stolen session value), and even if the backend could not be told.
 *
 * - Keys are the SHA-256 of the token, never the token, so the list holds nothing that signs anyone in.
 * - Redis when sessions are shared (`lpa-front:revoked:<sha256>`, SET … EX), so every instance and worker refuses
 *   the token at once; otherwise in memory (one process: `npm start`, tests), bounded and swept.
 * - An entry lives `ttlSeconds`: the token's own remaining lifetime, after which the backend refuses it anyway.
 * - One Redis round trip per signed-in request (ADR 0038): `checkFor(sessionId)` starts the read for the token that
 *   session carried when this process last saw it, in the same tick as the session's own read (so in the same
 *   pipelined write); the read is still made on every request, only earlier.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One request's deny-list check. */
export interface RevocationCheck {
  /** Whether `token` is on the deny-list now (read during this request). */
  isRevoked(token: string): Promise<boolean>;
}

export interface RevocationStore extends RevocationCheck {
  /** Refuses `token` for `ttlSeconds` (at least 1). */
  revoke(token: string, ttlSeconds: number): Promise<void>;
  /**
   * The check for one request on session `sessionId`, called in the tick that starts the session's read. When this
   * process has seen the session signed in, the deny-list read for that token starts now, beside the session's; a
   * token other than the one expected is read for on its own, as `isRevoked` does.
   */
  checkFor(sessionId: string): RevocationCheck;
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

  /** In memory the check costs no round trip: every request uses the store itself. */
  checkFor(): RevocationCheck {
    return this;
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

/** Sessions whose token a process remembers for `checkFor` (about 150 bytes each). */
export const DEFAULT_SESSIONS_REMEMBERED = 10_000;

/** The deny-list every instance shares, on a connection it is given (normally the session store's). */
export class RedisRevocationStore implements RevocationStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  /** Session id → digest of the token it carried when last checked here, least recently checked first. */
  readonly #seen = new Map<string, string>();
  readonly #maxSeen: number;

  constructor(options: { redis: Redis; prefix?: string; sessionsRemembered?: number }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? REVOKED_KEY_PREFIX;
    this.#maxSeen = options.sessionsRemembered ?? DEFAULT_SESSIONS_REMEMBERED;
  }

  key(token: string): string {
    return this.#prefix + tokenDigest(token);
  }

  async revoke(token: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.key(token), '1', 'EX', wholeSeconds(ttlSeconds));
  }

  async isRevoked(token: string): Promise<boolean> {
    return this.#listed(tokenDigest(token));
  }

  checkFor(sessionId: string): RevocationCheck {
    const expected = this.#seen.get(sessionId);
    const early = expected === undefined ? undefined : this.#listed(expected);
    // Used below, or not at all (the session had gone, or held no identity): never an unhandled rejection.
    early?.catch(() => undefined);
    return {
      isRevoked: async (token: string): Promise<boolean> => {
        const digest = tokenDigest(token);
        const revoked = early !== undefined && digest === expected ? await early : await this.#listed(digest);
        this.#seen.delete(sessionId);
        if (!revoked) {
          this.#seen.set(sessionId, digest);
          if (this.#seen.size > this.#maxSeen) this.#seen.delete(this.#seen.keys().next().value ?? sessionId);
        }
        return revoked;
      },
    };
  }

  /** The sessions remembered (tests). */
  get remembered(): number {
    return this.#seen.size;
  }

  async #listed(digest: string): Promise<boolean> {
    return (await this.#redis.exists(this.#prefix + digest)) === 1;
  }

  /** The connection belongs to whoever passed it in. */
  close(): Promise<void> {
    this.#seen.clear();
    return Promise.resolve();
  }
}
