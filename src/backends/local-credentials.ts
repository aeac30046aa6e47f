/**
 * The embedded credential backend: users in the SQLite store (sqlite-store.ts), for running lpa-front
 * without the LPA API. It behaves like the API where that matters for security:
 *
 * - Passwords are hashed with scrypt (memory-hard; N = 2^15, r = 8, p = 1 by default, 32 MiB per hash),
 *   a 16-byte random salt, and the parameters written into the hash (`scrypt$ln=15,r=8,p=1$salt$key`) so
 *   they can be raised later: a hash made with weaker parameters is replaced at the next sign-in.
 *   Comparison is constant-time (timingSafeEqual).
 * - An unknown email still costs one scrypt (against a dummy hash made at start), so a wrong password and an
 *   unknown user take the same time.
 * - 5 consecutive failures lock the email for 15 minutes (the API's MAX_ALLOWED_LOGIN_ATTEMPTS and
 *   ACCOUNT_LOCK_TIME). The counter is kept per email whether or not an account exists, so "locked" does
 *   not reveal that an account exists either. It resets on success or when the lock runs out. Each failure is
 *   counted by one atomic UPDATE … RETURNING, so concurrent wrong passwords lock at the 5th as serial ones do.
 * - Tokens are 32 random bytes (base64url, 43 characters like the API's base62 ones), stored only as their
 * SHA-256, expiring TOKEN_LIFETIME_SECONDS after the last refresh (sliding, like the API; LOCAL_TOKEN_LIFETIME_SECONDS
 *   changes it for this backend only). Sign-out deletes the token (`revoke`): it stops working at once.
 *
 * node:sqlite is synchronous: every statement touches one row; the slow part (scrypt) runs on libuv's pool.
 */
import { hash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Migration } from './sqlite-store.ts';
import { columnNumber, columnText } from './sqlite-store.ts';
import type { AuthenticateResult, CredentialBackend, PersonName, RefreshResult, UserDetails } from './credentials.ts';
import { LOCK_SECONDS, MAX_FAILED_ATTEMPTS, TOKEN_LIFETIME_SECONDS, normaliseEmail } from './credentials.ts';

// ---------------------------------------------------------------------------------------------------------
// Password hashing

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/** OWASP's scrypt minimum is N=2^17 with r=8 (128 MiB); 2^15 keeps a sign-in near 100 ms on one core. */
export const DEFAULT_SCRYPT: ScryptParams = { log2N: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const HASH_PATTERN = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{32,128})$/;

/**
 * Hashes run one at a time per process, in arrival order. Each holds 128 x N x r bytes (32 MiB by default) while it
 * runs, and libuv would run four at once: 128 MiB on top of a worker's ~140 MiB, for no more hashes per second when
 * a worker has a core to itself (the CPU is the limit). One at a time, a burst of sign-ins waits in line instead
 * (ADR 0032, amended).
 */
const hashLine = { limit: 1, running: 0, waiting: [] as (() => void)[] };

/** How many hashes may run at once in this process (config PASSWORD_HASH_CONCURRENCY, set once at start-up). */
export function setPasswordHashConcurrency(limit: number): void {
  hashLine.limit = Math.max(1, limit);
  while (hashLine.running < hashLine.limit && hashLine.waiting.length > 0) {
    hashLine.running++;
    hashLine.waiting.shift()?.();
  }
}

async function scrypt(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  if (hashLine.running < hashLine.limit) hashLine.running++;
  else await new Promise<void>((resolve) => hashLine.waiting.push(resolve)); // its place is handed over on release
  try {
    return await scryptNow(password, salt, params, keyLength);
  } finally {
    const next = hashLine.waiting.shift();
    if (next === undefined) hashLine.running--;
    else next();
  }
}

