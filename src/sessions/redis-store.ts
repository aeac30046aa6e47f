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
 * A destroyed session stays destroyed (ADR 0021): only an id this request made may create the key; a write to
 * an existing session whose key has gone (signed out here or by the PHP front, or expired) writes nothing.
 * A value the codec cannot decode is treated as no session, as PHP does: logged once (never the value) and
 * deleted if still the same bytes. Every Redis failure (down, hung, READONLY during a failover) surfaces as a
 * `StoreUnavailableError` (503, Retry-After), after at most `commandTimeoutMs` per step (command-deadlines.ts).
 *
 * Values the app reads come out as plain data (`toPlain`): PHP arrays as arrays or null-prototype objects.
 * Values it writes go in through `fromPlain`. Nothing from the store is ever evaluated.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { decodeSession } from './php-session-codec.ts';
import type { PhpSession } from './php-session-codec.ts';
import { PhpSerializeError, fromPlain, toPlain } from './php-serialize.ts';
import type { LoadedSession, SessionBase, SessionChanges, SessionData, SessionStore } from './session-store.ts';
import { DELETE } from './session-store.ts';
import { StoreUnavailableError } from './store-unavailable.ts';
import { CommandDeadlines } from './command-deadlines.ts';
import type { Bound } from './command-deadlines.ts';

// ARGV: expected SHA-1 ('' = the key must be absent), value, TTL, 'create' when this request made the id.
// 1 stored; 0 changed since read (retry); -1 the key is absent and may not be created (XX: a destroyed session
// stays destroyed, whoever destroyed it).
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == false then
  if ARGV[1] ~= '' or ARGV[4] ~= 'create' then return -1 end
