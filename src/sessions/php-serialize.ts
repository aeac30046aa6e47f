/**
 * PHP `serialize()` / `unserialize()` format, byte-exact, as PHP 7.1+ (serialize_precision=-1) writes it.
 * Pure module: imports nothing from the app, evaluates nothing, instantiates no classes.
 *
 * Value model (PhpValue), chosen so that decode → encode reproduces PHP's bytes exactly:
 *
 *   PHP              decoded as                    encoded from
 *   N;               null                          null
 *   b:0; b:1;        boolean                       boolean
 *   i:<int>;         number (safe integer) or      number when Number.isSafeInteger (and not -0);
 *                    bigint (outside ±2^53-1)      bigint in the int64 range
 *   d:<float>;       PhpFloat (always, so that     PhpFloat, or a JS number that is not a safe integer
 *                    `d:1;` stays a float)         (1.5, NaN, Infinity, -0, 2**60 …)
 *   s:<n>:"…";       string when the bytes are     string (must be well-formed UTF-16: no lone
 *                    valid UTF-8, else PhpBytes    surrogates), or PhpBytes (any bytes)
 *   a:<n>:{…}        PhpArray (ordered; int keys   PhpArray
 *                    number|bigint, string keys
 *                    string|PhpBytes)
 *   O:…:{…}          PhpObject (class name + ordered property table; names kept mangled:
 *                    public `name`, protected `\0*\0name`, private `\0Class\0name`; int names,
 *                    as __serialize() classes like ArrayObject write them, kept as ints)
 *   C:…:{…}          PhpCustomObject (class name + opaque payload bytes, never interpreted)
 *   E:…:"C:Case";    PhpEnum
 *   r:<n>; R:<n>;    PhpReference (kind + slot number, re-encoded as written)
 *
 * Strings: a JS string round-trips as the UTF-8 bytes it came from (the decoder only produces a string
 * when the bytes are valid UTF-8; a leading BOM is kept). Anything else is a PhpBytes holding a private
 * copy of the bytes. String keys follow the same rule.
 *
 * Keys follow PHP's array semantics (zend_symtable): a string key that is a canonical decimal int64
 * ("0", "-5", not "05", "-0") IS an int key, both when decoding `s:1:"1"` and when calling
 * PhpArray#set("1"). Object property tables keep their keys exactly as written (no normalization).
 *
 * Reference slots (r:/R:) follow PHP's var_hash rules: every decoded value takes the next slot (1-based,
 * container before its children, the top-level value included) except `R:` values and array keys /
 * property names. `r:` values do take a slot. Slots continue across the top-level keys of a session
 * (see php-session-codec.ts), hence `slotOffset`. A `C:` payload may hold slots PHP would count (the
 * class's own unserialize() shares the table); we cannot know how many, so after a `C:` the upper bound
 * of later references is not checked.
 *
 * Differences from PHP, on purpose: duplicate keys / property names are rejected (PHP keeps the last;
 * PHP never writes them); `i:` out of int64 range is rejected (PHP 8.2 saturates); the legacy `S:`
 * escaped-string form is rejected; non-canonical numbers PHP accepts (`i:+5;`, `i:007;`, `s:01:`) decode
 * to their value and re-encode canonically (floats keep their exact source text, so `d:.5;` re-encodes
 * as written).
 *
 * Hostile input: input size cap, nesting cap, every count/length checked against the remaining input
 * before anything is allocated, keys stored in Maps (no plain-object assignment, no prototype pollution),
 * errors are PhpSerializeError with the byte offset and what was expected.
 */
import { Buffer, isUtf8 } from 'node:buffer';

// ---------------------------------------------------------------------------------------------------
// Errors

export class PhpSerializeError extends Error {
  /** Byte offset in the input (decode) or -1 (encode). */
  readonly offset: number;
  readonly expected: string;
  constructor(message: string, offset = -1, expected = '') {
    super(offset >= 0 ? `${message} at byte ${offset}` : message);
    this.name = 'PhpSerializeError';
    this.offset = offset;
    this.expected = expected;
  }
}

// ---------------------------------------------------------------------------------------------------
// Value model

/** A PHP float. `source` is the exact text it was decoded from (re-emitted as is), if any. */
export class PhpFloat {
  readonly value: number;
  readonly source: string | undefined;
  constructor(value: number, source?: string) {
    this.value = value;
    this.source = source;
  }
}

