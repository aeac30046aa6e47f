/**
 * The embedded store: one SQLite file (`lpa-front.sqlite`) in DATA_DIR, on Node's built-in `node:sqlite`.
 *
 * - The folder is created with mode 0700 and the database file with 0600 before SQLite opens it (SQLite gives
 *   its -wal and -shm files the database file's permissions), because feedback can hold personal data.
 * - WAL mode, synchronous=FULL (a committed submission survives power loss, not only a crash), a busy timeout
 *   so several cluster workers can share the file.
 * - Schema changes are an ordered list of named migrations recorded in `schema_migrations`; each runs once,
 *   in its own IMMEDIATE transaction, so two workers starting together cannot both apply it. Other features
 *   add theirs with `openStore(dir, { migrations: [...] })`, after the base ones.
 * - Data only ever goes through prepared statements. node:sqlite is synchronous, so every statement here
 *   touches one row (or a handful, bounded by LIMIT) and the event loop is never held for long.
 *
 * Outbox rows are claimed with a lease (one atomic UPDATE ... RETURNING), so two workers never deliver the
 * same row at the same time, and a row whose deliverer died becomes due again when its lease runs out.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';

export const STORE_FILE = 'lpa-front.sqlite';

export interface Migration {
  /** Unique and stable forever, e.g. `users-001-create`. Applied in list order. */
  readonly name: string;
  /** DDL only (constant text, never built from input). */
  readonly sql: string;
}

export const BASE_MIGRATIONS: readonly Migration[] = [
  {
    name: 'base-001-feedback-outbox',
    sql: `
      CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at INTEGER NOT NULL,
        payload TEXT NOT NULL CHECK (json_valid(payload))
      );
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error_code TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL;
    `,
  },
];

export interface OutboxRow {
  readonly id: number;
  readonly kind: string;
  readonly payload: unknown;
  /** Delivery attempts started so far, this one included for a claimed row. */
  readonly attempts: number;
  /** Epoch ms; null when the row is parked (a permanent failure, kept for a person to look at). */
  readonly nextAttemptAt: number | null;
  readonly lastErrorCode: string | null;
  readonly createdAt: number;
  readonly deliveredAt: number | null;
}

export interface FeedbackRow {
  readonly id: number;
  readonly createdAt: number;
  readonly payload: unknown;
}

export interface OutboxCounts {
  readonly pending: number;
  readonly parked: number;
  readonly delivered: number;
}

export interface Store {
  /** The connection, for features that add their own tables (prepare statements once, keep them tiny). */
  readonly db: DatabaseSync;
  readonly path: string;
  /** Names of the migrations applied, in order. */
  appliedMigrations(): string[];
  /** Runs `fn` in one IMMEDIATE transaction; rolls back if it throws. Not re-entrant. */
  transaction<T>(fn: () => T): T;

  insertFeedback(payload: unknown, now: number): number;
  listFeedback(limit: number): FeedbackRow[];

  /** A new outbox row, leased until `leaseUntil` (the caller delivers it now) or due at once when omitted. */
  enqueue(kind: string, payload: unknown, now: number, leaseUntil?: number): number;
  /**
   * Claims the most overdue row that is due at `now` and has fewer than `maxAttempts` attempts: counts
   * the attempt and leases the row until `leaseUntil`. Undefined when nothing is due.
   */
  claimDue(now: number, leaseUntil: number, maxAttempts: number): OutboxRow | undefined;
  /** Delivered: records when, and drops the payload (the API is now the record; keep no copy of personal data). */
  markDelivered(id: number, now: number): void;
  /** Failed: records why and when to try again (null parks the row). */
  markFailed(id: number, errorCode: string, nextAttemptAt: number | null): void;
  getOutbox(id: number): OutboxRow | undefined;
  listOutbox(limit: number): OutboxRow[];
  outboxCounts(): OutboxCounts;

  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): void;
}

export interface OpenStoreOptions {
  /** Extra migrations, applied in order after BASE_MIGRATIONS. */
  readonly migrations?: readonly Migration[];
  /** How long (ms) a statement waits for another worker's write lock. */
  readonly busyTimeoutMs?: number;
}

type Row = Record<string, unknown>;

/** A text column of a row read from the store: null when the row or the value is missing, NULL or not text. */
export function columnText(row: Row | undefined, key: string): string | null {
  const v = row?.[key];
  return typeof v === 'string' ? v : null;
}

