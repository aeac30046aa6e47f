/**
 * The ClamAV daemon client: the only module that opens a connection to clamd (ADR 0033).
 *
 * Speaks clamd's own INSTREAM protocol (https://docs.clamav.net/manual/Usage/Scanning.html#clamd): `zINSTREAM\0`,
 * then chunks each prefixed with its length as a 4-byte big-endian number, then a zero length; clamd answers one
 * NUL-terminated line. Only `stream: OK` is clean. Everything else is not: a signature (`... FOUND`), an `ERROR`
 * (among them `INSTREAM size limit exceeded`), an unknown answer, a refused or dropped connection, a timeout, and an
 * unset CLAMD_ADDRESS (uploads unavailable: fail closed).
 */
import net from 'node:net';
import type { ClamdAddress } from '../config/config.ts';

export type ScanResult =
  /** clamd read every byte and matched no signature. */
  | { readonly status: 'clean' }
  /** clamd matched a signature: reject and delete the file, audit-log the signature. */
  | { readonly status: 'infected'; readonly signature: string }
  /**
   * clamd answered, but not with a verdict (size limit, parse error): the file is not clean; scanning again will not
   * help.
   */
  | { readonly status: 'error'; readonly reason: string }
  /**
   * clamd could not be asked (unset, down, timed out, connection dropped): the file stays unchecked; try again later.
   */
  | { readonly status: 'unavailable'; readonly reason: string };

export interface ClamdVersion {
  /** e.g. "ClamAV 1.4.6". */
  readonly engine: string;
  /**
   * Signature database version and build time, when clamd reports them (official databases do; a local one may not).
   */
  readonly databaseVersion: number | undefined;
  readonly databaseDate: Date | undefined;
}

export interface Clamd {
  /** True when an address is configured; false means uploads are unavailable. */
  readonly configured: boolean;
  /** Streams the bytes to clamd chunk by chunk; never holds the whole file. Rejects only if `source` itself fails. */
  scan(source: AsyncIterable<Uint8Array>): Promise<ScanResult>;
  /** The engine and signature versions (for /ping/json), or undefined when clamd cannot be asked. */
  version(): Promise<ClamdVersion | undefined>;
}

export interface ClamdOptions {
  readonly address: ClamdAddress | undefined;
  /** Longest wait for connecting, for each write to drain and for the answer (idle timeout). */
  readonly timeoutMs: number;
  /** Bytes per INSTREAM chunk; clamd refuses chunks over its StreamMaxLength. */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024;
/** clamd's answers are one short line; anything longer is not clamd. */
const MAX_REPLY_BYTES = 4096;

export function createClamd(opts: ClamdOptions): Clamd {
  const { address, timeoutMs } = opts;
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 0x7fffffff)
    throw new RangeError('chunkBytes out of range');

  return {
    configured: address !== undefined,
    async scan(source) {
      if (address === undefined) return { status: 'unavailable', reason: 'CLAMD_ADDRESS is not set' };
      const conversation = await open(address, timeoutMs);
      if (typeof conversation === 'string') return { status: 'unavailable', reason: conversation };
      // An answer before the terminating zero length (a size limit, or clamd gone) stops the sending; it can never
      // be a clean verdict on the whole file.
      const early = async (): Promise<ScanResult> => {
        const v = await conversation.verdict();
        return v.status === 'clean' ? { status: 'error', reason: 'clamd answered before the end of the stream' } : v;
      };
      try {
        if (!(await conversation.write(Buffer.from('zINSTREAM\0', 'latin1')))) return await early();
        for await (const piece of source) {
          for (let at = 0; at < piece.byteLength; at += chunkBytes) {
            const part = piece.subarray(at, Math.min(at + chunkBytes, piece.byteLength));
            const header = Buffer.alloc(4);
            header.writeUInt32BE(part.byteLength);
            if (!(await conversation.write(header)) || !(await conversation.write(part))) return await early();
          }
        }
        if (conversation.settled()) return await early();
        await conversation.write(Buffer.alloc(4));
        return await conversation.verdict();
      } finally {
        conversation.close();
      }
    },
    async version() {
      if (address === undefined) return undefined;
      const conversation = await open(address, timeoutMs);
      if (typeof conversation === 'string') return undefined;
      try {
        await conversation.write(Buffer.from('zVERSION\0', 'latin1'));
        const reply = await conversation.reply();
        return reply === undefined ? undefined : parseVersion(reply);
      } finally {
        conversation.close();
      }
    },
  };
}

