/**
 * What an uploaded file is, decided from its bytes as they stream past (ADR 0033; OWASP File Upload Cheat Sheet,
 * ASVS 5 V5.2): the type from the first bytes (never the name or the browser's Content-Type), which must agree
 * with the name's extension; a size cap; a truncated file refused (no PNG IEND, JPEG EOI or PDF %%EOF at the end);
 * image pixel size read from the header (PNG IHDR, JPEG SOF, HEIC ispe) under a cap; PDFs without active content.
 *
 * A small hand-written sniffer rather than the `file-type` package: four formats are accepted, the header has to be
 * parsed here anyway for the pixel size, and file-type brings an ESM tokenizer stack (strtok3, token-types, ...)
 * for hundreds of formats we refuse. Only the first HEAD_BYTES and the last TAIL_BYTES are ever held.
 */
import { PdfActiveContentCheck } from './pdf-active-content.ts';
import type { PdfProblem } from './pdf-active-content.ts';
import { extensionOf } from './file-name.ts';

export type FileKind = 'pdf' | 'jpeg' | 'png' | 'heic';

/** The Content-Type each kind is served with (downloads only, as attachments). */
export const MEDIA_TYPES: Readonly<Record<FileKind, string>> = {
  pdf: 'application/pdf',
  jpeg: 'image/jpeg',
  png: 'image/png',
  heic: 'image/heic',
};

const EXTENSIONS: Readonly<Record<string, FileKind>> = {
  pdf: 'pdf',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  png: 'png',
  heic: 'heic',
  heif: 'heic',
};

export type Rejection =
  | 'extension' // the name's extension is not one we accept
  | 'empty'
  | 'too-large'
  | 'unknown-type' // the first bytes are none of the accepted types
  | 'type-mismatch' // the bytes are an accepted type, but not the one the extension says
  | 'truncated'
  | 'image-unreadable'
  | 'image-too-large'
  | `pdf-${PdfProblem}`;

export type Verdict =
  | { readonly ok: true; readonly kind: FileKind; readonly mediaType: string; readonly bytes: number }
  | { readonly ok: false; readonly reason: Rejection };

export interface FileCheckLimits {
  readonly maxBytes: number;
  readonly maxImagePixels: number;
  /** Total bytes a PDF's compressed streams may inflate to (zip-bomb cap). */
  readonly maxInflatedBytes?: number;
}

/** Bytes kept from the start: enough for a JPEG's APPn segments (EXIF is up to 64 KiB) before its SOF. */
const HEAD_BYTES = 256 * 1024;
const TAIL_BYTES = 1024;
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);

export function kindFromName(name: string): FileKind | undefined {
  return Object.hasOwn(EXTENSIONS, extensionOf(name)) ? EXTENSIONS[extensionOf(name)] : undefined;
}

/**
 * The kind the first bytes say, or undefined. 12 bytes decide; HEIC's compatible brands may need up to the ftyp box's
 * end.
 */
export function sniff(head: Uint8Array): FileKind | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 5 && b.toString('latin1', 0, 5) === '%PDF-') return 'pdf';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp') {
    const size = Math.min(b.readUInt32BE(0), b.length);
    const brands = [b.toString('latin1', 8, 12)];
    for (let at = 16; at + 4 <= size; at += 4) brands.push(b.toString('latin1', at, at + 4));
    if (brands.some((x) => HEIC_BRANDS.has(x))) return 'heic';
  }
  return undefined;
}

export interface PixelSize {
  readonly width: number;
  readonly height: number;
}

/** Width and height from an image header, or undefined when the header does not hold them. */
export function imageSize(kind: Exclude<FileKind, 'pdf'>, head: Uint8Array): PixelSize | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (kind === 'png') {
    if (b.length < 24 || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (kind === 'jpeg') return jpegSize(b);
  return heicSize(b, 0, b.length, 0);
}

function jpegSize(b: Buffer): PixelSize | undefined {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1] ?? 0;
    if (marker === 0xff) {
      at++;
      continue;
    } // fill byte
    const length = b.readUInt16BE(at + 2);
    // SOF0-3, 5-7, 9-11, 13-15 (C4 DHT, C8 JPG, CC DAC are not frames)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length) return undefined;
      return { width: b.readUInt16BE(at + 7), height: b.readUInt16BE(at + 5) };
    }
    if (marker === 0xda || length < 2) return undefined; // image data before any frame header
    at += 2 + length;
  }
  return undefined;
}

/** The largest ispe (image spatial extent) in meta > iprp > ipco: the primary image or its grid. */
function heicSize(b: Buffer, start: number, end: number, depth: number): PixelSize | undefined {
  let best: PixelSize | undefined;
  let at = start;
  while (at + 8 <= end && depth < 6) {
    let size = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1 && at + 16 <= end) {
      size = Number(b.readBigUInt64BE(at + 8));
      header = 16;
    }
    if (size === 0) size = end - at;
    if (size < header) return best;
    const boxEnd = Math.min(at + size, end);
    let found: PixelSize | undefined;
    if (type === 'meta')
      found = heicSize(b, at + header + 4, boxEnd, depth + 1); // full box: version and flags
    else if (type === 'iprp' || type === 'ipco') found = heicSize(b, at + header, boxEnd, depth + 1);
    else if (type === 'ispe' && at + header + 12 <= end) {
      found = { width: b.readUInt32BE(at + header + 4), height: b.readUInt32BE(at + header + 8) };
    }
    if (found !== undefined && (best === undefined || found.width * found.height > best.width * best.height))
      best = found;
    at += size;
  }
  return best;
}

