/**
 * Streaming check that a PDF carries no active content (ADR 0033): JavaScript (/JavaScript, /JS, so /OpenAction
 * and /AA actions that run JavaScript too), /Launch, embedded files, rich media, XFA forms, and encryption (an
 * encrypted file cannot be checked). Names are read with PDF's #xx escapes decoded (/J#61vaScript is /JavaScript).
 *
 * Dictionaries hidden in compressed streams (PDF 1.5 object streams) are found by inflating every /FlateDecode
 * stream with node:zlib as the bytes arrive, under a cap on the total inflated bytes (a zip bomb stops at the cap).
 * An object stream under any other filter, or one that does not inflate, cannot be checked and is refused.
 * Bytes are never held beyond a few hundred: tokens are carried across chunk boundaries.
 */
import { createInflate } from 'node:zlib';
import type { Inflate } from 'node:zlib';

export type PdfProblem = 'active-content' | 'encrypted' | 'unreadable' | 'inflate-limit';

const ACTIVE = new Set([
  'JavaScript',
  'JS',
  'Launch',
  'EmbeddedFile',
  'EmbeddedFiles',
  'RichMedia',
  'XFA',
  'GoToE',
  'ImportData',
  'SubmitForm',
]);

const isWhite = (b: number): boolean =>
  b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0x0c || b === 0x00;
const isDelim = (b: number): boolean => isWhite(b) || '()<>[]{}/%'.includes(String.fromCharCode(b));
const MAX_TOKEN = 256;

/** Reads PDF syntax byte by byte and reports names and bare keywords (obj, stream, endobj). */
class Tokens {
  private token = '';
  private inName = false;
  private inComment = false;
  private readonly onName: (name: string) => void;
  private readonly onKeyword: (word: string) => void;
  constructor(onName: (name: string) => void, onKeyword: (word: string) => void) {
    this.onName = onName;
    this.onKeyword = onKeyword;
  }

