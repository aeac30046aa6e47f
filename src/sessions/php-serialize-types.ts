/**
 * The PHP value model shared by the reader and the writer (php-serialize.ts describes the format).
 * Kept apart so that either side can be read, and changed, without the other. Pure: imports nothing from the app.
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
    this.payload =
      typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Uint8Array.prototype.slice.call(payload);
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

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
const CANONICAL_INT = /^(?:0|-?[1-9][0-9]{0,18})$/;

/** PHP's zend_symtable rule: canonical decimal int64 strings become int keys. */
export function normalizeKey(key: PhpKey): PhpKey {
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key))
      throw new PhpSerializeError(`array key ${String(key)} is not an integer (use bigint or a string)`);
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
  if (frozen)
    throw new TypeError(
      'this PHP value is frozen (decoded session data): clone() it, change the copy and set it ' + 'back',
    );
}

/**
 * Ordered key → value table; lookups through Maps keyed by type so "1", 1 and 1n never collide.
 * Exported for the writer, which walks it without copies; not part of the public API (see php-serialize.ts).
 */
export abstract class OrderedTable<K extends PhpKey> {
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
    if (typeof key === 'number' && !Number.isSafeInteger(key))
      throw new PhpSerializeError(`property key ${String(key)} is not an integer`);
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
  getProperty(
    name: string,
    visibility: PhpVisibility = 'public',
    declaringClass: string = this.className,
  ): PhpValue | undefined {
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
    return (
      b instanceof PhpCustomObject &&
      a.className === b.className &&
      Buffer.compare(Buffer.from(a.payload), Buffer.from(b.payload)) === 0
    );
  }
  if (a instanceof PhpArray) return b instanceof PhpArray && tablesEqual(a, b, depth);
  if (a instanceof PhpObject)
    return b instanceof PhpObject && a.className === b.className && tablesEqual(a.properties, b.properties, depth);
  return false;
}

function keysEqual(a: PhpKey, b: PhpKey): boolean {
  if (a instanceof PhpBytes || b instanceof PhpBytes)
    return a instanceof PhpBytes && b instanceof PhpBytes && a.toLatin1() === b.toLatin1();
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
// Limits and names that both the reader and the writer check

/** Maximum nesting of arrays/objects, decoding and encoding. */
export const DEFAULT_MAX_DEPTH = 64;

export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** zend_is_valid_class_name: letters, digits, '_', '\\' and bytes >= 0x80 (any non-ASCII char here). */
export function isClassName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f || c === 0x5c || c >= 0x80;
    if (!ok) return false;
  }
  return name.isWellFormed();
}
