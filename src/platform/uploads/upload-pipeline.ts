/**
 * One uploaded file from request to verdict (ADR 0033), for the evidence pages to call:
 * `receiveFile` streams a multipart file part into storage while FileCheck reads the same bytes, so a refused
 * file stops being written at the byte that decides it and is deleted; `scanStored` streams a stored file to clamd.
 * A file is only "Ready" after `scanStored` says clean; anything else leaves it "Checking" (unavailable) or
 * rejected (infected, error).
 */
import type { Clamd, ScanResult } from '../../backends/clamd.ts';
import type { FileStorage } from '../../backends/file-storage.ts';
import { StorageLimitError } from '../../backends/file-storage.ts';
import { FileCheck } from './file-checks.ts';
import type { FileCheckLimits, FileKind, Rejection } from './file-checks.ts';
import { displayName } from './file-name.ts';
import type { UploadedPart } from './multipart.ts';

export interface AcceptedFile {
  readonly key: string;
  readonly kind: FileKind;
  readonly mediaType: string;
  readonly bytes: number;
  /** For display only, escaped by the template. */
  readonly displayName: string;
}

export type ReceiveOutcome =
  | { readonly ok: true; readonly file: AcceptedFile }
  | { readonly ok: false; readonly reason: Rejection; readonly displayName: string };

class Refused extends Error {
  readonly reason: Rejection;
  constructor(reason: Rejection) {
    super(reason);
    this.reason = reason;
  }
}

export async function receiveFile(
  part: UploadedPart,
  deps: { storage: FileStorage; limits: FileCheckLimits },
): Promise<ReceiveOutcome> {
  const name = displayName(part.filename);
  const check = new FileCheck(name, deps.limits);
  const source = part.source[Symbol.asyncIterator]();
  async function* checked(): AsyncIterable<Uint8Array> {
    for (;;) {
      const next = await source.next();
      if (next.done === true) return;
      const refused = await check.write(next.value);
      if (refused !== undefined) throw new Refused(refused);
      yield next.value;
    }
  }
  let stored;
  try {
    stored = await deps.storage.put(checked(), { maxBytes: deps.limits.maxBytes });
  } catch (err) {
    if (!(err instanceof Refused) && !(err instanceof StorageLimitError)) throw err;
    // Read (and drop) the rest of this part, so the next part of the request can be read.
    for (let next = await source.next(); next.done !== true; next = await source.next()) {
      /* discard */
    }
    return { ok: false, reason: err instanceof Refused ? err.reason : 'too-large', displayName: name };
  }
  const verdict = await check.end();
  if (!verdict.ok) {
    await deps.storage.delete(stored.key);
    return { ok: false, reason: verdict.reason, displayName: name };
  }
  return {
    ok: true,
    file: { key: stored.key, kind: verdict.kind, mediaType: verdict.mediaType, bytes: stored.bytes, displayName: name },
  };
}

/** Streams a stored file to clamd. A file that is gone is an error, never clean. */
export async function scanStored(key: string, deps: { storage: FileStorage; clamd: Clamd }): Promise<ScanResult> {
  const stream = await deps.storage.get(key);
  if (stream === undefined) return { status: 'error', reason: 'stored file not found' };
  try {
    return await deps.clamd.scan(stream);
  } finally {
    stream.destroy();
  }
}
