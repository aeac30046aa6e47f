/**
 * PHP `unserialize()`: the decoder, the side that meets hostile input (session data read back from Redis).
 * Reference slots, the differences from PHP and the hostile-input limits are described in php-serialize.ts.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import {
  DEFAULT_MAX_DEPTH,
  INT64_MAX,
  INT64_MIN,
  PhpArray,
  PhpBytes,
  PhpCustomObject,
  PhpEnum,
  PhpFloat,
  PhpObject,
  PhpReference,
  PhpSerializeError,
  isClassName,
  isDigit,
  normalizeKey,
} from './php-serialize-types.ts';
import type { PhpKey, PhpValue } from './php-serialize-types.ts';

export interface UnserializeOptions {
  /** Maximum input size in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Maximum nesting of arrays/objects. Default 64. */
  maxDepth?: number;
  /** Freeze decoded arrays/objects (mutation throws). Default false. */
  freeze?: boolean;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * PHP's re2c grammar for d: [+-]? (digits | digits '.' digits? | '.' digits) ([eE] [+-]? digits)?, or NAN / INF / -INF.
 */
function isFloatText(t: string): boolean {
  if (t === 'NAN' || t === 'INF' || t === '-INF') return true;
  let i = 0;
  const n = t.length;
  if (t.charCodeAt(0) === 0x2b || t.charCodeAt(0) === 0x2d) i++;
  while (i < n && isDigit(t.charCodeAt(i))) i++;
  const intDigits = i - (t.charCodeAt(0) === 0x2b || t.charCodeAt(0) === 0x2d ? 1 : 0);
  let fracDigits = 0;
  if (i < n && t.charCodeAt(i) === 0x2e) {
    const fracStart = ++i;
    while (i < n && isDigit(t.charCodeAt(i))) i++;
    fracDigits = i - fracStart;
  }
  if (intDigits === 0 && fracDigits === 0) return false;
  if (i < n && (t.charCodeAt(i) === 0x65 || t.charCodeAt(i) === 0x45)) {
    i++;
    if (i < n && (t.charCodeAt(i) === 0x2b || t.charCodeAt(i) === 0x2d)) i++;
    const expStart = i;
    while (i < n && isDigit(t.charCodeAt(i))) i++;
    if (i === expStart) return false;
  }
  return i === n;
}

const C_QUOTE = 0x22;
const C_COLON = 0x3a;
const C_SEMI = 0x3b;
const C_LBRACE = 0x7b;
const C_RBRACE = 0x7d;

/**
 * Reads values from a buffer; one reader per input so that reference slots are counted across several
 * top-level values (the session codec reads one value per session key).
 */
