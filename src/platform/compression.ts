/**
 * Gzip for pages whose bytes are the same in every response except the CSP nonce (reply.staticView).
 *
 * The constant parts are compressed once, at the first request for the page; each response then only
 * splices its nonce in. This is valid DEFLATE (RFC 1951) wrapped in gzip (RFC 1952):
 *
 * - each constant part is its own raw deflate stream, ended with a sync flush (`Z_SYNC_FLUSH`) and no
 *   final block. A sync flush ends on a byte boundary with an empty stored block, and a fresh stream has
 *   no back-references into anything before it, so the pieces can be laid side by side in any order;
 * - the nonce goes in as a stored (uncompressed) block: header byte 0 (BFINAL=0, BTYPE=00), LEN, NLEN;
 * - the stream ends with an empty final stored block (BFINAL=1);
 * - the gzip trailer carries the CRC-32 of the whole uncompressed body and its length (ISIZE).
 *
 * Brotli cannot be spliced this simply (one stream header, no way to forbid back-references through
 * Node's API), so these pages are sent gzip even to clients that also accept br (docs/adr/0006).
 * Per response the work is one copy into a single buffer and a CRC of the new bytes only: CRC-32 is
 * affine, so crc(page) = crc(page with the gaps zeroed) XOR, for each gap, the CRC of its value shifted
 * over the bytes that follow it. Both the zeroed CRC and the shift (four 256-entry tables per gap, as in
 * zlib's crc32_combine) are computed once per layout of value lengths.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { negotiateEncoding } from './accept-encoding.ts';

// deflate, no flags, no mtime, OS unknown
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
const FINAL_EMPTY_STORED = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
const STORED_MAX = 0xffff;
const GZIP_ONLY = { gzip: true } as const;

/** The constant parts of a page, compressed once, ready to be joined with any nonce. */
export interface GzipSplice {
  /** The uncompressed parts, for the CRC. */
  readonly parts: readonly Buffer[];
  /** parts[i], deflated as a self-contained, byte-aligned raw stream without a final block. */
  readonly deflated: readonly Buffer[];
  /** Total uncompressed length of the parts. */
  readonly partsLength: number;
  /** Total length of GZIP_HEADER + deflated parts + final block + trailer. */
  readonly fixedLength: number;
  /** CRC tables for the last layout of value lengths seen (filled on first use). */
  readonly cache: { layout?: CrcLayout };
}

interface CrcLayout {
  readonly lengths: readonly number[];
  /** CRC-32 of the body with every gap filled with zero bytes. */
  readonly base: number;
  /** Per gap: 4 x 256 entries that shift a raw CRC register over the bytes after the gap. */
  readonly tables: readonly Uint32Array[];
}

const ONES = 0xffffffff;

/** The raw CRC register moved over `count` zero bytes, for each single-bit start value, as lookup tables. */
function shiftTable(count: number): Uint32Array {
  const zeros = Buffer.alloc(count);
  const images = new Uint32Array(32);
  for (let k = 0; k < 32; k++) images[k] = (crc32(zeros, ((1 << k) ^ ONES) >>> 0) ^ ONES) >>> 0;
  const table = new Uint32Array(1024);
  for (let j = 0; j < 4; j++) {
    for (let b = 0; b < 256; b++) {
      let v = 0;
      for (let t = 0; t < 8; t++) if ((b >> t) & 1) v ^= images[8 * j + t] ?? 0;
      table[256 * j + b] = v >>> 0;
    }
  }
  return table;
}

function crcLayout(splice: GzipSplice, lengths: readonly number[]): CrcLayout {
  let base = 0;
  const after: number[] = [];
  let total = splice.partsLength + lengths.reduce((n, l) => n + l, 0);
  for (const [i, part] of splice.parts.entries()) {
    if (i > 0) {
      const len = lengths[i - 1] ?? 0;
      base = crc32(Buffer.alloc(len), base);
      total -= len;
      after.push(total);
    }
    base = crc32(part, base);
    total -= part.length;
  }
  return { lengths, base, tables: after.map(shiftTable) };
}