function scryptNow(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const N = 2 ** params.log2N;
  return new Promise((resolve, reject) => {
    scryptCallback(
      password.normalize('NFC'),
      salt,
      keyLength,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r * params.p },
      (err, key) => {
        if (err !== null) reject(err);
        else resolve(key);
      },
    );
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, params, KEY_BYTES);
  return `scrypt$ln=${String(params.log2N)},r=${String(params.r)},p=${String(params.p)}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** Parses a stored hash; null for anything malformed or with parameters outside sane bounds. */
export function parseHash(encoded: string): ParsedHash | null {
  const m = HASH_PATTERN.exec(encoded);
  if (m === null) return null;
  const params = { log2N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.log2N < 10 || params.log2N > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16)
    return null;
  return { params, salt: Buffer.from(m[4] ?? '', 'base64url'), key: Buffer.from(m[5] ?? '', 'base64url') };
}

/** Verifies in constant time. A malformed hash verifies nothing (but still costs the time of `fallback`). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (parsed === null) return false;
  const key = await scrypt(password, parsed.salt, parsed.params, parsed.key.length);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** True when the hash was made with weaker parameters than `params` (rehash at the next sign-in). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parseHash(encoded);
  if (parsed === null) return true;
  return (
    parsed.params.log2N < params.log2N ||
    parsed.params.r < params.r ||
    parsed.params.p < params.p ||
    parsed.key.length < KEY_BYTES
  );
}

// ---------------------------------------------------------------------------------------------------------
// Password policy (used by `npm run user:add`)

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** Why a password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email: string): string | null {
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH) return `must be at least ${String(MIN_PASSWORD_LENGTH)} characters long`;
  if (length > MAX_PASSWORD_LENGTH) return `must be at most ${String(MAX_PASSWORD_LENGTH)} characters long`;
  const lower = password.toLowerCase();
  const e = normaliseEmail(email);
  const local = e.split('@', 1)[0] ?? '';
  if (lower === e || lower.includes(e) || (local.length >= 4 && lower.includes(local)))
    return 'must not contain the email address';
  if (new Set(password).size < 5) return 'must not be made of so few different characters';
  if (/^(.+?)\1+$/.test(password)) return 'must not be one short sequence repeated';
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Storage

export const LOCAL_CREDENTIALS_MIGRATIONS: readonly Migration[] = [
  {
    name: 'users-001-create',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        title TEXT,
        first_name TEXT,
        last_name TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_login_at INTEGER
      );
      CREATE TABLE auth_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX auth_tokens_user ON auth_tokens (user_id);
      CREATE INDEX auth_tokens_expiry ON auth_tokens (expires_at);
      CREATE TABLE login_failures (
        email_key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX login_failures_updated ON login_failures (updated_at);
    `,
  },
];

export interface LocalCredentialsOptions {
  /** The store's connection; called at first use, so an app that never signs anyone in opens nothing. */
  readonly db: () => DatabaseSync;
  readonly scrypt?: ScryptParams;
  readonly now?: () => number;
  /** Idle token lifetime (sliding); default TOKEN_LIFETIME_SECONDS, the API's. */
  readonly tokenLifetimeSeconds?: number;
}

export interface NewUser {
  readonly email: string;
  readonly password: string;
  readonly name: PersonName | null;
  readonly active?: boolean;
}

export interface LocalCredentials extends CredentialBackend {
  readonly kind: 'local';
  /** Adds a user; throws UserExistsError when the email is taken. Returns the new user id. */
  addUser(user: NewUser): Promise<string>;
}

export class UserExistsError extends Error {
  constructor() {
    super('a user with that email address already exists');
    this.name = 'UserExistsError';
  }
}

type Row = Record<string, unknown>;