export class PhpReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  /** Slots taken so far (see the header comment). */
  slots: number;
  /** Number of C: payloads skipped so far (slot counts are then a lower bound). */
  opaqueCount = 0;
  /** Number of r:/R: nodes read so far. */
  references = 0;
  private depth = 0;
  private readonly maxDepth: number;
  private readonly freeze: boolean;
  private readonly allUtf8: boolean;

  constructor(input: Uint8Array | string, options: UnserializeOptions = {}, slotOffset = 0) {
    const buf =
      typeof input === 'string'
        ? Buffer.from(input, 'utf8')
        : Buffer.isBuffer(input)
          ? input
          : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (buf.length > maxBytes)
      throw new PhpSerializeError(
        `input of ${buf.length} bytes exceeds the ${maxBytes}-byte limit`,
        0,
        'smaller input',
      );
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.slots = slotOffset;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.freeze = options.freeze ?? false;
    // In valid UTF-8 an ASCII byte is never inside a multi-byte sequence, so every string (delimited by
    // ASCII quotes) of an all-UTF-8 input is itself valid UTF-8: check once.
    this.allUtf8 = isUtf8(buf);
  }

  fail(expected: string, at = this.pos): never {
    const found = at >= this.end ? 'end of input' : `0x${(this.buf[at] ?? 0).toString(16).padStart(2, '0')}`;
    throw new PhpSerializeError(`php unserialize: expected ${expected}, found ${found}`, at, expected);
  }

  private expect(byte: number, what: string): void {
    if (this.buf[this.pos] !== byte) this.fail(what);
    this.pos++;
  }

  /** [0-9]+ as a non-negative length/count, at most `max`. */
  private readLength(max: number, what: string): number {
    const start = this.pos;
    let n = 0;
    let c = this.buf[this.pos];
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      if (n > max)
        throw new PhpSerializeError(`php unserialize: ${what} exceeds the remaining input`, start, `${what} <= ${max}`);
      c = this.buf[++this.pos];
    }
    if (this.pos === start) this.fail(what);
    return n;
  }

  /** [+-]?[0-9]+ as int64 (number when safe, else bigint), up to (not including) `terminator`. */
  private readInt(terminator: number): number | bigint {
    const start = this.pos;
    let i = this.pos;
    let neg = false;
    let c = this.buf[i];
    if (c === 0x2d || c === 0x2b) {
      neg = c === 0x2d;
      c = this.buf[++i];
    }
    const digitsStart = i;
    let n = 0;
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      c = this.buf[++i];
    }
    if (i === digitsStart) {
      this.pos = i;
      this.fail('integer digits');
    }
    if (c !== terminator) {
      this.pos = i;
      this.fail(terminator === C_SEMI ? "';' after integer" : 'terminator after integer');
    }
    this.pos = i + 1;
    if (i - digitsStart <= 15) return neg ? (n === 0 ? 0 : -n) : n;
    const b = BigInt(this.buf.toString('latin1', start, i));
    if (b < INT64_MIN || b > INT64_MAX)
      throw new PhpSerializeError('php unserialize: integer outside the int64 range', start, 'int64');
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }

  /** The bytes of a `"…"` of known length, as string or PhpBytes. */
  private readQuoted(len: number): string | PhpBytes {
    this.expect(C_QUOTE, "opening '\"'");
    const s = this.pos;
    const e = s + len;
    if (e > this.end) this.fail(`${len} bytes of string data`, this.end);
    this.pos = e;
    this.expect(C_QUOTE, "closing '\"' (string length mismatch?)");
    if (len <= 32) {
      // Short ASCII strings (most keys and values): checked here, then copied once. (Building the string a character
      // at a time cost no less CPU and left a chain of partial strings per character for the collector.)
      const buf = this.buf;
      let i = s;
      while (i < e && (buf[i] ?? 0x80) < 0x80) i++;
      if (i === e) return buf.toString('latin1', s, e);
    }
    if (this.allUtf8 || isUtf8(this.buf.subarray(s, e))) return this.buf.toString('utf8', s, e);
    return new PhpBytes(this.buf.subarray(s, e));
  }

  private readClassName(): string {
    const at = this.pos;
    const len = this.readLength(this.end - this.pos, 'class name length');
    this.expect(C_COLON, "':'");
    const name = this.readQuoted(len);
    if (typeof name !== 'string' || !isClassName(name))
      throw new PhpSerializeError('php unserialize: invalid class name', at, 'class name');
    return name;
  }

  /** An array key (normalized) or property name (as written): i: or s: only; never takes a slot. */
  private readKey(normalize = true): PhpKey {
    const c = this.buf[this.pos];
    if (this.buf[this.pos + 1] !== C_COLON) this.fail("array key ('i:' or 's:')");
    if (c === 0x69) {
      this.pos += 2;
      return this.readInt(C_SEMI);
    }
    if (c === 0x73) {
      this.pos += 2;
      const len = this.readLength(this.end - this.pos, 'string length');
      this.expect(C_COLON, "':'");
      const s = this.readQuoted(len);
      this.expect(C_SEMI, "';'");
      return typeof s === 'string' && normalize ? normalizeKey(s) : s;
    }
    return this.fail("array key ('i:' or 's:')");
  }

  private enter(): void {
    if (++this.depth > this.maxDepth)
      throw new PhpSerializeError(
        `php unserialize: nesting deeper than ${this.maxDepth}`,
        this.pos,
        'shallower nesting',
      );
  }

  readValue(): PhpValue {
    const buf = this.buf;
    const at = this.pos;
    const tag = buf[at];
    if (tag === undefined) this.fail('a value');
    if (buf[at + 1] !== (tag === 0x4e ? C_SEMI : C_COLON)) {
      this.pos = at + 1;
      if (!'NbidsaOCErR'.includes(String.fromCharCode(tag))) this.fail('a type tag (N b i d s a O C E r R)', at);
      this.fail(tag === 0x4e ? "';'" : "':'");
    }
    if (tag !== 0x52) this.slots++; // every value but R: takes a slot
    switch (tag) {
      case 0x4e: // N
        this.pos = at + 2;
        return null;
      case 0x62: {
        // b
        const v = buf[at + 2];
        if ((v !== 0x30 && v !== 0x31) || buf[at + 3] !== C_SEMI) {
          this.pos = at + 2;
          this.fail("'0;' or '1;'");
        }
        this.pos = at + 4;
        return v === 0x31;
      }
      case 0x69: // i
        this.pos = at + 2;
        return this.readInt(C_SEMI);
      case 0x64: {
        // d
        const s = at + 2;
        const e = buf.indexOf(C_SEMI, s);
        if (e < 0 || e - s > 400) {
          this.pos = s;
          this.fail("float text and ';'");
        }
        const text = buf.toString('latin1', s, e);
        if (!isFloatText(text)) {
          this.pos = s;
          this.fail('a float (digits, NAN, INF or -INF)');
        }
        this.pos = e + 1;
        const value = text === 'NAN' ? NaN : text === 'INF' ? Infinity : text === '-INF' ? -Infinity : Number(text);
        return new PhpFloat(value, text);
      }
      case 0x73: {
        // s
        this.pos = at + 2;
        const len = this.readLength(this.end - this.pos, 'string length');
        this.expect(C_COLON, "':'");
        const v = this.readQuoted(len);
        this.expect(C_SEMI, "';'");
        return v;
      }
      case 0x61: {
        // a
        this.pos = at + 2;
        // the smallest element `i:0;N;` is 6 bytes
        const n = this.readLength(Math.floor((this.end - this.pos) / 6), 'element count');
        this.expect(C_COLON, "':'");
        this.expect(C_LBRACE, "'{'");
        this.enter();
        const arr = new PhpArray();
        for (let i = 0; i < n; i++) {
          const keyAt = this.pos;
          const key = this.readKey();
          const value = this.readValue();
          if (!arr.appendUnique(key, value))
            throw new PhpSerializeError('php unserialize: duplicate array key', keyAt, 'unique key');
        }
        this.expect(C_RBRACE, "'}' (element count mismatch?)");
        this.depth--;
        if (this.freeze) arr.freeze();
        return arr;
      }
      case 0x4f: {
        // O
        this.pos = at + 2;
        const className = this.readClassName();
        this.expect(C_COLON, "':'");
        const n = this.readLength(Math.floor((this.end - this.pos) / 6), 'property count');
        this.expect(C_COLON, "':'");
        this.expect(C_LBRACE, "'{'");
        this.enter();
        const obj = new PhpObject(className);
        for (let i = 0; i < n; i++) {
          const keyAt = this.pos;
          const name = this.readKey(false);
          const value = this.readValue();
          if (!obj.properties.appendUnique(name, value))
            throw new PhpSerializeError('php unserialize: duplicate property name', keyAt, 'unique property');
        }
        this.expect(C_RBRACE, "'}' (property count mismatch?)");
        this.depth--;
        if (this.freeze) obj.freeze();
        return obj;
      }
      case 0x43: {
        // C
        this.pos = at + 2;
        const className = this.readClassName();
        this.expect(C_COLON, "':'");
        const len = this.readLength(this.end - this.pos, 'payload length');
        this.expect(C_COLON, "':'");
        this.expect(C_LBRACE, "'{'");
        const s = this.pos;
        if (s + len > this.end) this.fail(`${len} bytes of payload`, this.end);
        this.pos = s + len;
        this.expect(C_RBRACE, "'}' (payload length mismatch?)");
        this.opaqueCount++;
        return new PhpCustomObject(className, buf.subarray(s, s + len));
      }
      case 0x45: {
        // E
        this.pos = at + 2;
        const len = this.readLength(this.end - this.pos, 'enum name length');
        this.expect(C_COLON, "':'");
        const nameAt = this.pos;
        const v = this.readQuoted(len);
        this.expect(C_SEMI, "';'");
        const colon = typeof v === 'string' ? v.indexOf(':') : -1;
        if (typeof v !== 'string' || colon <= 0 || colon === v.length - 1 || !isClassName(v.slice(0, colon))) {
          throw new PhpSerializeError('php unserialize: invalid enum "Class:Case"', nameAt, 'Class:Case');
        }
        return new PhpEnum(v.slice(0, colon), v.slice(colon + 1));
      }
      case 0x72: // r
      case 0x52: {
        // R
        this.pos = at + 2;
        const slotAt = this.pos;
        const slot = this.readLength(Number.MAX_SAFE_INTEGER, 'reference slot');
        this.expect(C_SEMI, "';'");
        // R: refers to an earlier slot; r: has just taken its own, so it refers to one before that.
        const available = tag === 0x72 ? this.slots - 1 : this.slots;
        if (slot < 1 || (this.opaqueCount === 0 && slot > available)) {
          throw new PhpSerializeError(
            `php unserialize: reference to slot ${slot} but only ${available} exist`,
            slotAt,
            `slot 1..${available}`,
          );
        }
        this.references++;
        return new PhpReference(tag === 0x72 ? 'r' : 'R', slot);
      }
      default:
        return this.fail('a type tag (N b i d s a O C E r R)', at);
    }
  }
}

/** Decodes one serialized value; the whole input must be consumed. */
export function unserialize(input: Uint8Array | string, options?: UnserializeOptions): PhpValue {
  const r = new PhpReader(input, options);
  const v = r.readValue();
  if (r.pos !== r.end) r.fail('end of input (trailing bytes)');
  return v;
}
