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
import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ExpiringMap } from './expiring-map.ts';
import { unbounded } from './command-deadlines.ts';
import type { Bound } from './command-deadlines.ts';

/** One request's deny-list check. */
export interface RevocationCheck {
  /** Whether `token` is on the deny-list now (read during this request). */
  isRevoked(token: string): Promise<boolean>;
}

export interface RevocationStore extends RevocationCheck {
  /** Refuses `token` for `ttlSeconds` (at least 1). */
  revoke(token: string, ttlSeconds: number): Promise<void>;
  isRevoked(token: string): Promise<boolean>;
  /**
   * The account index (ADR 0047): remembers `token` (its digest only) as issued to `account` (an opaque key, the
   * keyed hash of the email) for `ttlSeconds`, so that `revokeAccount` can refuse it without anyone holding it.
   */
  remember(account: string, token: string, ttlSeconds: number): Promise<void>;
  /** The account a remembered token was issued to, while it is remembered. */
  accountOf(token: string): Promise<string | null>;
  /** Refuses every remembered token of `account` except `keep` for `ttlSeconds`, and forgets them; how many. */
  revokeAccount(account: string, keep: string | null, ttlSeconds: number): Promise<number>;
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
/**
 * How long a sign-in stays in the account index: longer than any sign-in lasts in practice (a token slides while
 * used). One that outlives it is still ended by the backend, and refused here at its next refresh.
 */
export const ACCOUNT_INDEX_SECONDS = 86_400;
/** Per account: a sorted set of token digests, scored by when each stops mattering (epoch ms). */
export const ACCOUNT_TOKENS_PREFIX = 'lpa-front:account-tokens:';
/** Per token digest: the account it was issued to. */
export const TOKEN_ACCOUNT_PREFIX = 'lpa-front:token-account:';

export function tokenDigest(token: string): string {
  return hash('sha256', token, 'hex');
}

function wholeSeconds(ttlSeconds: number): number {
  return Number.isFinite(ttlSeconds) ? Math.max(1, Math.ceil(ttlSeconds)) : 1;
}

/** One process's deny-list: at most `maxEntries` (the oldest dropped first), expired entries swept each minute. */
export class MemoryRevocationStore implements RevocationStore {
  /** digest → until (epoch ms). */
  readonly #until: ExpiringMap<number>;
  /** digest → account and until; account → its digests (the account index). */
  readonly #issued: ExpiringMap<{ account: string; until: number }>;
  readonly #byAccount = new Map<string, Set<string>>();
  readonly #now: () => number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    const bounds = { now: this.#now, maxEntries: options.maxEntries ?? 100_000 };
    this.#until = new ExpiringMap({ ...bounds, expiresAt: (until) => until });
    this.#issued = new ExpiringMap({
      ...bounds,
      expiresAt: (entry) => entry.until,
      dropped: (digest, entry) => {
        this.#unindex(digest, entry.account);
      },
    });
  }

  revoke(token: string, ttlSeconds: number): Promise<void> {
    this.#until.add(tokenDigest(token), this.#now() + wholeSeconds(ttlSeconds) * 1000);
    return Promise.resolve();
  }

  isRevoked(token: string): Promise<boolean> {
    const until = this.#until.get(tokenDigest(token));
    return Promise.resolve(until !== undefined && until > this.#now());
  }

  remember(account: string, token: string, ttlSeconds: number): Promise<void> {
    const digest = tokenDigest(token);
    this.#forget(digest);
    this.#issued.add(digest, { account, until: this.#now() + wholeSeconds(ttlSeconds) * 1000 });
    let digests = this.#byAccount.get(account);
    if (digests === undefined) this.#byAccount.set(account, (digests = new Set()));
    digests.add(digest);
    return Promise.resolve();
  }

  accountOf(token: string): Promise<string | null> {
    const entry = this.#issued.get(tokenDigest(token));
    return Promise.resolve(entry !== undefined && entry.until > this.#now() ? entry.account : null);
  }

  revokeAccount(account: string, keep: string | null, ttlSeconds: number): Promise<number> {
    const kept = keep === null ? null : tokenDigest(keep);
    let count = 0;
    for (const digest of [...(this.#byAccount.get(account) ?? [])]) {
      if (digest === kept) continue;
      const live = (this.#issued.get(digest)?.until ?? 0) > this.#now();
      this.#forget(digest);
      if (!live) continue;
      this.#until.add(digest, this.#now() + wholeSeconds(ttlSeconds) * 1000);
      count++;
    }
    return Promise.resolve(count);
  }

  #forget(digest: string): void {
    const entry = this.#issued.get(digest);
    if (entry === undefined) return;
    this.#issued.delete(digest);
    this.#unindex(digest, entry.account);
  }

  #unindex(digest: string, account: string): void {
    const digests = this.#byAccount.get(account);
    digests?.delete(digest);
    if (digests?.size === 0) this.#byAccount.delete(account);
  }

  /** In memory the check costs no round trip: every request uses the store itself. */
  checkFor(): RevocationCheck {
    return this;
  }

  sweep(): void {
    this.#until.sweep();
    this.#issued.sweep();
  }

  close(): Promise<void> {
    this.#until.close();
    this.#issued.close();
    this.#byAccount.clear();
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

  /** The bound of the connection's owner (RedisStore.bound), whose client has no command timeout of its own. */
  readonly #bound: Bound;

  constructor(options: { redis: Redis; bound?: Bound; prefix?: string; sessionsRemembered?: number }) {
    this.#redis = options.redis;
    this.#bound = options.bound ?? unbounded;
    this.#prefix = options.prefix ?? REVOKED_KEY_PREFIX;
    this.#maxSeen = options.sessionsRemembered ?? DEFAULT_SESSIONS_REMEMBERED;
  }

  key(token: string): string {
    return this.#prefix + tokenDigest(token);
  }

  async revoke(token: string, ttlSeconds: number): Promise<void> {
    await this.#bound(this.#redis.set(this.key(token), '1', 'EX', wholeSeconds(ttlSeconds)));
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
    return (await this.#bound(this.#redis.exists(this.#prefix + digest))) === 1;
  }

  async remember(account: string, token: string, ttlSeconds: number): Promise<void> {
    const digest = tokenDigest(token);
    const ttl = wholeSeconds(ttlSeconds);
    const index = ACCOUNT_TOKENS_PREFIX + account;
    // The index lives as long as its longest-lived token (NX sets a first expiry, GT only ever lengthens it).
    await this.#bound(
      this.#redis
        .multi()
        .zremrangebyscore(index, '-inf', Date.now())
        .zadd(index, Date.now() + ttl * 1000, digest)
        .expire(index, ttl, 'NX')
        .expire(index, ttl, 'GT')
        .set(TOKEN_ACCOUNT_PREFIX + digest, account, 'EX', ttl)
        .exec(),
    );
  }

  accountOf(token: string): Promise<string | null> {
    return this.#bound(this.#redis.get(TOKEN_ACCOUNT_PREFIX + tokenDigest(token)));
  }

  async revokeAccount(account: string, keep: string | null, ttlSeconds: number): Promise<number> {
    const index = ACCOUNT_TOKENS_PREFIX + account;
    const kept = keep === null ? null : tokenDigest(keep);
    const digests = (await this.#bound(this.#redis.zrangebyscore(index, Date.now(), '+inf'))).filter((d) => d !== kept);
    if (digests.length === 0) return 0;
    const batch = this.#redis.multi();
    for (const digest of digests)
      batch
        .set(this.#prefix + digest, '1', 'EX', wholeSeconds(ttlSeconds))
        .zrem(index, digest)
        .del(TOKEN_ACCOUNT_PREFIX + digest);
    await this.#bound(batch.exec());
    return digests.length;
  }

  /** The connection belongs to whoever passed it in. */
  close(): Promise<void> {
    this.#seen.clear();
    return Promise.resolve();
  }
}