elseif ARGV[1] == '' or redis.sha1hex(cur) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`;

// Deletes the key only if it still holds the bytes read (an undecodable value), never a newer valid write.
const DELETE_IF_SAME_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur ~= false and redis.sha1hex(cur) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type CasRedis = Redis & {
  casSession(
    key: string,
    expectedSha1: string,
    value: Buffer,
    ttl: number,
    mode: 'create' | 'existing',
  ): Promise<number>;
  deleteIfSame(key: string, sha1: string): Promise<number>;
};

/** Per-command bound: far below nginx's 30 s proxy_read_timeout, short enough that a user sees the 503 page. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

/** How long close() waits for QUIT's reply before dropping the connection (a healthy server answers in ms). */
export const QUIT_BOUND_MS = 1000;

export interface RedisStoreOptions {
  readonly url: URL;
  readonly prefix: string;
  /** Conflicting concurrent commits to retry before giving up. */
  readonly maxRetries?: number;
  readonly redisOptions?: RedisOptions;
  /** Each Redis command fails after this long (a hung server); a whole commit after three times it. */
  readonly commandTimeoutMs?: number;
  /** PEM file of the CA(s) that sign the server's certificate (rediss:// only); unset: Node's trust store. */
  readonly tlsCaFile?: string;
  /** Where connection errors go (ioredis otherwise prints them to the console). */
  readonly logger?: { warn(obj: object, msg: string): void };
}

/** Too many concurrent writers kept changing the session: the request is answered 503, try again. */
export class SessionConflictError extends StoreUnavailableError {
  constructor() {
    super('session changed concurrently too many times', { retryAfterSeconds: 1 });
    this.name = 'SessionConflictError';
  }
}

function plainData(session: PhpSession): SessionData {
  const data: SessionData = new Map();
  for (const [name, value] of session.entries()) data.set(name, toPlain(value));
  return data;
}

function sha1(bytes: Buffer): string {
  return hash('sha1', bytes, 'hex');
}

/** A Redis error's message without credentials (an error can carry the URL, and REDIS_URL may hold a password). */
export function redactRedisMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\/\/[^@/]*@/g, '//[redacted]@');
}

/**
 * READONLY: the connection reaches a primary that was demoted in a failover (the address moves a few seconds
 * later). Reconnecting makes the next command go to whatever the address points at now; this command fails.
 */
export function reconnectOnReadOnly(err: Error): boolean {
  return err.message.startsWith('READONLY');
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
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- an operator's setting, never request data
  const ca = tlsCaFile === undefined ? {} : { ca: readFileSync(tlsCaFile) };
  return new Redis(url.toString(), {
    lazyConnect: false,
    // Commands issued in the same tick (many requests at once) go out in one write: the form GET spent 17% of
    // its CPU in one socket write per command (docs/adr/0006). Order per connection is unchanged.
    enableAutoPipelining: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 2,
    connectTimeout: DEFAULT_COMMAND_TIMEOUT_MS,
    commandTimeout: DEFAULT_COMMAND_TIMEOUT_MS,
    reconnectOnError: reconnectOnReadOnly,
    ...(secure ? { tls: { ...servername, ...ca } } : {}),
    ...extra,
  });
}

export class RedisStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #redis: CasRedis;
  readonly #prefix: string;
  readonly #maxRetries: number;
  readonly #commitBudgetMs: number;
  readonly #logger: RedisStoreOptions['logger'];
  readonly #deadlines: CommandDeadlines;
  readonly #pauseMs = 1000;
  #failFastUntil = 0;
  /** The server does not know GETEX (Redis before 6.2): read with GET and slide with EXPIRE, as before. */
  #noGetex = false;

  constructor(options: RedisStoreOptions) {
    const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    // No ioredis commandTimeout (a timer per command): every call on this connection is bounded by #deadlines, the
    // session store's own calls in #call and the other stores' through `bound` (command-deadlines.ts).
    const redis = createRedisClient(
      options.url,
      { connectTimeout: commandTimeout, ...options.redisOptions, commandTimeout: undefined },
      options.tlsCaFile,
    ) as CasRedis;
    this.#deadlines = new CommandDeadlines(commandTimeout);
    const logger = options.logger;
    redis.on('error', (err: Error) => {
      logger?.warn({ redisError: redactRedisMessage(err) }, 'redis connection error');
    });
    redis.defineCommand('casSession', { numberOfKeys: 1, lua: CAS_SCRIPT });
    redis.defineCommand('deleteIfSame', { numberOfKeys: 1, lua: DELETE_IF_SAME_SCRIPT });
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#maxRetries = options.maxRetries ?? 25;
    this.#commitBudgetMs = 3 * commandTimeout;
    this.#logger = logger;
  }

  /** The client, for other shared-state users (throttling) and tests. Its commands have no bound of their own. */
  get client(): Redis {
    return this.#redis;
  }

  /** The bound every call on `client` must go through: the store's command timeout. */
  get bound(): Bound {
    return this.#deadlines.bound;
  }

  key(id: string): string {
    return this.#prefix + id;
  }

  /**
   * Runs one Redis call; any failure becomes a StoreUnavailableError whose message names the step only. After an
   * outage (a timeout or no connection, not a server's error reply such as READONLY) calls fail at once for
   * `#pauseMs`, then one gets through to probe: a dead or hung store costs each request nothing, not 2 s.
   */
  async #call<T>(step: string, run: () => Promise<T>): Promise<T> {
    if (Date.now() < this.#failFastUntil)
      throw new StoreUnavailableError(`session store ${step} skipped: store failing`);
    try {
      return await this.#deadlines.bound(run());
    } catch (err) {
      if (!(err instanceof Error && err.name === 'ReplyError')) this.#failFastUntil = Date.now() + this.#pauseMs;
      throw new StoreUnavailableError(`session store ${step} failed: ${redactRedisMessage(err)}`);
    }
  }

  /**
   * The session in these bytes, or null when they cannot be decoded: PHP destroys such a session and goes on, so
   * do we. Logged once per value found, without the value (only its size and where decoding stopped).
   */
  async #decodeOrDiscard(key: string, raw: Buffer): Promise<PhpSession | null> {
    try {
      return decodeSession(raw);
    } catch (err) {
      if (!(err instanceof PhpSerializeError)) throw err;
      this.#logger?.warn(
        { event: 'session.undecodable', bytes: raw.length, offset: err.offset },
        'session value cannot be decoded: treated as no session and deleted',
      );
      await this.#call('delete undecodable', () => this.#redis.deleteIfSame(key, sha1(raw))).catch(() => undefined);
      return null;
    }
  }

  async #loadRaw(id: string): Promise<PhpSession | null> {
    const key = this.key(id);
    const raw = await this.#call('read', () => this.#redis.getBuffer(key));
    return raw === null ? null : this.#decodeOrDiscard(key, raw);
  }

  async load(id: string): Promise<SessionData | null> {
    const session = await this.#loadRaw(id);
    return session === null ? null : plainData(session);
  }

  /**
   * GETEX: the read and the idle slide in one command. Redis refuses it as a write while a demoted primary answers
   * READONLY (a failover), and a Redis before 6.2 does not know it: then a plain GET, and the caller slides later
   * (which a READONLY store refuses too, costing the page nothing, ADR 0021).
   */
  async loadAndSlide(id: string, ttlSeconds: number): Promise<LoadedSession> {
    const key = this.key(id);
    const read = await this.#call('read', async () => {
      if (!this.#noGetex) {
        try {
          return { raw: await this.#redis.getexBuffer(key, 'EX', ttlSeconds), slid: true };
        } catch (err) {
          if (!(err instanceof Error && err.name === 'ReplyError')) throw err;
          if (err.message.startsWith('ERR unknown command')) this.#noGetex = true;
        }
      }
      return { raw: await this.#redis.getBuffer(key), slid: false };
    });
    const session = read.raw === null ? null : await this.#decodeOrDiscard(key, read.raw);
    if (session === null || read.raw === null) return { data: null, slid: read.slid };
    return { data: plainData(session), slid: read.slid, seen: read.raw };
  }

  async commit(
    id: string,
    changes: SessionChanges,
    ttlSeconds: number,
    base?: SessionBase,
    seen?: Buffer,
  ): Promise<boolean> {
    const key = this.key(id);
    const copyFrom = base === undefined || base === 'new' ? undefined : base.copyFrom;
    // Only an id made by this request (new, or regenerated from copyFrom) may create the key.
    const mode = base === undefined ? 'existing' : 'create';
    const deadline = Date.now() + this.#commitBudgetMs;
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      if (attempt > 0 && Date.now() > deadline) throw new StoreUnavailableError('session store commit took too long');
      // An id made by this request cannot be stored yet: skip the read (the write still checks it is absent). An
      // existing session's first try starts from the bytes the request loaded: the script writes only if they are
      // still the stored ones, so a write in between is never lost, only read on the next try.
      const optimistic = attempt === 0 && base === undefined && seen !== undefined;
      const current = optimistic
        ? seen
        : attempt === 0 && base === 'new'
          ? null
          : await this.#call('read', () => this.#redis.getBuffer(key));
      const decoded = current === null ? null : await this.#decodeOrDiscard(key, current);
      // Destroyed or expired since it was loaded, or undecodable (now deleted): no session, nothing written.
      if (decoded === null && mode === 'existing') return false;
      if (current !== null && decoded === null) continue; // a new id holding junk (deleted): read again
      // A regenerated id starts from the old session's exact bytes, so keys nobody changed move untouched.
      const session =
        decoded ?? (copyFrom === undefined ? null : await this.#loadRaw(copyFrom)) ?? decodeSession(Buffer.alloc(0));
      for (const [name, value] of changes) {
        if (value === DELETE) session.delete(name);
        else session.set(name, fromPlain(value));
      }
      const next = session.encode();
      // A new id's first write only needs "store if absent": plain SET NX, without running the script (Redis
      // shares the app's core under load). Otherwise the compare-and-set script.
      const stored =
        attempt === 0 && base === 'new'
          ? (await this.#call('create', () => this.#redis.set(key, next, 'EX', ttlSeconds, 'NX'))) === 'OK'
            ? 1
            : 0
          : await this.#call('write', () =>
              this.#redis.casSession(key, current === null ? '' : sha1(current), next, ttlSeconds, mode),
            );
      if (stored === 1) return true;
      if (stored === -1 && mode === 'existing') return false;
      // Changed since the request loaded it (not contention): read it now and re-apply at once.
      if (optimistic) continue;
      // Someone else wrote in between: back off a little (jittered) and re-apply on top of their write.
      // eslint-disable-next-line @microsoft/sdl/no-insecure-random -- retry jitter, not a secret
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * (attempt + 1)));
    }
    throw new SessionConflictError();
  }

  async touch(id: string, ttlSeconds: number): Promise<void> {
    await this.#call('touch', () => this.#redis.expire(this.key(id), ttlSeconds));
  }

  async destroy(id: string): Promise<void> {
    await this.#call('destroy', () => this.#redis.del(this.key(id)));
  }

  async ping(): Promise<void> {
    await this.#call('ping', () => this.#redis.ping());
  }

  /**
   * QUIT (pending replies first), bounded: a hung server never answers it, and while reconnecting with commands
   * queued it waits in the offline queue and leaves the client reconnecting for ever. Then always disconnect():
   * it cancels any reconnect, so no connection attempt follows close (a leaked client kept a test run alive).
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, QUIT_BOUND_MS);
    });
    try {
      await Promise.race([this.#redis.quit().catch(() => undefined), bound]);
    } finally {
      clearTimeout(timer);
      this.#deadlines.close();
      this.#redis.disconnect();
    }
  }
}