/**
 * Checks one file as it streams: `write` each chunk (stop sending once it returns a rejection), then `end`.
 * `name` is the displayed name: its extension must be an accepted one and agree with the bytes.
 */
export class FileCheck {
  private readonly expected: FileKind | undefined;
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);
  private bytes = 0;
  private kind: FileKind | undefined;
  private rejected: Rejection | undefined;
  private pdf: PdfActiveContentCheck | undefined;

  private readonly limits: FileCheckLimits;

  constructor(name: string, limits: FileCheckLimits) {
    this.limits = limits;
    this.expected = kindFromName(name);
    if (this.expected === undefined) this.rejected = 'extension';
  }

  async write(chunk: Uint8Array): Promise<Rejection | undefined> {
    if (this.rejected !== undefined) return this.rejected;
    this.bytes += chunk.byteLength;
    if (this.bytes > this.limits.maxBytes) return (this.rejected = 'too-large');
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const before = this.head; // while undecided, every byte so far (under 64)
    if (this.head.length < HEAD_BYTES)
      this.head = Buffer.concat([this.head, buf.subarray(0, HEAD_BYTES - this.head.length)]);
    this.tail = Buffer.concat([this.tail, buf.subarray(Math.max(0, buf.length - TAIL_BYTES))]);
    this.tail = this.tail.subarray(Math.max(0, this.tail.length - TAIL_BYTES));
    if (this.kind === undefined && this.head.length >= 64) {
      const decided = this.decide();
      if (decided !== 'pdf' && decided !== 'jpeg' && decided !== 'png' && decided !== 'heic')
        return (this.rejected = decided);
      if (decided === 'pdf') this.pendingPdf = Buffer.concat([before, buf]);
    }
    if (this.kind === 'pdf') {
      this.pdf ??= new PdfActiveContentCheck(this.limits.maxInflatedBytes ?? 100 * 1024 * 1024);
      // The PDF check sees every byte: the ones already taken into `head` were passed when the kind was decided.
      const problem = await this.pdf.write(this.pendingPdf ?? buf);
      this.pendingPdf = undefined;
      if (problem !== undefined) return (this.rejected = `pdf-${problem}`);
    }
    return undefined;
  }

  private pendingPdf: Buffer | undefined;

  /** Decides the kind from the head (the first 64 bytes at least, or all of a smaller file). */
  private decide(): FileKind | Rejection {
    const kind = sniff(this.head);
    if (kind === undefined) return 'unknown-type';
    if (kind !== this.expected) return 'type-mismatch';
    this.kind = kind;
    return kind;
  }

  async end(): Promise<Verdict> {
    if (this.rejected === undefined && this.bytes === 0) this.rejected = 'empty';
    if (this.rejected === undefined && this.kind === undefined) {
      const decided = this.decide();
      if (decided === 'unknown-type' || decided === 'type-mismatch') this.rejected = decided;
      if (decided === 'pdf') {
        this.pdf = new PdfActiveContentCheck(this.limits.maxInflatedBytes ?? 100 * 1024 * 1024);
        const problem = await this.pdf.write(this.head);
        this.pendingPdf = undefined;
        if (problem !== undefined) this.rejected = `pdf-${problem}`;
      }
    }
    const kind = this.kind;
    if (this.rejected !== undefined || kind === undefined)
      return { ok: false, reason: this.rejected ?? 'unknown-type' };
    const problem = this.endProblem(kind) ?? (kind === 'pdf' ? pdfRejection(await this.pdf?.end()) : undefined);
    if (problem !== undefined) return { ok: false, reason: (this.rejected = problem) };
    return { ok: true, kind, mediaType: MEDIA_TYPES[kind], bytes: this.bytes };
  }

  private endProblem(kind: FileKind): Rejection | undefined {
    const t = this.tail;
    if (kind === 'pdf' && !t.toString('latin1').includes('%%EOF')) return 'truncated';
    if (
      kind === 'png' &&
      !t.subarray(Math.max(0, t.length - 12)).equals(Buffer.from('0000000049454e44ae426082', 'hex'))
    )
      return 'truncated';
    if (kind === 'jpeg' && !(t.length >= 2 && t[t.length - 2] === 0xff && t[t.length - 1] === 0xd9)) return 'truncated';
    if (kind === 'pdf') return undefined;
    const size = imageSize(kind, this.head);
    if (size === undefined || size.width === 0 || size.height === 0) return 'image-unreadable';
    if (size.width * size.height > this.limits.maxImagePixels) return 'image-too-large';
    return undefined;
  }
}

function pdfRejection(p: PdfProblem | undefined): Rejection | undefined {
  return p === undefined ? undefined : `pdf-${p}`;
}
