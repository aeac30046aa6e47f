/**
 * Where uploaded files live (ADR 0033): the contract every backend keeps. Keys are random UUIDs made here, never a
 * name the user gave; a key from a request is checked with `isStorageKey` before any use. Writes are streamed with a
 * byte cap and leave nothing behind when they fail or run over.
 *
 * - `local-file-storage.ts`: the embedded default, a folder under DATA_DIR (not served by anything).
 * - `s3-file-storage.ts`: S3 with server-side encryption; the only module that opens S3 connections.
 * - `file-storage-loader.ts`: the choice between them, from the config.
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