/** "ClamAV 1.4.6/27123/Fri Dec  4 08:35:00 2026", or "ClamAV 1.4.6" with only local databases. */
export function parseVersion(reply: string): ClamdVersion | undefined {
  const [engine, db, built] = reply.split('/', 3);
  if (engine === undefined || !/^ClamAV \S+$/.test(engine)) return undefined;
  const date = built === undefined ? undefined : new Date(`${built} UTC`);
  return {
    engine,
    databaseVersion: db !== undefined && /^\d+$/.test(db) ? Number(db) : undefined,
    databaseDate: date === undefined || Number.isNaN(date.getTime()) ? undefined : date,
  };
}

/** The verdict in an INSTREAM answer. Only the exact clean answer is clean. */
export function parseScanReply(reply: string): ScanResult {
  if (reply === 'stream: OK') return { status: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found?.[1] !== undefined) return { status: 'infected', signature: found[1] };
  return { status: 'error', reason: reply.length > 200 ? `${reply.slice(0, 200)}...` : reply };
}

interface Conversation {
  /** True once clamd has answered or the connection has ended. */
  settled(): boolean;
  /** Resolves false when the connection has ended, failed or answered (no more should be sent). */
  write(data: Uint8Array): Promise<boolean>;
  /** The first NUL-terminated answer, or undefined if none came (closed, failed, timed out). */
  reply(): Promise<string | undefined>;
  verdict(): Promise<ScanResult>;
  close(): void;
}

/** Connects within the timeout; a string is why it could not. */
function open(address: ClamdAddress, timeoutMs: number): Promise<Conversation | string> {
  return new Promise((resolve) => {
    const socket =
      address.kind === 'unix'
        ? net.connect({ path: address.path })
        : net.connect({ host: address.host, port: address.port });
    let received = Buffer.alloc(0);
    let failure: string | undefined;
    let answered: string | undefined;
    const waiters: (() => void)[] = [];
    const wake = (): void => {
      for (const w of waiters.splice(0)) w();
    };
    const fail = (why: string): void => {
      failure ??= why;
      socket.destroy();
      wake();
    };
    socket.setTimeout(timeoutMs, () => fail(`clamd did not respond within ${String(timeoutMs)} ms`));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const nul = received.indexOf(0);
      if (nul >= 0) answered ??= received.subarray(0, nul).toString('latin1').trim();
      else if (received.length > MAX_REPLY_BYTES) fail('clamd sent an over-long answer');
      wake();
    });
    socket.on('end', () => {
      // Some builds end the line without the NUL when closing after an error.
      if (answered === undefined && received.length > 0) answered = received.toString('latin1').trim();
      failure ??= 'clamd closed the connection';
      wake();
    });
    socket.on('close', () => {
      failure ??= 'clamd closed the connection';
      wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => fail(`clamd connection failed: ${err.code ?? err.message}`));
    socket.once('connect', () => {
      const settled = (): boolean => answered !== undefined || failure !== undefined;
      const until = (done: () => boolean): Promise<void> =>
        new Promise((r) => {
          const check = (): void => {
            if (done()) r();
            else waiters.push(check);
          };
          check();
        });
      const conversation: Conversation = {
        settled,
        async write(data) {
          if (settled() || socket.destroyed) return false;
          const flushed = socket.write(data);
          if (!flushed) await Promise.race([new Promise((r) => socket.once('drain', r)), until(settled)]);
          return !settled();
        },
        async reply() {
          await until(settled);
          return answered;
        },
        async verdict() {
          const line = await conversation.reply();
          if (line !== undefined) return parseScanReply(line);
          return { status: 'unavailable', reason: failure ?? 'no answer' };
        },
        close() {
          socket.destroy();
        },
      };
      resolve(conversation);
    });
    // A failure before 'connect' resolves the promise with the reason instead.
    waiters.push(() => {
      if (failure !== undefined) resolve(failure);
    });
  });
}
