/**
 * Where uploaded files live (ADR 0033): the contract, and the choice between the backends. Keys are random UUIDs
 * made here, never a name the user gave; a key from a request is checked with `isStorageKey` before any use.
 * Writes are streamed with a byte cap and leave nothing behind when they fail or run over.
 *
 * - `local-file-storage.ts`: the embedded default, a folder under DATA_DIR (not served by anything).
 * - `s3-file-storage.ts`: S3 with server-side encryption; the only module that opens S3 connections.
 */
import type { Readable } from 'node:stream';

export interface StoredFile {
  readonly key: string;
  readonly bytes: number;
}

export interface FileStorage {
  /**
   * Streams `source` into a new object under a fresh random key; rejects, keeping nothing, if it fails or passes
   * maxBytes.
   */
  put(source: AsyncIterable<Uint8Array>, opts: { readonly maxBytes: number }): Promise<StoredFile>;
  /** The object's bytes, or undefined when there is no such key (or the key is not one of ours). */
  get(key: string): Promise<Readable | undefined>;
  /** Removes the object; no error when it is already gone. */
  delete(key: string): Promise<void>;
}

/** The source ran past maxBytes: nothing was kept. */
export class StorageLimitError extends Error {
  constructor(maxBytes: number) {
    super(`file larger than ${String(maxBytes)} bytes`);
    this.name = 'StorageLimitError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** True for the keys `put` makes (lower-case UUID v4): anything else never reaches a path or a bucket. */
export function isStorageKey(key: string): boolean {
  return UUID.test(key);
}

/** The backend the config names: S3 when UPLOAD_S3_BUCKET is set, else DATA_DIR/uploads. S3's SDK loads only then. */
export async function createFileStorage(config: {
  readonly dataDir: string;
  readonly uploadS3Bucket: string | undefined;
  readonly uploadS3Region: string;
  readonly uploadS3Endpoint: URL | undefined;
  readonly uploadS3KmsKeyId: string | undefined;
}): Promise<FileStorage> {
  if (config.uploadS3Bucket === undefined) {
    const { createLocalFileStorage } = await import('./local-file-storage.ts');
    return createLocalFileStorage(config.dataDir);
  }
  const { createS3FileStorage } = await import('./s3-file-storage.ts');
  return createS3FileStorage({
    bucket: config.uploadS3Bucket,
    region: config.uploadS3Region,
    ...(config.uploadS3Endpoint === undefined ? {} : { endpoint: config.uploadS3Endpoint }),
    ...(config.uploadS3KmsKeyId === undefined ? {} : { kmsKeyId: config.uploadS3KmsKeyId }),
  });
}

/**
 * A storage usable at once whose backend is still being made (the app's services are built synchronously; the
 * folder or the S3 client is ready by the first upload). Every call waits for it; a failure to make it fails them.
 */
export function deferredFileStorage(making: Promise<FileStorage>): FileStorage {
  making.catch(() => undefined); // reported by the first call that needs it, never an unhandled rejection
  return {
    put: async (source, opts) => (await making).put(source, opts),
    get: async (key) => (await making).get(key),
    delete: async (key) => (await making).delete(key),
  };
}
