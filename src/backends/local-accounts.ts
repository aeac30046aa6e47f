/**
 * The embedded accounts backend, on the same users as local-credentials.ts (same SQLite store, its own
 * migrations after LOCAL_CREDENTIALS_MIGRATIONS).
 *
 * Tokens (activation, password reset, email change) are 32 random bytes sent to the user and stored only as
 * their SHA-256: the database never holds a usable token. A token is looked up by its hash and consumed by the
 * same statement (`DELETE … RETURNING`), so it works once even under concurrent use; it expires after
 * ACCOUNT_TOKEN_LIFETIME_SECONDS (24 h); the stored and computed hashes are compared with timingSafeEqual.
 * A new token of a purpose replaces the user's older ones. A password reset or change ends every sign-in of the
 * user (their auth_tokens rows); deletion removes the user, whose tokens and LPAs go by ON DELETE CASCADE.
 *
 * Differences from the API, on purpose: the API keeps an inactive account's activation token and returns it on
 * every reset request; here only its hash is kept, so a reset request for an inactive account issues a new one.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Migration } from './sqlite-store.ts';
import { columnNumber, columnText } from './sqlite-store.ts';
import {
  LOCAL_CREDENTIALS_MIGRATIONS,
  DEFAULT_SCRYPT,
  hashPassword,
  newToken,
  passwordProblem,
  verifyPassword,
} from './local-credentials.ts';
import type { ScryptParams } from './local-credentials.ts';
import { TOKEN_LIFETIME_SECONDS, normaliseEmail } from './credentials.ts';
import type { PersonName } from './credentials.ts';
import { ACCOUNT_TOKEN_LIFETIME_SECONDS, searchFilter } from './accounts.ts';
import type { AccountDetails, AccountsBackend, LpaSummary } from './accounts.ts';

export const LOCAL_ACCOUNTS_MIGRATIONS: readonly Migration[] = [
  ...LOCAL_CREDENTIALS_MIGRATIONS,
  {
    name: 'accounts-001-tokens-details-lpas',
    sql: `
      ALTER TABLE users ADD COLUMN dob TEXT;
      ALTER TABLE users ADD COLUMN address1 TEXT;
      ALTER TABLE users ADD COLUMN address2 TEXT;
      ALTER TABLE users ADD COLUMN address3 TEXT;
      ALTER TABLE users ADD COLUMN postcode TEXT;
      CREATE TABLE account_tokens (
        token_hash TEXT PRIMARY KEY,
        purpose TEXT NOT NULL CHECK (purpose IN ('activate', 'reset', 'email')),
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        new_email TEXT,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
      CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);
      CREATE TABLE lpas (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        type TEXT CHECK (type IN ('property-and-financial', 'health-and-welfare')),
        donor_name TEXT,
        started_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        completed_at INTEGER
      );
      CREATE INDEX lpas_user_updated ON lpas (user_id, updated_at DESC, id DESC);
    `,
  },
  {
    // What the dashboard shows of an LPA besides its donor and dates (service-front Application::fetchLpaSummaries).
    name: 'accounts-002-lpa-progress',
    sql: `
      ALTER TABLE lpas ADD COLUMN created_at INTEGER;
      ALTER TABLE lpas ADD COLUMN reusable INTEGER NOT NULL DEFAULT 0 CHECK (reusable IN (0, 1));
      ALTER TABLE lpas ADD COLUMN processing_status TEXT;
    `,
  },
];

type Purpose = 'activate' | 'reset' | 'email';
type Row = Record<string, unknown>;

function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const DOB = /^\d{4}-\d\d-\d\d$/;

export interface LocalAccountsOptions {
  readonly db: () => DatabaseSync;
  readonly scrypt?: ScryptParams;
  readonly now?: () => number;
  readonly tokenLifetimeSeconds?: number;
}

export interface NewLpa {
  readonly type: 'property-and-financial' | 'health-and-welfare' | null;
  readonly donorName: string | null;
  readonly updatedAt: number;
  readonly createdAt?: number;
  readonly completedAt?: number;
  readonly reusable?: boolean;
  readonly processingStatus?: string;
}

export interface LocalAccounts extends AccountsBackend {
  readonly kind: 'local';
  /** Adds LPAs to a user (the seed script; the LPA pages are not built yet). Returns their ids. */
  addLpas(userId: string, lpas: readonly NewLpa[]): number[];
}