/** A PHP string whose bytes are not valid UTF-8 (or that the caller wants kept as bytes). */
export class PhpBytes {
  readonly bytes: Uint8Array;
  /** Copies `bytes` unless `share` is true (the caller promises never to modify them). */
  constructor(bytes: Uint8Array, share = false) {
    this.bytes = share ? bytes : Uint8Array.prototype.slice.call(bytes);
  }
  /** The bytes as a Buffer view (do not modify). */
  toBuffer(): Buffer {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }
  /** Latin-1 view, one char per byte: handy for comparisons and logs. */
  toLatin1(): string {
    return this.toBuffer().toString('latin1');
  }
}

/** `E:<len>:"Class:Case";` (PHP >= 8.1). */
export class PhpEnum {
  readonly className: string;
  readonly caseName: string;
  constructor(className: string, caseName: string) {
    this.className = className;
    this.caseName = caseName;
  }
}

/** `r:<slot>;` (same object again) or `R:<slot>;` (PHP reference `&`). */
export class PhpReference {
  readonly kind: 'r' | 'R';
  readonly slot: number;
  constructor(kind: 'r' | 'R', slot: number) {
    if (!Number.isSafeInteger(slot) || slot < 1) throw new PhpSerializeError(`invalid reference slot ${String(slot)}`);
    this.kind = kind;
    this.slot = slot;
  }
}

/** `C:<len>:"Class":<len>:{payload}`: a Serializable object; payload kept opaque, byte for byte. */
export class PhpCustomObject {
  readonly className: string;
  readonly payload: Uint8Array;
  constructor(className: string, payload: Uint8Array | string) {
    this.className = className;
    this.payload = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Uint8Array.prototype.slice.call(payload);
  }
}

export type PhpValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PhpFloat
  | PhpBytes
  | PhpArray
  | PhpObject
  | PhpCustomObject
  | PhpEnum
  | PhpReference;

/** Array key: int (number when safe, else bigint) or string (string when UTF-8, else PhpBytes). */
export type PhpKey = number | bigint | string | PhpBytes;
/**
 * Property name (mangled for protected/private). Usually a string; int keys occur in the data of
 * classes with __serialize() (PHP >= 7.4 ArrayObject writes `O:11:"ArrayObject":4:{i:0;…}`), so they
 * are kept exactly as written.
 */
export type PhpPropName = PhpKey;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const CANONICAL_INT = /^(?:0|-?[1-9][0-9]{0,18})$/;

/** PHP's zend_symtable rule: canonical decimal int64 strings become int keys. */
export function normalizeKey(key: PhpKey): PhpKey {
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new PhpSerializeError(`array key ${String(key)} is not an integer (use bigint or a string)`);
    return key === 0 ? 0 : key; // -0 → 0
  }
  if (typeof key === 'bigint') {
    if (key < INT64_MIN || key > INT64_MAX) throw new PhpSerializeError(`array key ${key} is outside the int64 range`);
    return key >= BigInt(Number.MIN_SAFE_INTEGER) && key <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(key) : key;
  }
  if (key instanceof PhpBytes) {
    // one key, one representation: UTF-8 bytes are the string key (else "" and PhpBytes("") would differ)
    return isUtf8(key.bytes) ? normalizeKey(key.toBuffer().toString('utf8')) : key;
  }
  const c0 = key.charCodeAt(0); // cheap pre-check: only "-" or a digit can start an int key
  if (key.length <= 20 && ((c0 >= 0x30 && c0 <= 0x39) || c0 === 0x2d) && CANONICAL_INT.test(key)) {
    const b = BigInt(key);
    if (b >= INT64_MIN && b <= INT64_MAX) return normalizeKey(b);
  }
  return key;
}

function checkFrozen(frozen: boolean): void {
  if (frozen) throw new TypeError('this PHP value is frozen (decoded session data): clone() it, change the copy and set it back');
}

/** Ordered key → value table; lookups through Maps keyed by type so "1", 1 and 1n never collide. */
abstract class OrderedTable<K extends PhpKey> {
  protected readonly _keys: K[] = [];
  protected readonly _values: PhpValue[] = [];
  protected _index: Map<string | number | bigint, number> | null = null;
  protected _bytesIndex: Map<string, number> | null = null;
  protected _frozen = false;

  get size(): number {
    return this._keys.length;
  }
  get frozen(): boolean {
    return this._frozen;
  }
  /** One-way, deep: nested arrays and objects are frozen too. */
  freeze(): this {
    if (this._frozen) return this;
    this._frozen = true;
    for (const v of this._values) if (v instanceof PhpArray || v instanceof PhpObject) v.freeze();
    return this;
  }

