/**
 * What the service knows about each uploaded evidence file (issue 23, ADR 0040, ADR 0059): its owner, its display
 * name, its type and size, and where it is in its life (`receiving` -> `checking` -> `ready` or `rejected`). The bytes
 * live in the file storage; a record is the index. Here, in the shared-state layer, so both stores implement one
 * contract: the embedded SQLite one (backends/) and the Redis one (this folder, where Redis connections live).
 */
export type EvidenceStatus = 'receiving' | 'checking' | 'ready' | 'rejected';

export interface EvidenceFile {
  readonly id: string;
  readonly userId: string;
  /** The keyed hash audit lines use for this user (never the email or the name). */
  readonly userHash: string | null;
  readonly storageKey: string | null;
  readonly displayName: string;
  readonly mediaType: string | null;
  readonly bytes: number | null;
  readonly status: EvidenceStatus;
  /** Why a file was rejected (a check's name or `virus`); null otherwise. */
  readonly reason: string | null;
  /** The clamd signature database a `ready` file was last found clean with. */
  readonly scannedWith: string | null;
  readonly createdAt: number;
}

/**
 * The records, in the embedded SQLite store (backends/evidence-files.ts, the default) or in Redis shared by every
 * instance (redis-evidence-files.ts, when REDIS_URL is set). Asynchronous because Redis is.
 */
export interface EvidenceFiles {
  /** A `receiving` row for the user, or undefined when the user already holds `max` files (race-free). */
  reserve(
    userId: string,
    userHash: string | null,
    displayName: string,
    max: number,
    now: number,
  ): Promise<string | undefined>;
  /** The reserved file is stored: now `checking`. */
  stored(id: string, storageKey: string, mediaType: string, bytes: number): Promise<void>;
  /** Drops a reservation (or any row). */
  release(id: string): Promise<void>;
  list(userId: string): Promise<EvidenceFile[]>;
  /** The user's own file; undefined for another user's id or an unknown one. */
  get(userId: string, id: string): Promise<EvidenceFile | undefined>;
  byId(id: string): Promise<EvidenceFile | undefined>;
  clean(id: string, scannedWith: string, now: number): Promise<void>;
  reject(id: string, reason: string, now: number): Promise<void>;
  /** Rows to scan: `checking` ones, and `ready` ones last found clean with another signature database. */
  dueForScan(currentDatabase: string | undefined, limit: number): Promise<EvidenceFile[]>;
  /** Rows created before `before` (retention), any status, oldest first. */
  olderThan(before: number, limit: number): Promise<EvidenceFile[]>;
  /** `receiving` rows left by a request that died before finishing (older than `before`). */
  staleReservations(before: number, limit: number): Promise<EvidenceFile[]>;
  forUser(userId: string): Promise<EvidenceFile[]>;
}