  /** Feeds bytes; returns the offset just after a `stream` keyword's end of line when `stopAtStream`, else -1. */
  feed(bytes: Uint8Array, stopAtStream: boolean): number {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] ?? 0;
      if (this.inComment) {
        if (b === 0x0a || b === 0x0d) this.inComment = false;
        continue;
      }
      if (isDelim(b)) {
        const word = this.flush();
        if (b === 0x2f) this.inName = true;
        else if (b === 0x25) this.inComment = true;
        if (stopAtStream && word === 'stream') {
          // The keyword is followed by CRLF or LF (a lone CR is tolerated by readers; accept it too).
          let at = i;
          if (bytes[at] === 0x0d) at++;
          if (bytes[at] === 0x0a) at++;
          return at;
        }
        continue;
      }
      if (this.token.length < MAX_TOKEN) this.token += String.fromCharCode(b);
    }
    return -1;
  }

  /** Ends the current token (call at the end of a stream, so its last name is reported). */
  flush(): string {
    const t = this.token;
    const wasName = this.inName;
    this.token = '';
    this.inName = false;
    if (t === '') return '';
    if (wasName) {
      this.onName(t.replace(/#([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
      return '';
    }
    this.onKeyword(t);
    return t;
  }
}

export class PdfActiveContentCheck {
  private problem: PdfProblem | undefined;
  private dictNames = new Set<string>();
  private readonly outer: Tokens;
  private inStream = false;
  /** The last bytes of the stream, held back to find `endstream` across chunk boundaries. */
  private held = Buffer.alloc(0);
  private inflater: Inflate | undefined;
  private inflaterDone: Promise<void> | undefined;
  private inflated = 0;
  private streamIsObjStm = false;

  private readonly maxInflatedBytes: number;

  constructor(maxInflatedBytes: number) {
    this.maxInflatedBytes = maxInflatedBytes;
    const onName = (n: string): void => {
      if (ACTIVE.has(n)) this.fail('active-content');
      else if (n === 'Encrypt') this.fail('encrypted');
      this.dictNames.add(n);
    };
    this.outer = new Tokens(onName, (w) => {
      if (w === 'obj' || w === 'endobj') this.dictNames.clear();
    });
  }

  get result(): PdfProblem | undefined {
    return this.problem;
  }

  private fail(p: PdfProblem): void {
    this.problem ??= p;
    this.inflater?.destroy();
  }

  async write(chunk: Uint8Array): Promise<PdfProblem | undefined> {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (bytes.length > 0 && this.problem === undefined) {
      if (!this.inStream) {
        const at = this.outer.feed(bytes, true);
        if (at < 0) break;
        bytes = bytes.subarray(at);
        this.startStream();
        continue;
      }
      // Inside a stream: find `endstream` in the held-back bytes plus this chunk.
      const window = Buffer.concat([this.held, bytes]);
      const end = window.indexOf('endstream', 0, 'latin1');
      if (end < 0) {
        // Hold back what could be the start of `endstream`.
        const keep = Math.min(window.length, 'endstream'.length - 1);
        this.held = window.subarray(window.length - keep);
        await this.streamBytes(window.subarray(0, window.length - keep));
        break;
      }
      let stop = end;
      if (window[stop - 1] === 0x0a) stop--;
      if (window[stop - 1] === 0x0d) stop--;
      this.held = Buffer.alloc(0);
      await this.streamBytes(window.subarray(0, stop));
      await this.endStream();
      bytes = window.subarray(end + 'endstream'.length);
    }
    return this.problem;
  }

  async end(): Promise<PdfProblem | undefined> {
    if (this.inStream && this.problem === undefined) this.fail('unreadable'); // a stream that never ends
    this.outer.flush();
    return this.problem;
  }

  private startStream(): void {
    const names = this.dictNames;
    this.inStream = true;
    this.held = Buffer.alloc(0);
    this.streamIsObjStm = names.has('ObjStm');
    const flate = names.has('FlateDecode') || names.has('Fl');
    const otherFilter =
      [...names].some((n) => n.endsWith('Decode') && n !== 'FlateDecode') ||
      names.has('DecodeParms') ||
      names.has('Crypt');
    if (this.streamIsObjStm && (!flate || otherFilter)) {
      this.fail('unreadable');
      return;
    }
    if (!flate) {
      // Images (DCT, JPX, CCITT, JBIG2) and other filtered data are not PDF syntax; unfiltered streams are read as it.
      this.inflater = undefined;
      this.inner = names.has('Filter') ? undefined : this.newInnerTokens();
      return;
    }
    this.inner = this.newInnerTokens();
    const inflater = createInflate();
    this.inflater = inflater;
    this.inflaterDone = new Promise((resolve) => {
      inflater.on('data', (out: Buffer) => {
        this.inflated += out.length;
        if (this.inflated > this.maxInflatedBytes) {
          this.fail('inflate-limit');
          return;
        }
        this.inner?.feed(out, false);
      });
      inflater.on('error', () => {
        // A broken content stream is common in the wild; a broken object stream hides what it holds.
        if (this.streamIsObjStm) this.fail('unreadable');
        resolve();
      });
      inflater.on('end', () => resolve());
      inflater.on('close', () => resolve());
    });
  }

  private inner: Tokens | undefined;

  private newInnerTokens(): Tokens {
    return new Tokens(
      (n) => {
        if (ACTIVE.has(n)) this.fail('active-content');
        else if (n === 'Encrypt') this.fail('encrypted');
      },
      () => undefined,
    );
  }

  private async streamBytes(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    if (this.inflater !== undefined) {
      const inflater = this.inflater;
      if (inflater.destroyed) return;
      // The callback may never come once the inflater is destroyed at the cap: its end resolves the wait too.
      await Promise.race([new Promise<void>((resolve) => inflater.write(data, () => resolve())), this.inflaterDone]);
    } else {
      this.inner?.feed(data, false);
    }
  }

  private async endStream(): Promise<void> {
    this.inStream = false;
    if (this.inflater !== undefined) {
      const inflater = this.inflater;
      if (!inflater.destroyed) inflater.end();
      await this.inflaterDone;
      this.inflater = undefined;
    }
    this.inner?.flush();
    this.inner = undefined;
    this.dictNames = new Set();
  }
}