  protected abstract norm(key: PhpKey): K;

  private lookup(key: K): number | undefined {
    if (key instanceof PhpBytes) {
      if (this._bytesIndex === null) return undefined;
      return this._bytesIndex.get(key.toLatin1());
    }
    if (this._index === null) {
      if (this._keys.length <= 8) {
        for (let i = 0; i < this._keys.length; i++) if (this._keys[i] === key) return i;
        return undefined;
      }
      this.rebuildIndex();
    }
    return this._index?.get(key);
  }
  private rebuildIndex(): void {
    this._index = new Map();
    this._bytesIndex = null;
    this._keys.forEach((k, i) => this.indexKey(k, i));
  }
  private indexKey(key: K, i: number): void {
    if (key instanceof PhpBytes) (this._bytesIndex ??= new Map()).set(key.toLatin1(), i);
    else if (this._index !== null) this._index.set(key, i);
  }

  /** Appends a key known to be normalized; false if it is a duplicate. Used by the decoder. */
  appendUnique(key: K, value: PhpValue): boolean {
    if (this.lookup(key) !== undefined) return false;
    const i = this._keys.length;
    this._keys.push(key);
    this._values.push(value);
    this.indexKey(key, i);
    if (this._index === null && this._keys.length > 8) this.rebuildIndex();
    return true;
  }

  has(key: PhpKey): boolean {
    return this.lookup(this.norm(key)) !== undefined;
  }
  get(key: PhpKey): PhpValue | undefined {
    const i = this.lookup(this.norm(key));
    return i === undefined ? undefined : this._values[i];
  }
  /** Sets a value; an existing key keeps its position, a new key is appended (PHP semantics). */
  set(key: PhpKey, value: PhpValue): this {
    checkFrozen(this._frozen);
    const k = this.norm(key);
    const i = this.lookup(k);
    if (i !== undefined) this._values[i] = value;
    else this.appendUnique(k, value);
    return this;
  }
  delete(key: PhpKey): boolean {
    checkFrozen(this._frozen);
    const i = this.lookup(this.norm(key));
    if (i === undefined) return false;
    this._keys.splice(i, 1);
    this._values.splice(i, 1);
    this._index = null;
    this._bytesIndex = null;
    if (this._keys.length > 8 || this._keys.some((k) => k instanceof PhpBytes)) this.rebuildIndex();
    return true;
  }
  keys(): K[] {
    return this._keys.slice();
  }
  values(): PhpValue[] {
    return this._values.slice();
  }
  entries(): [K, PhpValue][] {
    return this._keys.map((k, i) => [k, this._values[i] as PhpValue]);
  }
  /** Internal fast access for the encoder (no copies). */
  keyAt(i: number): K {
    const k = this._keys[i];
    if (k === undefined) throw new RangeError(`no entry ${i}`);
    return k;
  }
  valueAt(i: number): PhpValue {
    return this._values[i] as PhpValue;
  }
  toMap(): Map<K, PhpValue> {
    return new Map(this.entries());
  }
}