function sha256(value: string): string {
  return hash('sha256', value, 'hex');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function toName(row: Row): PersonName | null {
  const first = columnText(row, 'first_name');
  const last = columnText(row, 'last_name');
  if (first === null || last === null) return null;
  const title = columnText(row, 'title');
  return title === null || title === '' ? { first, last } : { title, first, last };
}

export function createLocalCredentials(options: LocalCredentialsOptions): LocalCredentials {
  const params = options.scrypt ?? DEFAULT_SCRYPT;
  const now = options.now ?? Date.now;
  const tokenLifetimeMs = (options.tokenLifetimeSeconds ?? TOKEN_LIFETIME_SECONDS) * 1000;
  // One dummy hash with the current parameters, so an unknown email costs exactly one scrypt too.
  const dummyHash = hashPassword(randomBytes(18).toString('base64url'), params);
  let statements: ReturnType<typeof prepare> | undefined;
  let sweepCounter = 0;

  function prepare(db: DatabaseSync) {
    return {
      userByEmail: db.prepare('SELECT id, password_hash, active, last_login_at FROM users WHERE email = ?'),
      userById: db.prepare(
        'SELECT id, email, title, first_name, last_name, created_at, updated_at FROM users WHERE ' + 'id = ?',
      ),
      insertUser: db.prepare(
        'INSERT INTO users (id, email, password_hash, title, first_name, last_name, active, ' +
          'created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      rehash: db.prepare('UPDATE users SET password_hash = ? WHERE id = ?'),
      signedIn: db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?'),
      updateName: db.prepare('UPDATE users SET title = ?, first_name = ?, last_name = ?, updated_at = ? WHERE id = ?'),
      failures: db.prepare('SELECT failures, locked_until FROM login_failures WHERE email_key = ?'),
      // One statement counts the failure and decides the lock, so concurrent failures cannot overwrite each other's
      // count (a read before scrypt and a write after it lost them). A live lock is left as it is; one that ran out
      // starts the count again; the failure that reaches the limit locks and resets the count.
      countFailure: db.prepare(`INSERT INTO login_failures (email_key, failures, locked_until, updated_at)
        VALUES (:key, CASE WHEN 1 >= :max THEN 0 ELSE 1 END, CASE WHEN 1 >= :max THEN :lockUntil END, :at)
        ON CONFLICT (email_key) DO UPDATE SET
          failures = CASE WHEN locked_until > :at THEN failures
            WHEN (CASE WHEN locked_until IS NULL THEN failures ELSE 0 END) + 1 >= :max THEN 0
            ELSE (CASE WHEN locked_until IS NULL THEN failures ELSE 0 END) + 1 END,
          locked_until = CASE WHEN locked_until > :at THEN locked_until
            WHEN (CASE WHEN locked_until IS NULL THEN failures ELSE 0 END) + 1 >= :max THEN :lockUntil
            ELSE NULL END,
          updated_at = :at
        RETURNING failures, locked_until`),
      clearFailures: db.prepare('DELETE FROM login_failures WHERE email_key = ?'),
      sweepFailures: db.prepare(
        'DELETE FROM login_failures WHERE email_key IN (SELECT email_key FROM login_failures ' +
          'WHERE updated_at < ? AND (locked_until IS NULL OR locked_until < ?) LIMIT 500)',
      ),
      insertToken: db.prepare(
        'INSERT INTO auth_tokens (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ' + '?)',
      ),
      token: db.prepare('SELECT user_id, expires_at FROM auth_tokens WHERE token_hash = ?'),
      slideToken: db.prepare('UPDATE auth_tokens SET expires_at = ? WHERE token_hash = ? AND expires_at > ?'),
      revokeToken: db.prepare('DELETE FROM auth_tokens WHERE token_hash = ?'),
      sweepTokens: db.prepare(
        'DELETE FROM auth_tokens WHERE token_hash IN (SELECT token_hash FROM auth_tokens WHERE ' +
          'expires_at < ? LIMIT 500)',
      ),
    } satisfies Record<string, StatementSync>;
  }

  function st(): ReturnType<typeof prepare> {
    statements ??= prepare(options.db());
    return statements;
  }

  /** Deletes old failure counters and expired tokens now and then, a bounded batch at a time. */
  function sweep(at: number): void {
    sweepCounter = (sweepCounter + 1) % 100;
    if (sweepCounter !== 1) return;
    st().sweepFailures.run(at - 24 * 3600 * 1000, at);
    st().sweepTokens.run(at);
  }

  /** The user id for a valid token, or null. */
  function tokenOwner(token: string, at: number): string | null {
    if (token.length === 0 || token.length > 128) return null;
    const row = st().token.get(sha256(token));
    if (row === undefined) return null;
    const expires = columnNumber(row, 'expires_at');
    if (expires === null || expires <= at) return null;
    return columnText(row, 'user_id');
  }

  return {
    kind: 'local',

    async authenticate(email: string, password: string): Promise<AuthenticateResult> {
      const normalised = normaliseEmail(email);
      const emailKey = sha256(normalised);
      const s = st();
      const user: Row | undefined =
        normalised.length > 0 && normalised.length <= 320 ? s.userByEmail.get(normalised) : undefined;
      const lockedAt = (at: number): boolean => {
        const lockedUntil = columnNumber(s.failures.get(emailKey) ?? {}, 'locked_until');
        return lockedUntil !== null && lockedUntil > at;
      };
      const locked = lockedAt(now());

      // Always exactly one scrypt, whatever the outcome will be.
      const storedHash =
        user === undefined ? await dummyHash : (columnText(user, 'password_hash') ?? (await dummyHash));
      const verified = password.length <= 1024 && (await verifyPassword(password, storedHash));
      const at = now();
      sweep(at);

      if (locked) return { ok: false, reason: 'locked' };
      if (!verified || user === undefined) {
        const row = s.countFailure.get({
          key: emailKey,
          max: MAX_FAILED_ATTEMPTS,
          lockUntil: at + LOCK_SECONDS * 1000,
          at,
        });
        const lockedUntil = row === undefined ? null : columnNumber(row, 'locked_until');
        // The API answers `invalid-user-credentials/account-locked` on the attempt that locks.
        return { ok: false, reason: lockedUntil !== null && lockedUntil > at ? 'locked' : 'authentication-failed' };
      }
      // Locked by failures counted while this password was being checked: still locked.
      if (lockedAt(at)) return { ok: false, reason: 'locked' };
      if (columnNumber(user, 'active') !== 1) return { ok: false, reason: 'not-activated' };

      const userId = columnText(user, 'id') ?? '';
      const previous = columnNumber(user, 'last_login_at');
      s.clearFailures.run(emailKey);
      if (needsRehash(storedHash, params)) s.rehash.run(await hashPassword(password, params), userId);
      const token = newToken();
      const expiresAt = at + tokenLifetimeMs;
      s.insertToken.run(sha256(token), userId, expiresAt, at);
      s.signedIn.run(at, userId);
      return {
        ok: true,
        userId,
        token,
        expiresAt: new Date(expiresAt),
        lastLogin: previous === null ? null : new Date(previous),
      };
    },

    refresh(token: string): Promise<RefreshResult> {
      const at = now();
      if (tokenOwner(token, at) === null) return Promise.resolve({ ok: false, reason: 'invalid' });
      const expiresAt = at + tokenLifetimeMs;
      const changed = st().slideToken.run(expiresAt, sha256(token), at).changes;
      return Promise.resolve(
        Number(changed) === 1 ? { ok: true, expiresAt: new Date(expiresAt) } : { ok: false, reason: 'invalid' },
      );
    },

    revoke(token: string): Promise<boolean> {
      if (token.length > 0 && token.length <= 128) st().revokeToken.run(sha256(token));
      return Promise.resolve(true);
    },

    getUser(userId: string, token: string): Promise<UserDetails | null> {
      if (tokenOwner(token, now()) !== userId) return Promise.resolve(null);
      const row = st().userById.get(userId);
      if (row === undefined) return Promise.resolve(null);
      const created = columnNumber(row, 'created_at');
      const updated = columnNumber(row, 'updated_at');
      return Promise.resolve({
        id: userId,
        email: columnText(row, 'email') ?? '',
        name: toName(row),
        createdAt: created === null ? null : new Date(created),
        updatedAt: updated === null ? null : new Date(updated),
      });
    },

    updateName(userId: string, token: string, name: PersonName): Promise<boolean> {
      if (tokenOwner(token, now()) !== userId) return Promise.resolve(false);
      const changed = st().updateName.run(name.title ?? null, name.first, name.last, now(), userId).changes;
      return Promise.resolve(Number(changed) === 1);
    },

    async addUser(user: NewUser): Promise<string> {
      const email = normaliseEmail(user.email);
      if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320) throw new Error('not an email address');
      const hash = await hashPassword(user.password, params);
      const id = randomBytes(16).toString('hex');
      const at = now();
      try {
        st().insertUser.run(
          id,
          email,
          hash,
          user.name?.title ?? null,
          user.name?.first ?? null,
          user.name?.last ?? null,
          user.active === false ? 0 : 1,
          at,
          at,
        );
      } catch (err) {
        if (err instanceof Error && err.message.includes('UNIQUE constraint failed: users.email'))
          throw new UserExistsError();
        throw err;
      }
      return id;
    },

    close: () => Promise.resolve(),
  };
}
