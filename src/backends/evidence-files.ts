/**
 * What the service knows about each uploaded evidence file (issue 23, ADR 0040): its owner, its display name, its
 * type and size, and where it is in its life (`receiving` → `checking` → `ready` or `rejected`). The bytes live in
 * the file storage (file-storage.ts) under `storage_key`; this table, in the embedded SQLite store, is the index.
 *
 * The per-user limit is a reservation: `reserve` counts the user's files and inserts a `receiving` row in one
 * IMMEDIATE transaction, before any byte is stored, so parallel uploads (several requests, several workers sharing
 * the file) can never hold more than the limit between them. Rejected rows (kept so the person learns why) hold no
 * file and do not count.
 */
import { randomUUID } from 'node:crypto';
import type { Migration, Store } from './sqlite-store.ts';
import { columnNumber, columnText } from './sqlite-store.ts';

export const EVIDENCE_MIGRATIONS: readonly Migration[] = [
  {
    name: 'evidence-001-files',
    sql: `
      CREATE TABLE evidence_files (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        user_hash TEXT,
        storage_key TEXT,
        display_name TEXT NOT NULL,
        media_type TEXT,
        bytes INTEGER,
        status TEXT NOT NULL CHECK (status IN ('receiving', 'checking', 'ready', 'rejected')),
        reason TEXT,
        scanned_with TEXT,
        created_at INTEGER NOT NULL,
        scanned_at INTEGER
      );
      CREATE INDEX evidence_files_user ON evidence_files (user_id, created_at);
      CREATE INDEX evidence_files_status ON evidence_files (status);
    `,
  },
];

export type { EvidenceFile, EvidenceFiles, EvidenceStatus } from '../sessions/evidence-records.ts';
import type { EvidenceFile, EvidenceFiles, EvidenceStatus } from '../sessions/evidence-records.ts';

type Row = Record<string, unknown>;

function toFile(row: Row): EvidenceFile {
  return {
    id: columnText(row, 'id') ?? '',
    userId: columnText(row, 'user_id') ?? '',
    userHash: columnText(row, 'user_hash'),
    storageKey: columnText(row, 'storage_key'),
    displayName: columnText(row, 'display_name') ?? '',
    mediaType: columnText(row, 'media_type'),
    bytes: columnNumber(row, 'bytes'),
    status: (columnText(row, 'status') ?? 'rejected') as EvidenceStatus,
    reason: columnText(row, 'reason'),
    scannedWith: columnText(row, 'scanned_with'),
    createdAt: columnNumber(row, 'created_at') ?? 0,
  };
}

export function createEvidenceFiles(store: Pick<Store, 'db' | 'transaction'>): EvidenceFiles {
  const db = () => store.db;
  const all = (sql: string, ...params: (string | number | null)[]): EvidenceFile[] =>
    db()
      .prepare(sql)
      .all(...params)
      .map((r) => toFile(r as Row));
  return {
    async reserve(userId, userHash, displayName, max, now) {
      return store.transaction(() => {
        const row = db()
          .prepare("SELECT count(*) AS n FROM evidence_files WHERE user_id = ? AND status != 'rejected'")
          .get(userId) as Row | undefined;
        if ((columnNumber(row ?? {}, 'n') ?? 0) >= max) return undefined;
        const id = randomUUID();
        db()
          .prepare(
            'INSERT INTO evidence_files (id, user_id, user_hash, display_name, status, created_at) ' +
              "VALUES (?, ?, ?, ?, 'receiving', ?)",
          )
          .run(id, userId, userHash, displayName, now);
        return id;
      });
    },
    async stored(id, storageKey, mediaType, bytes) {
      db()
        .prepare(
          'UPDATE evidence_files SET storage_key = ?, media_type = ?, bytes = ?, status = ' + "'checking' WHERE id = ?",
        )
        .run(storageKey, mediaType, bytes, id);
    },
    async release(id) {
      db().prepare('DELETE FROM evidence_files WHERE id = ?').run(id);
    },
    async list(userId) {
      return all(
        // Upload order: rowid breaks a tie within one millisecond (the id is a random UUID, so it would not).
        "SELECT * FROM evidence_files WHERE user_id = ? AND status != 'receiving' ORDER BY " +
          'created_at, rowid LIMIT 100',
        userId,
      );
    },
    async get(userId, id) {
      const row = db()
        .prepare("SELECT * FROM evidence_files WHERE id = ? AND user_id = ? AND status != 'receiving'")
        .get(id, userId) as Row | undefined;
      return row === undefined ? undefined : toFile(row);
    },
    async byId(id) {
      const row = db().prepare('SELECT * FROM evidence_files WHERE id = ?').get(id) as Row | undefined;
      return row === undefined ? undefined : toFile(row);
    },
    async clean(id, scannedWith, now) {
      // Only a file still waiting or ready can become ready: a rejection is final.
      db()
        .prepare(
          "UPDATE evidence_files SET status = 'ready', scanned_with = ?, scanned_at = ? WHERE id = " +
            "? AND status IN ('checking', 'ready')",
        )
        .run(scannedWith, now, id);
    },
    async reject(id, reason, now) {
      db()
        .prepare(
          "UPDATE evidence_files SET status = 'rejected', reason = ?, storage_key = NULL, " +
            'scanned_at = ? WHERE id = ?',
        )
        .run(reason, now, id);
    },
    async dueForScan(currentDatabase, limit) {
      if (currentDatabase === undefined)
        return all("SELECT * FROM evidence_files WHERE status = 'checking' ORDER BY created_at LIMIT ?", limit);
      return all(
        "SELECT * FROM evidence_files WHERE status = 'checking' OR (status = 'ready' AND " +
          'scanned_with IS NOT ?) ORDER BY status, created_at LIMIT ?',
        currentDatabase,
        limit,
      );
    },
    async olderThan(before, limit) {
      return all('SELECT * FROM evidence_files WHERE created_at < ? ORDER BY created_at LIMIT ?', before, limit);
    },
    async staleReservations(before, limit) {
      return all("SELECT * FROM evidence_files WHERE status = 'receiving' AND created_at < ? LIMIT ?", before, limit);
    },
    async forUser(userId) {
      return all('SELECT * FROM evidence_files WHERE user_id = ?', userId);
    },
  };
}