/** A PHP array: ordered, int and string keys. */
export class PhpArray extends OrderedTable<PhpKey> {
  protected norm(key: PhpKey): PhpKey {
    return normalizeKey(key);
  }
  static fromEntries(entries: Iterable<readonly [PhpKey, PhpValue]>): PhpArray {
    const a = new PhpArray();
    for (const [k, v] of entries) a.set(k, v);
    return a;
  }
  /** A list: keys 0..n-1. */
  static fromList(values: Iterable<PhpValue>): PhpArray {
    const a = new PhpArray();
    let i = 0;
    for (const v of values) a.appendUnique(i++, v);
    return a;
  }
  /**
   * From an object's own enumerable string keys. Beware: JS lists integer-like keys first, in numeric
   * order; use fromEntries when order matters.
   */
  static fromObject(obj: Readonly<Record<string, PhpValue>>): PhpArray {
    return PhpArray.fromEntries(Object.entries(obj));
  }
  /** PHP `$a[] = v`: next int key is (largest int key + 1), or 0. */
  push(value: PhpValue): this {
    checkFrozen(this._frozen);
    let next = -1n;
    let any = false;
    for (const k of this._keys) {
      if (typeof k === 'number' || typeof k === 'bigint') {
        const b = BigInt(k);
        if (!any || b > next) next = b;
        any = true;
      }
    }
    // PHP 8.3+ starts at max+1 even for negative keys; 8.2 and earlier at 0 for negative maxima.
    const key = any ? (next < 0n ? 0n : next + 1n) : 0n;
    return this.set(key, value);
  }
  /** True when keys are exactly 0..n-1 in order (PHP's array_is_list). */
  isList(): boolean {
    for (let i = 0; i < this._keys.length; i++) if (this._keys[i] !== i) return false;
    return true;
  }
  /** Values, if this is a list; throws otherwise. */
  toList(): PhpValue[] {
    if (!this.isList()) throw new PhpSerializeError('PHP array is not a list');
    return this._values.slice();
  }
  /**
   * A null-prototype record (safe against prototype pollution). Int keys become their decimal string;
   * a non-UTF-8 (PhpBytes) key throws.
   */
  toRecord(): Record<string, PhpValue> {
    const out = Object.create(null) as Record<string, PhpValue>;
    for (let i = 0; i < this._keys.length; i++) {
      const k = this._keys[i];
      if (k instanceof PhpBytes) throw new PhpSerializeError('PHP array has a non-UTF-8 key');
      out[String(k)] = this._values[i] as PhpValue;
    }
    return out;
  }
  /** Deep mutable copy (leaves are immutable and shared). */
  clone(): PhpArray {
    const a = new PhpArray();
    this._keys.forEach((k, i) => a.appendUnique(k, cloneValue(this.valueAt(i))));
    return a;
  }
}

/** An object's property table: keys kept as written (mangled names for protected/private). */
export class PhpPropertyTable extends OrderedTable<PhpPropName> {
  protected norm(key: PhpKey): PhpPropName {
    if (typeof key === 'number' && !Number.isSafeInteger(key)) throw new PhpSerializeError(`property key ${String(key)} is not an integer`);
    if (key instanceof PhpBytes) return isUtf8(key.bytes) ? key.toBuffer().toString('utf8') : key;
    return typeof key === 'bigint' ? normalizeKey(key) : key === 0 ? 0 : key;
  }
}

export type PhpVisibility = 'public' | 'protected' | 'private';

/** `O:<len>:"Class":<n>:{props}`. */
export class PhpObject {
  readonly className: string;
  readonly properties: PhpPropertyTable;
  constructor(className: string, properties?: Iterable<readonly [PhpPropName, PhpValue]>) {
    this.className = className;
    this.properties = new PhpPropertyTable();
    if (properties !== undefined) for (const [k, v] of properties) this.properties.set(k, v);
  }
  /** The stored (mangled) property name, as PHP writes it. */
  static propertyKey(name: string, visibility: PhpVisibility = 'public', declaringClass?: string): string {
    if (visibility === 'public') return name;
    if (visibility === 'protected') return `\0*\0${name}`;
    if (declaringClass === undefined) throw new PhpSerializeError('a private property needs its declaring class');
    return `\0${declaringClass}\0${name}`;
  }
  /** Splits a stored property name into visibility, name and (private) declaring class. */
  static describeKey(key: string): { visibility: PhpVisibility; name: string; declaringClass?: string } {
    if (key.length > 0 && key.charCodeAt(0) === 0) {
      const end = key.indexOf('\0', 1);
      if (end > 0) {
        const cls = key.slice(1, end);
        const name = key.slice(end + 1);
        if (cls === '*') return { visibility: 'protected', name };
        return { visibility: 'private', name, declaringClass: cls };
      }
    }
    return { visibility: 'public', name: key };
  }
  /** Reads a property by plain name and visibility (private defaults to this object's class). */
  getProperty(name: string, visibility: PhpVisibility = 'public', declaringClass: string = this.className): PhpValue | undefined {
    return this.properties.get(PhpObject.propertyKey(name, visibility, declaringClass));
  }
  get frozen(): boolean {
    return this.properties.frozen;
  }
  freeze(): this {
    this.properties.freeze();
    return this;
  }
  clone(): PhpObject {
    const o = new PhpObject(this.className);
    for (const [k, v] of this.properties.entries()) o.properties.appendUnique(k, cloneValue(v));
    return o;
  }
}

function cloneValue(v: PhpValue): PhpValue {
  return v instanceof PhpArray || v instanceof PhpObject ? v.clone() : v;
}