export function createLocalAccounts(options: LocalAccountsOptions): LocalAccounts {
  const params = options.scrypt ?? DEFAULT_SCRYPT;
  const now = options.now ?? Date.now;
  const authLifetimeMs = (options.tokenLifetimeSeconds ?? TOKEN_LIFETIME_SECONDS) * 1000;
  let statements: ReturnType<typeof prepare> | undefined;
  // Expired tokens are deleted now and then (every 100th token issued), a bounded batch at a time.
  let sweepCounter = 0;

  function prepare(db: DatabaseSync) {
    return {
      db,
      userByEmail: db.prepare('SELECT id, active FROM users WHERE email = ?'),
      user: db.prepare('SELECT * FROM users WHERE id = ?'),
      insertUser: db.prepare(
        'INSERT INTO users (id, email, password_hash, active, created_at, updated_at) VALUES (?, ' +
          '?, ?, 0, ?, ?) ON CONFLICT (email) DO NOTHING',
      ),
      activate: db.prepare('UPDATE users SET active = 1, updated_at = ? WHERE id = ?'),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?'),
      setEmail: db.prepare('UPDATE users SET email = ?, updated_at = ? WHERE id = ?'),
      setDetails: db.prepare(
        'UPDATE users SET title = ?, first_name = ?, last_name = ?, dob = ?, address1 = ?, ' +
          'address2 = ?, address3 = ?, postcode = ?, updated_at = ? WHERE id = ?',
      ),
      deleteUser: db.prepare('DELETE FROM users WHERE id = ?'),
      authOwner: db.prepare('SELECT user_id, expires_at FROM auth_tokens WHERE token_hash = ?'),
      endSignIns: db.prepare('DELETE FROM auth_tokens WHERE user_id = ?'),
      insertAuth: db.prepare(
        'INSERT INTO auth_tokens (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ' + '?)',
      ),
      dropTokens: db.prepare('DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?'),
      insertToken: db.prepare(
        'INSERT INTO account_tokens (token_hash, purpose, user_id, new_email, expires_at, ' +
          'created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      peek: db.prepare('SELECT user_id FROM account_tokens WHERE token_hash = ? AND purpose = ?'),
      consume: db.prepare(
        'DELETE FROM account_tokens WHERE token_hash = ? AND purpose = ? RETURNING token_hash, ' +
          'user_id, new_email, expires_at',
      ),
      sweep: db.prepare(
        'DELETE FROM account_tokens WHERE token_hash IN (SELECT token_hash FROM account_tokens ' +
          'WHERE expires_at < ? LIMIT 500)',
      ),
      insertLpa: db.prepare(
        'INSERT INTO lpas (user_id, type, donor_name, started_at, updated_at, created_at, ' +
          'completed_at, reusable, processing_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      countAll: db.prepare('SELECT COUNT(*) AS total FROM lpas WHERE user_id = ?'),
      pageAll: db.prepare('SELECT * FROM lpas WHERE user_id = ? ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?'),
      countId: db.prepare('SELECT COUNT(*) AS total FROM lpas WHERE user_id = ? AND id = ?'),
      pageId: db.prepare('SELECT * FROM lpas WHERE user_id = ? AND id = ? LIMIT ? OFFSET ?'),
      // instr on lower(): a literal substring match (no LIKE wildcards to escape), as the API's name search.
      countName: db.prepare(
        'SELECT COUNT(*) AS total FROM lpas WHERE user_id = ? AND instr(lower(donor_name), ' + 'lower(?)) > 0',
      ),
      pageName: db.prepare(
        'SELECT * FROM lpas WHERE user_id = ? AND instr(lower(donor_name), lower(?)) > 0 ORDER BY ' +
          'updated_at DESC, id DESC LIMIT ? OFFSET ?',
      ),
    } satisfies Record<string, StatementSync | DatabaseSync>;
  }

  function st(): ReturnType<typeof prepare> {
    statements ??= prepare(options.db());
    return statements;
  }

  function inTransaction<T>(fn: () => T): T {
    const { db } = st();
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }

  /** True when `authToken` is a live sign-in of `userId`. */
  function signedIn(userId: string, authToken: string): boolean {
    if (authToken.length === 0 || authToken.length > 128) return false;
    const row = st().authOwner.get(sha256(authToken).toString('hex'));
    const expires = columnNumber(row, 'expires_at');
    return columnText(row, 'user_id') === userId && expires !== null && expires > now();
  }

  function issue(purpose: Purpose, userId: string, newEmail: string | null): { token: string; expiresAt: Date } {
    const token = newToken();
    const at = now();
    const expiresAt = at + ACCOUNT_TOKEN_LIFETIME_SECONDS * 1000;
    inTransaction(() => {
      st().dropTokens.run(userId, purpose);
      st().insertToken.run(sha256(token).toString('hex'), purpose, userId, newEmail, expiresAt, at);
    });
    sweepCounter = (sweepCounter + 1) % 100;
    if (sweepCounter === 1) st().sweep.run(at);
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Consumes a token (at most once, whatever the outcome); its owner and new email when it was live. */
  function consume(purpose: Purpose, token: string): { userId: string; newEmail: string | null } | null {
    if (token.length < 16 || token.length > 256) return null;
    const hash = sha256(token);
    const row = st().consume.get(hash.toString('hex'), purpose);
    const stored = columnText(row, 'token_hash');
    const userId = columnText(row, 'user_id');
    const expires = columnNumber(row, 'expires_at');
    if (stored === null || userId === null || expires === null) return null;
    // Defence in depth: the row found must be this token's hash, compared without early exit.
    const storedBytes = Buffer.from(stored, 'hex');
    if (storedBytes.length !== hash.length || !timingSafeEqual(storedBytes, hash)) return null;
    if (expires <= now()) return null;
    return { userId, newEmail: columnText(row, 'new_email') };
  }

  function newSignIn(userId: string): { token: string; expiresAt: Date } {
    const token = newToken();
    const at = now();
    st().insertAuth.run(sha256(token).toString('hex'), userId, at + authLifetimeMs, at);
    return { token, expiresAt: new Date(at + authLifetimeMs) };
  }

  function toLpa(row: Row): LpaSummary {
    const type = columnText(row, 'type');
    const updated = columnNumber(row, 'updated_at');
    const completed = columnNumber(row, 'completed_at');
    const created = columnNumber(row, 'created_at');
    return {
      id: columnNumber(row, 'id') ?? 0,
      type: type === 'property-and-financial' || type === 'health-and-welfare' ? type : null,
      donorName: columnText(row, 'donor_name'),
      updatedAt: updated === null ? null : new Date(updated),
      createdAt: created === null ? null : new Date(created),
      completedAt: completed === null ? null : new Date(completed),
      reusable: columnNumber(row, 'reusable') === 1,
      processingStatus: columnText(row, 'processing_status'),
    };
  }

  return {
    kind: 'local',

    async register(email, password) {
      const normalised = normaliseEmail(email);
      if (!EMAIL.test(normalised) || normalised.length > 320) return { outcome: 'invalid-email' };
      if (passwordProblem(password, normalised) !== null) return { outcome: 'invalid-password' };
      // Hashed whether or not the address is taken, so both cost the same here.
      const hash = await hashPassword(password, params);
      const id = randomBytes(16).toString('hex');
      const at = now();
      if (Number(st().insertUser.run(id, normalised, hash, at, at).changes) !== 1) return { outcome: 'exists' };
      return { outcome: 'created', userId: id, activationToken: issue('activate', id, null).token };
    },

    activate(activationToken) {
      const owner = consume('activate', activationToken);
      if (owner === null) return Promise.resolve('invalid-token');
      st().activate.run(now(), owner.userId);
      return Promise.resolve('activated');
    },

    requestPasswordReset(email) {
      const normalised = normaliseEmail(email);
      const user = normalised.length <= 320 ? st().userByEmail.get(normalised) : undefined;
      const userId = columnText(user, 'id');
      if (userId === null) return Promise.resolve({ outcome: 'unknown' });
      if (columnNumber(user, 'active') !== 1)
        return Promise.resolve({ outcome: 'not-activated', activationToken: issue('activate', userId, null).token });
      const { token, expiresAt } = issue('reset', userId, null);
      return Promise.resolve({ outcome: 'reset', token, expiresAt });
    },

    async resetPassword(passwordToken, newPassword) {
      if (passwordToken.length < 16 || passwordToken.length > 256) return 'invalid-token';
      // The rules are checked before the token is spent, so a refused password leaves the link usable.
      const holder = columnText(st().peek.get(sha256(passwordToken).toString('hex'), 'reset'), 'user_id');
      if (holder === null) return 'invalid-token';
      if (passwordProblem(newPassword, columnText(st().user.get(holder), 'email') ?? '') !== null)
        return 'invalid-password';
      const hash = await hashPassword(newPassword, params);
      const owner = consume('reset', passwordToken);
      if (owner === null) return 'invalid-token';
      inTransaction(() => {
        st().setPassword.run(hash, now(), owner.userId);
        st().endSignIns.run(owner.userId);
      });
      return 'changed';
    },

    async changePassword(userId, authToken, currentPassword, newPassword) {
      if (!signedIn(userId, authToken)) return { ok: false, reason: 'invalid-token' };
      const user = st().user.get(userId);
      const stored = columnText(user, 'password_hash') ?? '';
      if (currentPassword.length > 1024 || !(await verifyPassword(currentPassword, stored)))
        return { ok: false, reason: 'wrong-password' };
      if (passwordProblem(newPassword, columnText(user, 'email') ?? '') !== null)
        return { ok: false, reason: 'invalid-password' };
      const hash = await hashPassword(newPassword, params);
      return inTransaction(() => {
        st().setPassword.run(hash, now(), userId);
        st().endSignIns.run(userId);
        return { ok: true as const, ...newSignIn(userId) };
      });
    },

    requestEmailChange(userId, authToken, newEmail) {
      if (!signedIn(userId, authToken)) return Promise.resolve({ ok: false, reason: 'invalid-token' });
      const normalised = normaliseEmail(newEmail);
      if (!EMAIL.test(normalised) || normalised.length > 320)
        return Promise.resolve({ ok: false, reason: 'invalid-email' });
      const owner = columnText(st().userByEmail.get(normalised), 'id');
      if (owner === userId) return Promise.resolve({ ok: false, reason: 'same-email' });
      if (owner !== null) return Promise.resolve({ ok: false, reason: 'email-taken' });
      const { token, expiresAt } = issue('email', userId, normalised);
      return Promise.resolve({ ok: true, token, expiresAt });
    },

    verifyEmailChange(emailUpdateToken) {
      const owner = consume('email', emailUpdateToken);
      if (owner?.newEmail === null || owner === null) return Promise.resolve('invalid-token');
      try {
        st().setEmail.run(owner.newEmail, now(), owner.userId);
      } catch (err) {
        if (err instanceof Error && err.message.includes('UNIQUE constraint failed: users.email'))
          return Promise.resolve('email-taken');
        throw err;
      }
      return Promise.resolve('changed');
    },

    getDetails(userId, authToken): Promise<AccountDetails | null> {
      if (!signedIn(userId, authToken)) return Promise.resolve(null);
      const row = st().user.get(userId);
      if (row === undefined) return Promise.resolve(null);
      const first = columnText(row, 'first_name');
      const last = columnText(row, 'last_name');
      const title = columnText(row, 'title');
      const name: PersonName | null =
        first === null || last === null
          ? null
          : title === null || title === ''
            ? { first, last }
            : { title, first, last };
      const address1 = columnText(row, 'address1');
      const postcode = columnText(row, 'postcode');
      const created = columnNumber(row, 'created_at');
      const updated = columnNumber(row, 'updated_at');
      return Promise.resolve({
        id: userId,
        email: columnText(row, 'email') ?? '',
        name,
        dob: columnText(row, 'dob'),
        address:
          address1 === null
            ? null
            : {
                address1,
                address2: columnText(row, 'address2'),
                address3: columnText(row, 'address3'),
                postcode: postcode ?? '',
              },
        createdAt: created === null ? null : new Date(created),
        updatedAt: updated === null ? null : new Date(updated),
      });
    },

    updateDetails(userId, authToken, update) {
      if (!signedIn(userId, authToken)) return Promise.resolve(false);
      if (update.dob !== null && !DOB.test(update.dob)) throw new Error('local-accounts: dob must be YYYY-MM-DD');
      const a = update.address;
      const changed = st().setDetails.run(
        update.name.title ?? null,
        update.name.first,
        update.name.last,
        update.dob,
        a?.address1 ?? null,
        a?.address2 ?? null,
        a?.address3 ?? null,
        a?.postcode ?? null,
        now(),
        userId,
      ).changes;
      return Promise.resolve(Number(changed) === 1);
    },

    deleteAccount(userId, authToken) {
      if (!signedIn(userId, authToken)) return Promise.resolve(false);
      return Promise.resolve(Number(st().deleteUser.run(userId).changes) === 1);
    },

    listLpas(userId, authToken, query) {
      if (!signedIn(userId, authToken)) return Promise.resolve(null);
      const perPage = Math.max(1, Math.min(200, Math.floor(query.perPage)));
      const offset = (Math.max(1, Math.floor(query.page)) - 1) * perPage;
      const filter = searchFilter(query.search);
      const x = st();
      // The count first: a page past the last (no LPAs at all, the commonest) needs no second query.
      let total: number;
      let rows: Row[] = [];
      if (filter.kind === 'id') {
        total = columnNumber(x.countId.get(userId, filter.id), 'total') ?? 0;
        if (offset < total) rows = x.pageId.all(userId, filter.id, perPage, offset);
      } else if (filter.kind === 'name') {
        total = columnNumber(x.countName.get(userId, filter.text), 'total') ?? 0;
        if (offset < total) rows = x.pageName.all(userId, filter.text, perPage, offset);
      } else {
        total = columnNumber(x.countAll.get(userId), 'total') ?? 0;
        if (offset < total) rows = x.pageAll.all(userId, perPage, offset);
      }
      return Promise.resolve({ lpas: rows.map(toLpa), total });
    },

    addLpas(userId, lpas) {
      return inTransaction(() =>
        lpas.map((l) =>
          Number(
            st().insertLpa.run(
              userId,
              l.type,
              l.donorName,
              l.updatedAt,
              l.updatedAt,
              l.createdAt ?? null,
              l.completedAt ?? null,
              l.reusable === true ? 1 : 0,
              l.processingStatus ?? null,
            ).lastInsertRowid,
          ),
        ),
      );
    },
  };
}
