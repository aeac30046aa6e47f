/**
 * The session store contract. Implementations: memory-store.ts (embedded default) and redis-store.ts
 * (shared with the PHP front, PHP `php` serialization).
 *
 * A session is an ordered map of top-level keys, exactly like PHP's $_SESSION. Writers never replace
 * the whole session: they commit only the keys they changed, applied on top of what is stored at that
 * moment, so two concurrent requests cannot lose each other's updates (the race in the PHP front's
 * ADR 0002 that lost CSRF tokens).
 *
 * Values are plain data: string, number, bigint, boolean, null, arrays and null-prototype objects. A PHP float
 * read from the Redis store is a `PhpFloat` (it keeps its exact text), so read numbers with `sessionNumber`.
 * A store may keep values it does not understand in an opaque form; the app never evaluates them.
 */
import { PhpFloat } from './php-serialize.ts';

export const DELETE: unique symbol = Symbol('session.delete');
export type SessionValue = unknown;
/** Changed keys: the new value, or DELETE to remove the key. */
export type SessionChanges = ReadonlyMap<string, SessionValue>;
export type SessionData = Map<string, SessionValue>;
/**
 * A finite number kept in the session, however the store returns it: a JS number (memory store, or a PHP int
 * from Redis) or a `PhpFloat` (a PHP float from Redis, such as the PHP front's `microtime(true)`); otherwise
 * undefined.
 */
export function sessionNumber(value: SessionValue): number | undefined {
  const n = value instanceof PhpFloat ? value.value : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

export interface LoadedSession {
  readonly data: SessionData | null;
  readonly slid: boolean;
  /**
   * The stored bytes `data` was decoded from (Redis): handed back to `commit`, which then compare-and-sets against
   * them without reading the session again (one round trip to write, not two). Opaque to everything else.
   */
  readonly seen?: Buffer;
}

export type SessionBase = { readonly copyFrom: string } | 'new';

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** The session's keys, or null when there is no such (unexpired) session. */
  load(id: string): Promise<SessionData | null>;
  /**
   * `load` that also slides the idle TTL in the same step (Redis GETEX: one command where a read and a later
   * `touch` were two round trips, ADR 0038). `slid` is false when the store read without sliding (a Redis that
   * refuses writes just now, as a demoted primary does during a failover): the caller then slides with `touch`.
   */
  loadAndSlide?(id: string, ttlSeconds: number): Promise<LoadedSession>;
  /**
   * Applies the changed keys on top of the stored session, and sets its idle TTL. Resolves true when written.
   * `base`: `{ copyFrom }` (a regenerated id) starts the new session as an exact copy of that one, so keys this
   * app never touched keep their stored bytes; `'new'` says the id was just made here, so nothing can be stored
   * under it yet (the Redis store then skips its read). Only these two may create the session: without a base
   * the session must still exist, and when it has gone (destroyed by a sign-out here or in the PHP front, or
   * expired, since this request loaded it) nothing is written and it resolves false. A destroyed session stays
   * destroyed (ADR 0021).
   * `seen` (an existing session only): the bytes this request loaded (`LoadedSession.seen`). The store may write
   * on top of them without reading first, if they are still what is stored; if not, it reads and applies the
   * changes on top of what is there, as without them.
   * Rejects with a StoreUnavailableError (store-unavailable.ts) when the store cannot be reached in time.
   */
  commit(id: string, changes: SessionChanges, ttlSeconds: number, base?: SessionBase, seen?: Buffer): Promise<boolean>;
  /** Slides the idle TTL without changing data (never creates the session). */
  touch(id: string, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Resolves when the store is reachable; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Well-known top-level session keys shared with the PHP front. */
export const SESSION_KEYS = {
  /** The PHP front's CSRF token (mezzio-csrf's default key): one token per session, shared by both sites. */
  csrf: '__csrf',
  /** The signed-in identity: {userId, token, tokenExpiresAt, lastLogin, sharedSpaceId}. */
  identity: 'identity',
} as const;