/** Deep structural equality of two PHP values (int 1 ≠ float 1.0; NaN equals NaN; -0 ≠ 0 for floats). */
export function phpEquals(a: PhpValue, b: PhpValue, depth = 0): boolean {
  if (depth > 256) throw new PhpSerializeError('phpEquals: nesting too deep (cycle?)');
  if (a === b) return true;
  if (typeof a === 'number' || typeof a === 'bigint') {
    // number and bigint are both PHP ints: compare by value
    if (typeof b !== 'number' && typeof b !== 'bigint') return false;
    if (typeof a === 'number' && !Number.isSafeInteger(a)) return typeof b === 'number' && Object.is(a, b);
    if (typeof b === 'number' && !Number.isSafeInteger(b)) return false;
    return BigInt(a) === BigInt(b);
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof PhpFloat) return b instanceof PhpFloat && Object.is(a.value, b.value);
  if (a instanceof PhpBytes) return b instanceof PhpBytes && Buffer.compare(a.toBuffer(), b.toBuffer()) === 0;
  if (a instanceof PhpEnum) return b instanceof PhpEnum && a.className === b.className && a.caseName === b.caseName;
  if (a instanceof PhpReference) return b instanceof PhpReference && a.kind === b.kind && a.slot === b.slot;
  if (a instanceof PhpCustomObject) {
    return b instanceof PhpCustomObject && a.className === b.className && Buffer.compare(Buffer.from(a.payload), Buffer.from(b.payload)) === 0;
  }
  if (a instanceof PhpArray) return b instanceof PhpArray && tablesEqual(a, b, depth);
  if (a instanceof PhpObject) return b instanceof PhpObject && a.className === b.className && tablesEqual(a.properties, b.properties, depth);
  return false;
}

function keysEqual(a: PhpKey, b: PhpKey): boolean {
  if (a instanceof PhpBytes || b instanceof PhpBytes) return a instanceof PhpBytes && b instanceof PhpBytes && a.toLatin1() === b.toLatin1();
  return a === b;
}

function tablesEqual(a: OrderedTable<PhpKey>, b: OrderedTable<PhpKey>, depth: number): boolean {
  if (a.size !== b.size) return false;
  for (let i = 0; i < a.size; i++) {
    if (!keysEqual(a.keyAt(i), b.keyAt(i))) return false;
    if (!phpEquals(a.valueAt(i), b.valueAt(i), depth + 1)) return false;
  }
  return true;
}

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

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** PHP's re2c grammar for d: [+-]? (digits | digits '.' digits? | '.' digits) ([eE] [+-]? digits)?, or NAN / INF / -INF. */
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

/** zend_is_valid_class_name: letters, digits, '_', '\\' and bytes >= 0x80 (any non-ASCII char here). */
function isClassName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f || c === 0x5c || c >= 0x80;
    if (!ok) return false;
  }
  return name.isWellFormed();
}

// ---------------------------------------------------------------------------------------------------
// Decoder

