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
 *
 * The code is split by role: php-serialize-types.ts (the value model above), php-serialize-reader.ts
 * (unserialize) and php-serialize-writer.ts (serialize). Import from this file, the public API.
 */
import {
  DEFAULT_MAX_DEPTH,
  PhpArray,
  PhpBytes,
  PhpCustomObject,
  PhpEnum,
  PhpFloat,
  PhpObject,
  PhpReference,
  PhpSerializeError,
} from './php-serialize-types.ts';
import type { PhpValue } from './php-serialize-types.ts';

export {
  DEFAULT_MAX_DEPTH,
  PhpArray,
  PhpBytes,
  PhpCustomObject,
  PhpEnum,
  PhpFloat,
  PhpObject,
  PhpPropertyTable,
  PhpReference,
  PhpSerializeError,
  normalizeKey,
  phpEquals,
} from './php-serialize-types.ts';
export type { PhpKey, PhpPropName, PhpValue, PhpVisibility } from './php-serialize-types.ts';
export { DEFAULT_MAX_BYTES, PhpReader, unserialize } from './php-serialize-reader.ts';
export type { UnserializeOptions } from './php-serialize-reader.ts';
export { formatPhpFloat, formatPhpFloatDigits, serialize, serializeWithInfo } from './php-serialize-writer.ts';
export type { SerializeOptions, SerializeResult } from './php-serialize-writer.ts';

// ---------------------------------------------------------------------------------------------------
// Plain-data bridges (for stores whose callers use plain JS data)

/**
 * Plain JS → PhpValue. Arrays → list PhpArray; Map → PhpArray in Map order; plain or null-prototype
 * objects → PhpArray of own enumerable keys (JS orders integer-like keys first); Uint8Array → PhpBytes;
 * PhpValues pass through. Anything else (undefined, functions, symbols, class instances) throws.
 */
export function fromPlain(value: unknown, depth = 0): PhpValue {
  if (depth > DEFAULT_MAX_DEPTH) throw new PhpSerializeError('fromPlain: nesting too deep (cycle?)');
  if (
    value === null ||
    typeof value === 'boolean' ||
    typeof value === 'number' ||
    typeof value === 'string' ||
    typeof value === 'bigint'
  )
    return value;
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
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint')
        throw new PhpSerializeError('fromPlain: Map keys must be strings or integers');
      a.set(k, fromPlain(v, depth + 1));
    }
    return a;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    throw new PhpSerializeError('fromPlain: only plain objects, arrays and Maps are supported');
  const a = new PhpArray();
  for (const k of Object.keys(value)) a.set(k, fromPlain((value as Record<string, unknown>)[k], depth + 1));
  return a;
}

/** A plain JS shape of a PHP value (may lose int/float and key-type distinctions: PHP values that do
 * not map cleanly are returned as they are). Lists → arrays; other arrays → null-prototype objects
 * (unless they have non-UTF-8 keys, then the PhpArray itself). Frozen inputs give fresh outputs. */
export type PlainValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PhpFloat
  | PhpBytes
  | PhpObject
  | PhpCustomObject
  | PhpEnum
  | PhpReference
  | PhpArray
  | PlainValue[]
  | { [key: string]: PlainValue };

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
