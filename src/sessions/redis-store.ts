/**
 * The session store shared with the PHP front: Redis key `<prefix><id>` (default `PHPREDIS_SESSION:`), value in
 * PHP's `php` session format, written with an expiry (the PHP front's SETEX), read with GET, removed with DEL.
 *
 * Lost updates: the PHP front has no locking, so concurrent requests overwrote each other's keys (its ADR 0002).
 * Here a commit is a compare-and-set: read the current bytes, apply only this request's changed keys on top
 * (keys it did not touch keep whatever is stored, byte for byte), and write only if the stored bytes are still
 * the ones read (a Lua script compares their SHA-1). On a conflict it re-reads and re-applies, a bounded number
 * of times. It needs no WATCH, so one shared connection serves every request.
 *
 * Values the app reads come out as plain data (`toPlain`): PHP arrays as arrays or null-prototype objects.
 * Values it writes go in through `fromPlain`. Nothing from the store is ever evaluated.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { decodeSession } from './php-session-codec.ts';
import { fromPlain, toPlain } from './php-serialize.ts';
import type { SessionBase, SessionChanges, SessionData, SessionStore } from './session-store.ts';
import { DELETE } from './session-store.ts';

const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or (cur ~= false and redis.sha1hex(cur) == ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
`;

type CasRedis = Redis & { casSession(key: string, expectedSha1: string, value: Buffer, ttl: number): Promise<number> };

export interface RedisStoreOptions {
  readonly url: URL;
  readonly prefix: string;
  /** Conflicting concurrent commits to retry before giving up. */
  readonly maxRetries?: number;
  readonly redisOptions?: RedisOptions;
  /** PEM file of the CA(s) that sign the server's certificate (rediss:// only); unset: Node's trust store. */
  readonly tlsCaFile?: string;
  /** Where connection errors go (ioredis otherwise prints them to the console). */
  readonly logger?: { warn(obj: object, msg: string): void };
}

export class SessionConflictError extends Error {
  constructor() {
    super('session changed concurrently too many times');
    this.name = 'SessionConflictError';
  }
}

/**
 * A client for `redis://` or `rediss://` (TLS, certificate and host name always verified). `tlsCaFile` adds
 * a private CA for rediss:// (NODE_EXTRA_CA_CERTS works too); it is refused for redis:// so a CA given for a
 * plain-text URL never looks like TLS.
 */
export function createRedisClient(url: URL, extra: RedisOptions = {}, tlsCaFile?: string): Redis {
  const secure = url.protocol === 'rediss:';
  if (tlsCaFile !== undefined && !secure) throw new Error('a TLS CA file needs a rediss:// URL');
  // SNI takes host names only (RFC 6066); an IP address is still checked against the certificate's SANs.
  const servername = isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0 ? { servername: url.hostname } : {};
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- an operator's setting (config), never request data
  const ca = tlsCaFile === undefined ? {} : { ca: readFileSync(tlsCaFile) };
  return new Redis(url.toString(), {
    lazyConnect: false,
    // Commands issued in the same tick (many requests at once) go out in one write: the form GET spent 17% of
    // its CPU in one socket write per command (docs/adr/0006). Order per connection is unchanged.
    enableAutoPipelining: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 2000,
    commandTimeout: 2000,
    ...(secure ? { tls: { ...servername, ...ca } } : {}),
    ...extra,
  });
}

export class RedisStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #redis: CasRedis;
  readonly #prefix: string;
  readonly #maxRetries: number;

  constructor(options: RedisStoreOptions) {
    const redis = createRedisClient(options.url, options.redisOptions, options.tlsCaFile) as CasRedis;
    const logger = options.logger;
    // Only the message: an error object could carry the URL, and REDIS_URL may hold a password.
    redis.on('error', (err: Error) => { logger?.warn({ redisError: err.message.replace(/\/\/[^@/]*@/g, '//[redacted]@') }, 'redis connection error'); });
    redis.defineCommand('casSession', { numberOfKeys: 1, lua: CAS_SCRIPT });
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#maxRetries = options.maxRetries ?? 25;
  }

  /** The client, for other shared-state users (throttling) and tests. */
  get client(): Redis {
    return this.#redis;
  }

  key(id: string): string {
    return this.#prefix + id;
  }

  async load(id: string): Promise<SessionData | null> {
    const raw = await this.#redis.getBuffer(this.key(id));
    if (raw === null) return null;
    const session = decodeSession(raw);
    const data: SessionData = new Map();
    for (const [name, value] of session.entries()) data.set(name, toPlain(value));
    return data;
  }

  async commit(id: string, changes: SessionChanges, ttlSeconds: number, base?: SessionBase): Promise<void> {
    const key = this.key(id);
    const copyFrom = base === undefined || base === 'new' ? undefined : base.copyFrom;
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      // An id made by this request cannot be stored yet: skip the read (the write still checks it is absent).
      const current = attempt === 0 && base === 'new' ? null : await this.#redis.getBuffer(key);
      // A regenerated id starts from the old session's exact bytes, so keys nobody changed move untouched.
      const start = current ?? (copyFrom === undefined ? null : await this.#redis.getBuffer(this.key(copyFrom)));
      const session = decodeSession(start ?? Buffer.alloc(0));
      for (const [name, value] of changes) {
        if (value === DELETE) session.delete(name);
        else session.set(name, fromPlain(value));
      }
      const next = session.encode();
      const expected = current === null ? '' : createHash('sha1').update(current).digest('hex');
      // A new id's first write only needs "store if absent": plain SET NX, without running the script (Redis
      // shares the app's core under load). Otherwise the compare-and-set script.
      const stored = attempt === 0 && base === 'new'
        ? (await this.#redis.set(key, next, 'EX', ttlSeconds, 'NX')) === 'OK'
        : (await this.#redis.casSession(key, expected, next, ttlSeconds)) === 1;
      if (stored) return;
      // Someone else wrote in between: back off a little (jittered) and re-apply on top of their write.
      // eslint-disable-next-line @microsoft/sdl/no-insecure-random -- retry jitter, not a secret
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
    }
    throw new SessionConflictError();
  }

  async touch(id: string, ttlSeconds: number): Promise<void> {
    await this.#redis.expire(this.key(id), ttlSeconds);
  }

  async destroy(id: string): Promise<void> {
    await this.#redis.del(this.key(id));
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => undefined);
  }
}
