/**
 * PHP `serialize()`: the encoder, byte-exact with PHP 7.1+ (serialize_precision=-1). Its inputs are our own
 * values, so it checks what PHP could not read back (lone surrogates, bad class names, dangling references).
 */
import { Buffer } from 'node:buffer';
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
} from './php-serialize-types.ts';
import type { OrderedTable, PhpKey, PhpValue } from './php-serialize-types.ts';

// ---------------------------------------------------------------------------------------------------
// Float formatting: PHP's smart_str_append_double with serialize_precision = -1
// (zend_gcvt over the shortest round-trip digits, 17 as the exponential-format threshold).

export function formatPhpFloat(x: number): string {
  // In [1e-4, 1e17) PHP writes the shortest round-trip digits in plain decimal, which is exactly what
  // JavaScript's own number-to-string does there (it goes exponential only outside [1e-6, 1e21)).
  const a = x < 0 ? -x : x;
  if (a >= 1e-4 && a < 1e17) return String(x);
  return formatPhpFloatDigits(x);
}

/** The general case, from the shortest digits and decimal exponent (the unit test checks the fast path against it). */
export function formatPhpFloatDigits(x: number): string {
  if (Number.isNaN(x)) return 'NAN';
  if (x === Infinity) return 'INF';
  if (x === -Infinity) return '-INF';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const neg = x < 0;
  const e = Math.abs(x).toExponential(); // shortest round-trip digits: "d.ddde+X"
  const ePos = e.indexOf('e');
  const mantissa = e.slice(0, ePos);
  const exp = Number(e.slice(ePos + 1));
  const digits = mantissa.length > 1 ? mantissa.charAt(0) + mantissa.slice(2) : mantissa;
  const decpt = exp + 1;
  let out: string;
  if (decpt < 0 ? decpt < -3 : decpt > 17) {
    out = `${digits.charAt(0)}.${digits.length > 1 ? digits.slice(1) : '0'}E${exp < 0 ? '-' : '+'}${Math.abs(exp)}`;
  } else if (decpt <= 0) {
    out = `0.${'0'.repeat(-decpt)}${digits}`;
  } else if (digits.length <= decpt) {
    out = digits + '0'.repeat(decpt - digits.length);
  } else {
    out = `${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  return neg ? `-${out}` : out;
}

// ---------------------------------------------------------------------------------------------------
// Encoder

export interface SerializeOptions {
  /** Maximum nesting of arrays/objects (also catches cycles). Default 64. */
  maxDepth?: number;
  /** Slots already taken before this value (session keys share one slot table). Default 0. */
  slotOffset?: number;
  /** A C: payload was written before this value: do not check reference upper bounds. Default false. */
  opaqueBefore?: boolean;
}

export interface SerializeResult {
  bytes: Buffer;
  /** Slot count after this value (slotOffset + slots it took). */
  slots: number;
  /** Number of r:/R: nodes written. */
  references: number;
  /** True if a C: payload was written (or opaqueBefore was set): slot counts are then a lower bound. */
  opaque: boolean;
}

class Writer {
  private parts: Buffer[] = [];
  private out = '';
  slots: number;
  references = 0;
  opaque = false;
  private depth = 0;
  private readonly maxDepth: number;
  constructor(slotOffset: number, maxDepth: number) {
    this.slots = slotOffset;
    this.maxDepth = maxDepth;
  }
  private raw(bytes: Uint8Array): void {
    if (this.out.length > 0) {
      this.parts.push(Buffer.from(this.out, 'utf8'));
      this.out = '';
    }
    this.parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  finish(): Buffer {
    if (this.parts.length === 0) return Buffer.from(this.out, 'utf8');
    if (this.out.length > 0) this.parts.push(Buffer.from(this.out, 'utf8'));
    return Buffer.concat(this.parts);
  }
  private str(s: string): void {
    if (!s.isWellFormed())
      throw new PhpSerializeError(
        'php serialize: string has a lone surrogate (not representable as UTF-8); use PhpBytes',
      );
    this.out += `s:${Buffer.byteLength(s, 'utf8')}:"${s}";`;
  }
  private bytes(b: PhpBytes): void {
    this.out += `s:${b.bytes.byteLength}:"`;
    this.raw(b.bytes);
    this.out += '";';
  }
  private className(name: string): void {
    if (!isClassName(name)) throw new PhpSerializeError(`php serialize: invalid class name ${JSON.stringify(name)}`);
  }
  private key(k: PhpKey): void {
    if (typeof k === 'string') this.str(k);
    else if (k instanceof PhpBytes) this.bytes(k);
    else this.out += `i:${k};`;
  }
  private table(t: OrderedTable<PhpKey>): void {
    if (++this.depth > this.maxDepth)
      throw new PhpSerializeError(`php serialize: nesting deeper than ${this.maxDepth} (or a cycle)`);
    for (let i = 0; i < t.size; i++) {
      this.key(t.keyAt(i));
      this.value(t.valueAt(i));
    }
    this.depth--;
    this.out += '}';
  }
  value(v: PhpValue): void {
    if (!(v instanceof PhpReference && v.kind === 'R')) this.slots++;
    if (v === null) {
      this.out += 'N;';
    } else if (typeof v === 'boolean') {
      this.out += v ? 'b:1;' : 'b:0;';
    } else if (typeof v === 'number') {
      this.out += Number.isSafeInteger(v) && !Object.is(v, -0) ? `i:${v};` : `d:${formatPhpFloat(v)};`;
    } else if (typeof v === 'string') {
      this.str(v);
    } else if (typeof v === 'bigint') {
      if (v < INT64_MIN || v > INT64_MAX)
        throw new PhpSerializeError(`php serialize: integer ${v} outside the int64 range`);
      this.out += `i:${v};`;
    } else if (v instanceof PhpFloat) {
      this.out += `d:${v.source ?? formatPhpFloat(v.value)};`;
    } else if (v instanceof PhpBytes) {
      this.bytes(v);
    } else if (v instanceof PhpArray) {
      this.out += `a:${v.size}:{`;
      this.table(v);
    } else if (v instanceof PhpObject) {
      this.className(v.className);
      this.out += `O:${Buffer.byteLength(v.className, 'utf8')}:"${v.className}":${v.properties.size}:{`;
      this.table(v.properties);
    } else if (v instanceof PhpCustomObject) {
      this.className(v.className);
      this.out += `C:${Buffer.byteLength(v.className, 'utf8')}:"${v.className}":${v.payload.byteLength}:{`;
      this.raw(v.payload);
      this.out += '}';
      this.opaque = true;
    } else if (v instanceof PhpEnum) {
      this.className(v.className);
      const s = `${v.className}:${v.caseName}`;
      if (v.caseName.length === 0 || !s.isWellFormed()) throw new PhpSerializeError('php serialize: invalid enum case');
      this.out += `E:${Buffer.byteLength(s, 'utf8')}:"${s}";`;
    } else if (v instanceof PhpReference) {
      const available = v.kind === 'r' ? this.slots - 1 : this.slots;
      if (!this.opaque && v.slot > available)
        throw new PhpSerializeError(`php serialize: reference to slot ${v.slot} but only ${available} exist`);
      this.references++;
      this.out += `${v.kind}:${v.slot};`;
    } else {
      throw new PhpSerializeError(`php serialize: unsupported value of type ${typeof v}`);
    }
  }
}

/** Encodes a value and reports slot usage (used by the session codec). */
export function serializeWithInfo(value: PhpValue, options: SerializeOptions = {}): SerializeResult {
  const w = new Writer(options.slotOffset ?? 0, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  w.opaque = options.opaqueBefore ?? false;
  w.value(value);
  return { bytes: w.finish(), slots: w.slots, references: w.references, opaque: w.opaque };
}

/** Encodes a value exactly as PHP's serialize() would. */
export function serialize(value: PhpValue, options?: SerializeOptions): Buffer {
  return serializeWithInfo(value, options).bytes;
}