/** A number column (INTEGER may come as a bigint): null when the row or the value is missing, NULL or not a number. */
export function columnNumber(row: Row | undefined, key: string): number | null {
  const v = row?.[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

function int(row: Row, key: string): number {
  const v = row[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new Error(`sqlite-store: column ${key} is not an integer`);
}

function intOrNull(row: Row, key: string): number | null {
  return row[key] === null ? null : int(row, key);
}

function text(row: Row, key: string): string {
  const v = row[key];
  if (typeof v !== 'string') throw new Error(`sqlite-store: column ${key} is not text`);
  return v;
}

function toOutboxRow(row: Row): OutboxRow {
  const lastError = row.last_error_code;
  return {
    id: int(row, 'id'),
    kind: text(row, 'kind'),
    payload: JSON.parse(text(row, 'payload')) as unknown,
    attempts: int(row, 'attempts'),
    nextAttemptAt: intOrNull(row, 'next_attempt_at'),
    lastErrorCode: typeof lastError === 'string' ? lastError : null,
    createdAt: int(row, 'created_at'),
    deliveredAt: intOrNull(row, 'delivered_at'),
  };
}

function runMigrations(db: DatabaseSync, migrations: readonly Migration[]): void {
  const seen = new Set<string>();
  for (const m of migrations) {
    if (seen.has(m.name)) throw new Error(`sqlite-store: migration ${m.name} is listed twice`);
    seen.add(m.name);
  }
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const isApplied = db.prepare('SELECT 1 AS applied FROM schema_migrations WHERE name = ?');
  const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    if (isApplied.get(m.name) !== undefined) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      // Checked again under the write lock: another worker may have applied it meanwhile.
      if (isApplied.get(m.name) === undefined) {
        db.exec(m.sql);
        record.run(m.name, Date.now());
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new Error(`sqlite-store: migration ${m.name} failed`, { cause: err });
    }
  }
}

export function openStore(dataDir: string, options: OpenStoreOptions = {}): Store {
  /* eslint-disable security/detect-non-literal-fs-filename --
     dataDir is DATA_DIR from config (or a test's temp folder), never request data */
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, STORE_FILE);
  // Create the file ourselves so it is never readable by others, even for a moment.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  /* eslint-enable security/detect-non-literal-fs-filename */

  const db = new DatabaseSync(path, {
    timeout: options.busyTimeoutMs ?? 5000,
    enableForeignKeyConstraints: true,
    enableDoubleQuotedStringLiterals: false,
  });
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    runMigrations(db, [...BASE_MIGRATIONS, ...(options.migrations ?? [])]);
  } catch (err) {
    db.close();
    throw err;
  }

  const stmt = {
    applied: db.prepare('SELECT name FROM schema_migrations ORDER BY rowid'),
    insertFeedback: db.prepare('INSERT INTO feedback (created_at, payload) VALUES (?, ?)'),
    listFeedback: db.prepare('SELECT id, created_at, payload FROM feedback ORDER BY id DESC LIMIT ?'),
    enqueue: db.prepare(
      'INSERT INTO outbox (kind, payload, attempts, next_attempt_at, created_at) VALUES (?, ?, ' + '?, ?, ?)',
    ),
    claim: db.prepare(`
      UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?
      WHERE id = (
        SELECT id FROM outbox
        WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND attempts < ?
        ORDER BY next_attempt_at, id LIMIT 1
      )
      RETURNING *`),
    delivered: db.prepare(
      'UPDATE outbox SET delivered_at = ?, next_attempt_at = NULL, last_error_code = NULL, ' +
        "payload = 'null' WHERE id = ?",
    ),
    failed: db.prepare(
      'UPDATE outbox SET last_error_code = ?, next_attempt_at = ? WHERE id = ? AND delivered_at ' + 'IS NULL',
    ),
    getOutbox: db.prepare('SELECT * FROM outbox WHERE id = ?'),
    listOutbox: db.prepare('SELECT * FROM outbox ORDER BY id DESC LIMIT ?'),
    counts: db.prepare(`
      SELECT
        COALESCE(SUM(delivered_at IS NULL AND next_attempt_at IS NOT NULL), 0) AS pending,
        COALESCE(SUM(delivered_at IS NULL AND next_attempt_at IS NULL), 0) AS parked,
        COALESCE(SUM(delivered_at IS NOT NULL), 0) AS delivered
      FROM outbox`),
    ping: db.prepare('SELECT 1 AS ok'),
  } satisfies Record<string, StatementSync>;

  let inTransaction = false;

  return {
    db,
    path,
    appliedMigrations: () => stmt.applied.all().map((r) => text(r, 'name')),
    transaction<T>(fn: () => T): T {
      if (inTransaction) throw new Error('sqlite-store: transactions do not nest');
      inTransaction = true;
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = fn();
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      } finally {
        inTransaction = false;
      }
    },

    insertFeedback: (payload, now) => Number(stmt.insertFeedback.run(now, JSON.stringify(payload)).lastInsertRowid),
    listFeedback: (limit) =>
      stmt.listFeedback.all(limit).map((r) => ({
        id: int(r, 'id'),
        createdAt: int(r, 'created_at'),
        payload: JSON.parse(text(r, 'payload')) as unknown,
      })),

    enqueue(kind, payload, now, leaseUntil) {
      const leased = leaseUntil !== undefined;
      return Number(
        stmt.enqueue.run(kind, JSON.stringify(payload), leased ? 1 : 0, leased ? leaseUntil : now, now).lastInsertRowid,
      );
    },
    claimDue(now, leaseUntil, maxAttempts) {
      const row = stmt.claim.get(leaseUntil, now, maxAttempts);
      return row === undefined ? undefined : toOutboxRow(row);
    },
    markDelivered(id, now) {
      stmt.delivered.run(now, id);
    },
    markFailed(id, errorCode, nextAttemptAt) {
      stmt.failed.run(errorCode.slice(0, 64), nextAttemptAt, id);
    },
    getOutbox(id) {
      const row = stmt.getOutbox.get(id);
      return row === undefined ? undefined : toOutboxRow(row);
    },
    listOutbox: (limit) => stmt.listOutbox.all(limit).map(toOutboxRow),
    outboxCounts() {
      const row = stmt.counts.get() ?? {};
      return { pending: int(row, 'pending'), parked: int(row, 'parked'), delivered: int(row, 'delivered') };
    },

    ping: () => {
      try {
        stmt.ping.get();
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error('sqlite-store: ping failed'));
      }
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