/** Compresses the constant parts once. `level` defaults to the best compression (paid once per page). */
export function prepareGzipSplice(parts: readonly Buffer[], level: number = constants.Z_BEST_COMPRESSION): GzipSplice {
  const deflated = parts.map((part) =>
    part.length === 0
      ? Buffer.alloc(0) // nothing to say: an empty part contributes no block at all
      : deflateRawSync(part, { level, finishFlush: constants.Z_SYNC_FLUSH }),
  );
  const partsLength = parts.reduce((n, p) => n + p.length, 0);
  const fixedLength = GZIP_HEADER.length + deflated.reduce((n, d) => n + d.length, 0) + FINAL_EMPTY_STORED.length + 8;
  return { parts, deflated, partsLength, fixedLength, cache: {} };
}

/** Bytes one stored block (or several, for a nonce longer than 65,535 bytes) adds around `length` bytes. */
function storedOverhead(length: number): number {
  return Math.max(1, Math.ceil(length / STORED_MAX)) * 5;
}

function writeStored(out: Buffer, offset: number, data: Buffer): number {
  let at = offset;
  let start = 0;
  do {
    const len = Math.min(STORED_MAX, data.length - start);
    out[at] = 0x00; // BFINAL=0, BTYPE=00 (stored); we are on a byte boundary, so the padding bits are this byte's rest
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(~len & 0xffff, at + 3);
    at += 5;
    at += data.copy(out, at, start, start + len);
    start += len;
  } while (start < data.length);
  return at;
}

/**
 * The gzip body of `parts[0] + fill + parts[1] + fill + ... + parts[n-1]`, built from the pre-compressed
 * parts: only the fill is new. With one value (the nonce) every gap gets it, and the result decompresses
 * to exactly the parts joined with the nonce in every gap; with an array, gap i gets `fill[i]` (nonce, CSRF token,
 * ...).
 */
export function spliceGzip(splice: GzipSplice, fill: string | Buffer | readonly (string | Buffer)[]): Buffer {
  const { parts, deflated } = splice;
  const joins = Math.max(0, parts.length - 1);
  const one = typeof fill === 'string' ? Buffer.from(fill) : Buffer.isBuffer(fill) ? fill : undefined;
  const fills: Buffer[] = [];
  for (let i = 0; i < joins; i++) {
    const f = one ?? (fill as readonly (string | Buffer)[])[i];
    if (f === undefined) throw new RangeError(`spliceGzip: ${String(joins)} values needed`);
    fills.push(typeof f === 'string' ? Buffer.from(f) : f);
  }
  let length = splice.fixedLength;
  let fillLength = 0;
  for (const f of fills) {
    fillLength += f.length;
    if (f.length > 0) length += f.length + storedOverhead(f.length);
  }
  let layout = splice.cache.layout;
  if (layout?.lengths.length !== fills.length || !fills.every((f, i) => f.length === layout?.lengths[i])) {
    layout = crcLayout(
      splice,
      fills.map((f) => f.length),
    );
    splice.cache.layout = layout;
  }
  const out = Buffer.alloc(length);
  let at = GZIP_HEADER.copy(out, 0);
  let crc = layout.base;
  for (const [i, d] of deflated.entries()) {
    const f = fills[i - 1];
    const table = layout.tables[i - 1];
    if (f !== undefined && f.length > 0 && table !== undefined) {
      at = writeStored(out, at, f);
      const v = (crc32(f, ONES) ^ ONES) >>> 0; // the value's own contribution to the raw register
      crc ^=
        (table[v & 0xff] ?? 0) ^
        (table[256 + ((v >>> 8) & 0xff)] ?? 0) ^
        (table[512 + ((v >>> 16) & 0xff)] ?? 0) ^
        (table[768 + (v >>> 24)] ?? 0);
    }
    at += d.copy(out, at);
  }
  crc >>>= 0;
  at += FINAL_EMPTY_STORED.copy(out, at);
  out.writeUInt32LE(crc, at);
  out.writeUInt32LE((splice.partsLength + fillLength) % 0x1_0000_0000, at + 4);
  return out;
}

/** Whether an Accept-Encoding header accepts gzip: the one negotiator's answer, so pages and assets agree. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return negotiateEncoding(acceptEncoding, GZIP_ONLY) === 'gzip';
}
