/**
 * Evidence files after they are stored (issue 23, ADR 0040): scanning, the rescan queue, retention and removal.
 *
 * - A stored file is `checking` until clamd says clean (`ready`). `infected` deletes the bytes, keeps the row as
 *   `rejected` (the person sees why) and writes an audit line; a clamd `error` (size limit, parse error) rejects too.
 *   `unavailable` (clamd down, timed out, unset) changes nothing: the file stays `checking`, never downloadable.
 * - The queue is the table itself: `sweep` (every UPLOAD_SCAN_INTERVAL_MS, and on start) scans every `checking`
 *   row, so files stored while clamd was down are scanned when it returns (nothing lost: the state is in the store,
 *   SQLite or Redis, not in memory). It also rescans `ready` files last found clean with another signature database
 *   than clamd's current one (from VERSION), so a file stored before a signature update is checked against the new
 *   signatures.
 * - Retention: files older than UPLOAD_RETENTION_DAYS are deleted, bytes and row; reservations left by a request that
 *   died are dropped. `deleteForUser` removes everything of one user (account deletion).
 * Audit lines carry the keyed user hash (sign-in's, ADR 0008), the file id, type and size: never the email, the
 * person's name, or the file's name (a name can hold personal data).
 */
import type { Logger } from 'pino';
import type { Clamd } from '../../backends/clamd.ts';
import type { EvidenceFile, EvidenceFiles } from '../../backends/evidence-files.ts';
import type { FileStorage } from '../../backends/file-storage.ts';
import { scanStored } from '../../platform/uploads/upload-pipeline.ts';

/** A request's logger (its lines carry the request id) or the service's own. */
type AuditLog = Pick<Logger, 'info' | 'warn'>;

export type ScanOutcome = 'ready' | 'rejected' | 'checking';

export type EvidenceEvent =
  | 'evidence.upload.accepted'
  | 'evidence.upload.refused'
  | 'evidence.scan.infected'
  | 'evidence.scan.error'
  | 'evidence.scan.clean'
  | 'evidence.download'
  | 'evidence.delete'
  | 'evidence.retention.delete';

export interface EvidenceService {
  readonly files: EvidenceFiles;
  readonly storage: FileStorage;
  readonly clamd: Clamd;
  /** Scans one stored file now; `checking` when clamd could not be asked. */
  scan(file: EvidenceFile): Promise<ScanOutcome>;
  /** One pass of the queue: waiting files, files to rescan, retention. Returns how many files it scanned. */
  sweep(): Promise<number>;
  /** Deletes the bytes and the row. */
  remove(file: EvidenceFile): Promise<void>;
  deleteForUser(userId: string): Promise<number>;
  audit(log: AuditLog, event: EvidenceEvent, fields: Record<string, unknown>): void;
  start(): void;
  stop(): Promise<void>;
}

export interface EvidenceServiceOptions {
  readonly files: EvidenceFiles;
  readonly storage: FileStorage;
  readonly clamd: Clamd;
  readonly logger: Logger;
  readonly retentionMs: number;
  readonly scanIntervalMs: number;
  /** A reservation older than this belongs to a request that has died (the upload time limit, and some). */
  readonly staleReservationMs: number;
  readonly now?: () => number;
}

/** The signature database clamd scans with now: its version when official databases are loaded, else the engine. */
async function currentDatabase(clamd: Clamd): Promise<string | undefined> {
  const v = await clamd.version();
  if (v === undefined) return undefined;
  return v.databaseVersion === undefined ? v.engine : `${v.engine}/${String(v.databaseVersion)}`;
}

export function createEvidenceService(opts: EvidenceServiceOptions): EvidenceService {
  const { files, storage, clamd, logger } = opts;
  const now = opts.now ?? Date.now;
  const inFlight = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<number> | undefined;

  const audit = (log: AuditLog, event: EvidenceEvent, fields: Record<string, unknown>): void => {
    const entry = { audit: true, event, ...fields };
    if (event === 'evidence.scan.infected' || event === 'evidence.scan.error' || event === 'evidence.upload.refused')
      log.warn(entry, 'evidence file');
    else log.info(entry, 'evidence file');
  };

  async function scan(file: EvidenceFile, database?: string): Promise<ScanOutcome> {
    if (file.storageKey === null || inFlight.has(file.id)) return file.status === 'ready' ? 'ready' : 'checking';
    inFlight.add(file.id);
    try {
      const db = database ?? (await currentDatabase(clamd));
      const result = await scanStored(file.storageKey, { storage, clamd });
      const who = { userHash: file.userHash, fileId: file.id, mediaType: file.mediaType, bytes: file.bytes };
      switch (result.status) {
        case 'clean':
          await files.clean(file.id, db ?? 'unknown', now());
          if (file.status !== 'ready') audit(logger, 'evidence.scan.clean', { ...who, database: db });
          return 'ready';
        case 'infected':
          await storage.delete(file.storageKey);
          await files.reject(file.id, 'virus', now());
          audit(logger, 'evidence.scan.infected', {
            ...who,
            signature: result.signature,
            database: db,
            rescan: file.status === 'ready',
          });
          return 'rejected';
        case 'error':
          await storage.delete(file.storageKey);
          await files.reject(file.id, 'scan-error', now());
          audit(logger, 'evidence.scan.error', { ...who, reason: result.reason });
          return 'rejected';
        case 'unavailable':
          logger.warn(
            { fileId: file.id, reason: result.reason },
            'evidence file not scanned: clamd unavailable; it stays "Checking" and is scanned when ' + 'clamd answers',
          );
          return file.status === 'ready' ? 'ready' : 'checking';
      }
    } finally {
      inFlight.delete(file.id);
    }
  }

  async function remove(file: EvidenceFile): Promise<void> {
    if (file.storageKey !== null) await storage.delete(file.storageKey);
    await files.release(file.id);
  }

  async function sweepOnce(): Promise<number> {
    const at = now();
    for (const old of await files.olderThan(at - opts.retentionMs, 100)) {
      await remove(old);
      audit(logger, 'evidence.retention.delete', { userHash: old.userHash, fileId: old.id });
    }
    for (const stale of await files.staleReservations(at - opts.staleReservationMs, 100)) await files.release(stale.id);
    const db = await currentDatabase(clamd);
    if (db === undefined && clamd.configured) return 0; // clamd down: everything waits, nothing is skipped
    let scanned = 0;
    for (const file of await files.dueForScan(db, 50)) {
      const outcome = await scan(file, db);
      if (outcome === 'checking' && file.status === 'checking') break; // clamd went away mid-pass
      scanned++;
    }
    return scanned;
  }

  return {
    files,
    storage,
    clamd,
    scan: (file) => scan(file),
    sweep() {
      // One pass at a time, whoever asks.
      sweeping ??= sweepOnce().finally(() => {
        sweeping = undefined;
      });
      return sweeping;
    },
    remove,
    async deleteForUser(userId) {
      const mine = await files.forUser(userId);
      for (const file of mine) await remove(file);
      return mine.length;
    },
    audit,
    start() {
      if (timer !== undefined) return;
      const tick = (): void => {
        this.sweep().catch((err: unknown) => {
          logger.error({ err }, 'evidence sweep failed');
        });
      };
      timer = setInterval(tick, opts.scanIntervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await sweeping?.catch(() => undefined);
    },
  };
}