export interface UnserializeOptions {
  /** Maximum input size in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Maximum nesting of arrays/objects. Default 64. */
  maxDepth?: number;
  /** Freeze decoded arrays/objects (mutation throws). Default false. */
  freeze?: boolean;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 64;

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
    const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (buf.length > maxBytes) throw new PhpSerializeError(`input of ${buf.length} bytes exceeds the ${maxBytes}-byte limit`, 0, 'smaller input');
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
      if (n > max) throw new PhpSerializeError(`php unserialize: ${what} exceeds the remaining input`, start, `${what} <= ${max}`);
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
    if (b < INT64_MIN || b > INT64_MAX) throw new PhpSerializeError('php unserialize: integer outside the int64 range', start, 'int64');
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }

  /** The bytes of a `"…"` of known length, as string or PhpBytes. */
  private readQuoted(len: number): string | PhpBytes {
    this.expect(C_QUOTE, 'opening \'"\'');
    const s = this.pos;
    const e = s + len;
    if (e > this.end) this.fail(`${len} bytes of string data`, this.end);
    this.pos = e;
    this.expect(C_QUOTE, 'closing \'"\' (string length mismatch?)');
    if (len <= 32) {
      // Short ASCII strings (most keys and values): building the string in JS beats a native call.
      const buf = this.buf;
      let out = '';
      let i = s;
      for (; i < e; i++) {
        const c = buf[i] ?? 0x80;
        if (c >= 0x80) break;
        out += String.fromCharCode(c);
      }
      if (i === e) return out;
    }
    if (this.allUtf8 || isUtf8(this.buf.subarray(s, e))) return this.buf.toString('utf8', s, e);
    return new PhpBytes(this.buf.subarray(s, e));
  }

  private readClassName(): string {
    const at = this.pos;
    const len = this.readLength(this.end - this.pos, 'class name length');
    this.expect(C_COLON, "':'");
    const name = this.readQuoted(len);
    if (typeof name !== 'string' || !isClassName(name)) throw new PhpSerializeError('php unserialize: invalid class name', at, 'class name');
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
    if (++this.depth > this.maxDepth) throw new PhpSerializeError(`php unserialize: nesting deeper than ${this.maxDepth}`, this.pos, 'shallower nesting');
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
          this.fail('float text and \';\'');
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
          if (!arr.appendUnique(key, value)) throw new PhpSerializeError('php unserialize: duplicate array key', keyAt, 'unique key');
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
          if (!obj.properties.appendUnique(name, value)) throw new PhpSerializeError('php unserialize: duplicate property name', keyAt, 'unique property');
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
          throw new PhpSerializeError(`php unserialize: reference to slot ${slot} but only ${available} exist`, slotAt, `slot 1..${available}`);
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
    if (!s.isWellFormed()) throw new PhpSerializeError('php serialize: string has a lone surrogate (not representable as UTF-8); use PhpBytes');
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
    if (++this.depth > this.maxDepth) throw new PhpSerializeError(`php serialize: nesting deeper than ${this.maxDepth} (or a cycle)`);
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
      if (v < INT64_MIN || v > INT64_MAX) throw new PhpSerializeError(`php serialize: integer ${v} outside the int64 range`);
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
      if (!this.opaque && v.slot > available) throw new PhpSerializeError(`php serialize: reference to slot ${v.slot} but only ${available} exist`);
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

// ---------------------------------------------------------------------------------------------------
// Plain-data bridges (for stores whose callers use plain JS data)

/**
 * Plain JS → PhpValue. Arrays → list PhpArray; Map → PhpArray in Map order; plain or null-prototype
 * objects → PhpArray of own enumerable keys (JS orders integer-like keys first); Uint8Array → PhpBytes;
 * PhpValues pass through. Anything else (undefined, functions, symbols, class instances) throws.
 */
export function fromPlain(value: unknown, depth = 0): PhpValue {
  if (depth > DEFAULT_MAX_DEPTH) throw new PhpSerializeError('fromPlain: nesting too deep (cycle?)');
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') return value;
  if (typeof value !== 'object') throw new PhpSerializeError(`fromPlain: cannot represent a ${typeof value} in PHP`);
  if (
    value instanceof PhpArray ||
    value instanceof PhpObject ||
    value instanceof PhpFloat ||
    value instanceof PhpBytes ||
    value instanceof PhpCustomObject ||
    value instanceof PhpEnum ||
    value instanceof PhpReference
  ) {
    return value;
  }
  if (value instanceof Uint8Array) return new PhpBytes(value);
  if (Array.isArray(value)) return PhpArray.fromList(value.map((v: unknown) => fromPlain(v, depth + 1)));
  if (value instanceof Map) {
    const a = new PhpArray();
    for (const [k, v] of value as Map<unknown, unknown>) {
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') throw new PhpSerializeError('fromPlain: Map keys must be strings or integers');
      a.set(k, fromPlain(v, depth + 1));
    }
    return a;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new PhpSerializeError('fromPlain: only plain objects, arrays and Maps are supported');
  const a = new PhpArray();
  for (const k of Object.keys(value)) a.set(k, fromPlain((value as Record<string, unknown>)[k], depth + 1));
  return a;
}

/** A plain JS shape of a PHP value (may lose int/float and key-type distinctions: PHP values that do
 * not map cleanly are returned as they are). Lists → arrays; other arrays → null-prototype objects
 * (unless they have non-UTF-8 keys, then the PhpArray itself). Frozen inputs give fresh outputs. */
export type PlainValue = null | boolean | number | bigint | string | PhpFloat | PhpBytes | PhpObject | PhpCustomObject | PhpEnum | PhpReference | PhpArray | PlainValue[] | { [key: string]: PlainValue };

export function toPlain(value: PhpValue, depth = 0): PlainValue {
  if (depth > 256) throw new PhpSerializeError('toPlain: nesting too deep (cycle?)');
  if (!(value instanceof PhpArray)) return value;
  if (value.isList()) return value.values().map((v) => toPlain(v, depth + 1));
  const out = Object.create(null) as Record<string, PlainValue>;
  for (const [k, v] of value.entries()) {
    if (k instanceof PhpBytes) return value;
    out[String(k)] = toPlain(v, depth + 1);
  }
  return out;
}
