/**
 * The sign-in throttle's counters in Redis, so every instance (and every worker) shares them: the same
 * contract and the same sliding-window-log semantics as MemoryThrottleStore (features/sign-in/throttle.ts),
 * "how many hits did `key` have in the last `windowSeconds`, this one included".
 *
 * - One sorted set per key, `lpa-front:throttle:<key>` (never under the session prefix), member = a random
 *   id, score = the hit's time in ms. One Lua script per hit does everything atomically: drop hits older
 *   than the window, add this one, cap the set at `maxHitsPerKey` (enough to know the limit is passed,
 *   like the memory store), expire the key when the window would have emptied it, return the count.
 * - Time comes from the Redis server (TIME), not from each instance's clock, so instances agree.
 * - It uses a connection it is given (normally the session store's) and never closes it.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from './store-unavailable.ts';
import { redactRedisMessage } from './redis-store.ts';
import { unbounded } from './command-deadlines.ts';
import type { Bound } from './command-deadlines.ts';

/**
 * The contract of `ThrottleStore` (features/sign-in/throttle.ts), restated because sessions/ sits below
 * features/ and may not import it; wiring this class in services.ts as a ThrottleStore type-checks that
 * the two agree.
 */
export interface SharedThrottleStore {
  hit(key: string, windowSeconds: number): Promise<number>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

export const THROTTLE_KEY_PREFIX = 'lpa-front:throttle:';

const HIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local cap = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - cap - 1)
  count = cap
end
redis.call('PEXPIRE', KEYS[1], window)
return count
`;

type ThrottleRedis = Redis & {
  lpaThrottleHit(key: string, windowMs: number, member: string, cap: number): Promise<number>;
};

export interface RedisThrottleStoreOptions {
  /** A connected client; shared (e.g. RedisStore#client), not closed by this store. */
  readonly redis: Redis;
  /** Hits kept per key; counts stop growing there. Default 1000 (as the memory store). */
  readonly maxHitsPerKey?: number;
  /** Default THROTTLE_KEY_PREFIX. */
  readonly prefix?: string;
  /** The bound of the connection's owner (RedisStore.bound), whose client has no command timeout of its own. */
  readonly bound?: Bound;
}

export class RedisThrottleStore implements SharedThrottleStore {
  readonly #redis: ThrottleRedis;
  readonly #prefix: string;
  readonly #cap: number;
  readonly #bound: Bound;

  constructor(options: RedisThrottleStoreOptions) {
    this.#bound = options.bound ?? unbounded;
    const redis = options.redis as ThrottleRedis;
    // defineCommand is idempotent per name; the script is loaded (EVALSHA, falling back to EVAL) on first use.
    redis.defineCommand('lpaThrottleHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    this.#redis = redis;
    this.#prefix = options.prefix ?? THROTTLE_KEY_PREFIX;
    this.#cap = options.maxHitsPerKey ?? 1000;
    if (!Number.isSafeInteger(this.#cap) || this.#cap < 1)
      throw new RangeError('maxHitsPerKey must be a positive integer');
  }

  key(key: string): string {
    return this.#prefix + key;
  }

  async hit(key: string, windowSeconds: number): Promise<number> {
    if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) throw new RangeError('windowSeconds must be positive');
    const windowMs = Math.ceil(windowSeconds * 1000);
    try {
      return await this.#bound(
        this.#redis.lpaThrottleHit(this.key(key), windowMs, randomBytes(9).toString('base64url'), this.#cap),
      );
    } catch (err) {
      // Cannot count: the sign-in is refused with the service's 503 page rather than let through unthrottled.
      throw new StoreUnavailableError(`throttle store failed: ${redactRedisMessage(err)}`);
    }
  }

  async reset(key: string): Promise<void> {
    try {
      await this.#bound(this.#redis.del(this.key(key)));
    } catch (err) {
      throw new StoreUnavailableError(`throttle store failed: ${redactRedisMessage(err)}`);
    }
  }

  /** The connection belongs to whoever passed it in. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
