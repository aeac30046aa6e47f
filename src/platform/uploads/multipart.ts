/**
 * Streaming reader of an upload's multipart/form-data body (ADR 0033), on busboy: no part is ever held whole.
 *
 * The CSRF token must be the FIRST part, a field named `_csrf`, and must pass `checkCsrf` before any file part is
 * handed on: a file part first, a wrong token, or a token anywhere else ends the request before a byte is stored.
 * Limits end the request too: files per request, bytes per file, bytes in all, fields, a total time and a minimum
 * rate over a sliding window (a slow sender holds a connection and a storage slot; an average since the start would
 * let a fast first second pay for minutes of trickle). On any failure the error carries the results of the
 * files already handed on, so the caller deletes them: a refused request leaves nothing.
 */
import busboy from 'busboy';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface MultipartLimits {
  /** Bytes per file; one more ends the request. */
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  /** Bytes of the whole body, headers of the parts included. */
  readonly maxTotalBytes: number;
  /** The whole body must arrive within this. */
  readonly timeoutMs: number;
  /** In every `rateWindowMs` (sliding; the first is grace), at least this many bytes per second must arrive. */
  readonly minBytesPerSecond: number;
  readonly rateWindowMs: number;
}

export type MultipartProblem =
  | 'not-multipart'
  | 'csrf-missing' // the first part is not the _csrf field
  | 'csrf-invalid'
  | 'unexpected-part' // a field other than _csrf, or a file under another name
  | 'too-many-files'
  | 'file-too-large'
  | 'too-large' // the whole body
  | 'timeout'
  | 'too-slow'
  | 'malformed'
  | 'aborted'; // the client went away, or a file handler failed

export class MultipartError<T = unknown> extends Error {
  readonly problem: MultipartProblem;
  /** Results of the file handlers that finished before the failure: delete what they stored. */
  readonly completed: readonly T[];
  constructor(problem: MultipartProblem, completed: readonly T[] = [], cause?: unknown) {
    super(`upload refused: ${problem}`, { cause });
    this.name = 'MultipartError';
    this.problem = problem;
    this.completed = completed;
  }
}

export interface UploadedPart {
  /** The name as the browser sent it: display only (see file-name.ts), never a path. */
  readonly filename: string;
  /** The part's bytes; ends with an error (and the handler should fail) if the request is refused mid-way. */
  readonly source: AsyncIterable<Uint8Array>;
}

export interface ReadUploadOptions<T> {
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  readonly limits: MultipartLimits;
  /** The file field's name (`file`). */
  readonly fileField: string;
  /** True when the token is this user's; runs before any file part is read. */
  readonly checkCsrf: (token: string) => boolean;
  /** Stores or scans one file; runs one at a time, in order. */
  readonly onFile: (part: UploadedPart) => Promise<T>;
  /** For tests: the clock. */
  readonly now?: () => number;
}

export function readUpload<T>(opts: ReadUploadOptions<T>): Promise<T[]> {
  const { headers, body, limits, fileField } = opts;
  const now = opts.now ?? Date.now;
  if (!/^multipart\/form-data\s*;/i.test(headers['content-type'] ?? ''))
    return Promise.reject(new MultipartError('not-multipart'));

  return new Promise<T[]>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers,
        // Browsers send the filename's UTF-8 bytes as they are; busboy's default would read them as Latin-1.
        defParamCharset: 'utf8',
        // The name as sent, path and all: busboy would cut it to the last segment, hiding a `../` from nameProblem.
        preservePath: true,
        // busboy signals 'limit' on reaching fileSize, so one byte more: a file of exactly maxFileBytes passes.
        limits: {
          fileSize: limits.maxFileBytes + 1,
          files: limits.maxFiles,
          fields: 1,
          fieldSize: 512,
          fieldNameSize: 64,
          parts: limits.maxFiles + 1,
          headerPairs: 16,
        },
      });
    } catch (err) {
      reject(new MultipartError('malformed', [], err));
      return;
    }
    const completed: T[] = [];
    let csrfPassed = false;
    let failed: MultipartError<T> | undefined;
    let current: Readable | undefined;
    let handlers: Promise<void> = Promise.resolve();
    let received = 0;
    const started = now();
    // (time, bytes received by then), one per tick, back to the last one at least a window old.
    const samples: { at: number; received: number }[] = [{ at: started, received: 0 }];

    const fail = (problem: MultipartProblem, cause?: unknown): void => {
      if (failed !== undefined) return;
      failed = new MultipartError<T>(problem, completed, cause);
      clearInterval(timer);
      body.unpipe(parser);
      body.removeListener('data', count);
      body.resume(); // drain and drop; the caller's reply (or the socket's end) follows
      if (current !== undefined && !current.readableEnded) current.destroy(failed);
      // Wait for the handler in progress to see its error and clean up, then report.
      void handlers.then(() => reject(new MultipartError<T>(problem, completed, cause)));
    };

    const count = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limits.maxTotalBytes) fail('too-large');
    };
    const timer = setInterval(
      () => {
        const at = now();
        if (at - started > limits.timeoutMs) {
          fail('timeout');
          return;
        }
        samples.push({ at, received });
        while (samples.length > 1 && (samples[1]?.at ?? at) <= at - limits.rateWindowMs) samples.shift();
        const base = samples[0] ?? { at: started, received: 0 };
        const span = at - base.at;
        if (span >= limits.rateWindowMs && (received - base.received) / (span / 1000) < limits.minBytesPerSecond)
          fail('too-slow');
      },
      Math.min(250, Math.max(10, Math.floor(limits.rateWindowMs / 4))),
    );

    parser.on('field', (name, value, info) => {
      if (failed !== undefined) return;
      if (csrfPassed || name !== '_csrf') fail('unexpected-part');
      else if (info.valueTruncated || !opts.checkCsrf(value)) fail('csrf-invalid');
      else csrfPassed = true;
    });
    parser.on('file', (name, stream, info) => {
      if (failed !== undefined) {
        stream.resume();
        return;
      }
      if (!csrfPassed) {
        stream.resume();
        fail('csrf-missing');
        return;
      }
      if (name !== fileField) {
        stream.resume();
        fail('unexpected-part');
        return;
      }
      // The handler sees errors through its iteration; this keeps one after the handler's last read from being thrown.
      stream.on('error', () => undefined);
      stream.on('limit', () => {
        const err = new MultipartError<T>('file-too-large', completed);
        fail('file-too-large');
        stream.destroy(err);
      });
      current = stream;
      // Settled at once, so a handler failing while an earlier one is still awaited is never an unhandled rejection.
      const handled = opts.onFile({ filename: info.filename ?? '', source: stream }).then(
        (value) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      handlers = handlers.then(async () => {
        const outcome = await handled;
        if (current === stream) current = undefined;
        if (outcome.ok) completed.push(outcome.value);
        else fail('aborted', outcome.err);
      });
    });
    parser.on('filesLimit', () => fail('too-many-files'));
    parser.on('fieldsLimit', () => fail(csrfPassed ? 'unexpected-part' : 'csrf-missing'));
    parser.on('partsLimit', () => fail('too-many-files'));
    parser.on('error', (err) => fail('malformed', err));
    parser.on('close', () => {
      if (failed !== undefined) return;
      clearInterval(timer);
      void handlers.then(() => {
        if (failed !== undefined) return;
        if (!csrfPassed) fail('csrf-missing');
        else resolve(completed);
      });
    });
    body.on('data', count);
    body.on('aborted', () => fail('aborted'));
    body.on('error', (err) => fail('aborted', err));
    body.pipe(parser);
  });
}
