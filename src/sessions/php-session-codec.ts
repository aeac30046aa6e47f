/**
 * PHP's `php` session serialize_handler format (the default; what the PHP front stores under Redis key
 * `PHPREDIS_SESSION:<id>`): for each top-level key, `name|<serialize(value)>`, concatenated, nothing
 * between. Pure module: depends only on php-serialize.ts.
 *
 * API
 *   decodeSession(raw: Buffer | Uint8Array | string, options?) → PhpSession
 *   encodeSession(session: PhpSession) → Buffer                 (same as session.encode())
 *   PhpSession: ordered map name → PhpValue, in stored order
 *     .get(name) .has(name) .names() .entries() .size
 *     .set(name, value)   existing key keeps its place, new key is appended (like PHP's $_SESSION)
 *     .delete(name) .clear()
 *     .changes() → SessionPatch   what this session changed since it was decoded
 *     .applyPatch(patch)          replays a patch (on a freshly read session)
 *     .encode() → Buffer
 *   PhpSession.empty() → a new, empty session.
 *
 * Byte fidelity: every decoded entry keeps its raw serialized bytes, and encode() writes those bytes
 * back untouched unless the entry was set to a different value. Decoded values are FROZEN (mutating a
 * decoded PhpArray/PhpObject throws): to change a key, clone() the value, change the copy and set() it.
 * That is what makes "unchanged" reliable: an entry is dirty only if set() gave it a value that is not
 * phpEquals() to the decoded one.
 *
 * Lost-update avoidance (the store's read-modify-write): a request decodes the session, works on it,
 * and at the end takes `patch = session.changes()` (empty when nothing changed: skip the write). The
 * store then reads the CURRENT stored bytes, `fresh = decodeSession(current)`, `fresh.applyPatch(patch)`,
 * writes `fresh.encode()`. Keys the request did not touch keep whatever a concurrent request wrote.
 * A patch is {clear, ops}: `clear` (from session.clear()) empties the target first; ops are, in order,
 * {op:'set', name, value} or {op:'delete', name}.
 *
 * References: PHP numbers r:/R: slots across the WHOLE session (one table for all keys, top-level values
 * included). An entry's raw bytes are therefore only reusable if everything before it is unchanged and
 * in place; encode() throws a PhpSessionError when an entry containing r:/R: would be moved by a change
 * before it (neither era of the PHP front writes references in sessions; failing loudly beats silently
 * re-pointing them).
 *
 * Differences from PHP: a name that appears twice is rejected (PHP keeps the last; it never writes
 * that); names must be valid UTF-8 and may not contain '|' (PHP's rule). A name like "5" is fine: PHP's
 * session_decode keeps it as a string key and writes it back.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { DEFAULT_MAX_BYTES, PhpReader, PhpSerializeError, phpEquals, serializeWithInfo } from './php-serialize.ts';
import type { PhpValue, UnserializeOptions } from './php-serialize.ts';

export class PhpSessionError extends PhpSerializeError {
  constructor(message: string, offset = -1, expected = '') {
    super(message, offset, expected);
    this.name = 'PhpSessionError';
  }
}

export type SessionPatchOp =
  | { readonly op: 'set'; readonly name: string; readonly value: PhpValue }
  | { readonly op: 'delete'; readonly name: string };

export interface SessionPatch {
  /** Empty the target before applying ops (the request cleared its session). */
  readonly clear: boolean;
  readonly ops: readonly SessionPatchOp[];
}

/** maxBytes (default 1 MiB), maxDepth (default 64); `freeze` defaults to TRUE here. */
export type DecodeSessionOptions = UnserializeOptions;

interface Entry {
  readonly name: string;
  readonly value: PhpValue;
  /** Serialized value bytes as decoded; undefined once the app set a different value. */
  readonly raw: Buffer | undefined;
  /** Index in the decoded session (only meaningful while raw is set). */
  readonly origIndex: number;
  /** Slots this value takes, references it holds, whether it holds a C: payload. */
  readonly slots: number;
  readonly references: number;
  readonly opaque: boolean;
}

const PIPE = 0x7c;

function checkName(name: string): void {
  if (typeof name !== 'string') throw new PhpSessionError('session key must be a string');
  if (name.includes('|')) throw new PhpSessionError(`session key ${JSON.stringify(name)} contains '|'`);
  if (!name.isWellFormed()) throw new PhpSessionError('session key has a lone surrogate');
}

export class PhpSession {
  private entries_: Entry[] = [];
  private readonly baseline: ReadonlyMap<string, Entry>;
  private cleared = false;

  private constructor(entries: Entry[]) {
    this.entries_ = entries;
    this.baseline = new Map(entries.map((e) => [e.name, e]));
  }

  static empty(): PhpSession {
    return new PhpSession([]);
  }

  /** @internal used by decodeSession */
  static fromEntries(entries: Entry[]): PhpSession {
    return new PhpSession(entries);
  }

  get size(): number {
    return this.entries_.length;
  }
  private indexOf(name: string): number {
    return this.entries_.findIndex((e) => e.name === name);
  }
  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }
  get(name: string): PhpValue | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.entries_[i]?.value;
  }
  names(): string[] {
    return this.entries_.map((e) => e.name);
  }
  entries(): [string, PhpValue][] {
    return this.entries_.map((e) => [e.name, e.value]);
  }
  /** The raw serialized bytes of an unchanged decoded entry (undefined if new or changed). */
  rawOf(name: string): Buffer | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.entries_[i]?.raw;
  }

  set(name: string, value: PhpValue): this {
    checkName(name);
    const i = this.indexOf(name);
    const cur = i >= 0 ? this.entries_[i] : undefined;
    if (cur !== undefined) {
      if (cur.raw !== undefined && (cur.value === value || phpEquals(cur.value, value))) return this;
      this.entries_[i] = { name, value, raw: undefined, origIndex: -1, slots: 0, references: 0, opaque: false };
    } else {
      this.entries_.push({ name, value, raw: undefined, origIndex: -1, slots: 0, references: 0, opaque: false });
    }
    return this;
  }
  delete(name: string): boolean {
    const i = this.indexOf(name);
    if (i < 0) return false;
    this.entries_.splice(i, 1);
    return true;
  }
  clear(): void {
    this.entries_ = [];
    this.cleared = true;
  }

  /** What changed since decode: deletions first (baseline order), then sets (current order). */
  changes(): SessionPatch {
    const ops: SessionPatchOp[] = [];
    if (!this.cleared) {
      for (const name of this.baseline.keys()) if (!this.has(name)) ops.push({ op: 'delete', name });
    }
    for (const e of this.entries_) {
      if (this.cleared || e.raw === undefined) ops.push({ op: 'set', name: e.name, value: e.value });
    }
    return { clear: this.cleared, ops };
  }

  applyPatch(patch: SessionPatch): this {
    if (patch.clear) this.clear();
    for (const op of patch.ops) {
      if (op.op === 'delete') this.delete(op.name);
      else this.set(op.name, op.value);
    }
    return this;
  }

  encode(): Buffer {
    const parts: Buffer[] = [];
    let slots = 0;
    let opaque = false;
    let prefixIntact = true;
    for (const [i, e] of this.entries_.entries()) {
      checkName(e.name);
      parts.push(Buffer.from(`${e.name}|`, 'utf8'));
      if (e.raw !== undefined) {
        const intact: boolean = prefixIntact && e.origIndex === i;
        if (e.references > 0 && !intact) {
          throw new PhpSessionError(
            `session key ${JSON.stringify(e.name)} holds PHP references (r:/R:) whose slot numbers ` +
              `would be changed by an edit to an earlier key`,
          );
        }
        prefixIntact = intact;
        parts.push(e.raw);
        slots += e.slots;
        opaque ||= e.opaque;
      } else {
        prefixIntact = false;
        const r = serializeWithInfo(e.value, { slotOffset: slots, opaqueBefore: opaque });
        parts.push(r.bytes);
        slots = r.slots;
        opaque = r.opaque;
      }
    }
    return Buffer.concat(parts);
  }
}

/** Parses a `php`-handler session string. Empty input is an empty session. */
export function decodeSession(raw: Buffer | Uint8Array | string, options: DecodeSessionOptions = {}): PhpSession {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const input = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (input.byteLength > maxBytes)
    throw new PhpSessionError(
      `session of ${input.byteLength} bytes exceeds the ${maxBytes}-byte limit`,
      0,
      'smaller input',
    );
  // Private copy: raw entry bytes are views into it, immune to the caller reusing its buffer.
  const buf = Buffer.from(input);
  const reader = new PhpReader(buf, { ...options, freeze: options.freeze ?? true });
  const entries: Entry[] = [];
  const seen = new Set<string>();
  let p = 0;
  while (p < buf.length) {
    const q = buf.indexOf(PIPE, p);
    if (q < 0) throw new PhpSessionError("php session: expected '|' after a key name", buf.length, "'|'");
    const nameBytes = buf.subarray(p, q);
    if (!isUtf8(nameBytes)) throw new PhpSessionError('php session: key name is not valid UTF-8', p, 'UTF-8 key name');
    const name = nameBytes.toString('utf8');
    if (seen.has(name))
      throw new PhpSessionError(`php session: key ${JSON.stringify(name)} appears twice`, p, 'unique key names');
    seen.add(name);
    reader.pos = q + 1;
    const slotsBefore = reader.slots;
    const refsBefore = reader.references;
    const opaqueBefore = reader.opaqueCount;
    const value = reader.readValue();
    entries.push({
      name,
      value,
      raw: buf.subarray(q + 1, reader.pos),
      origIndex: entries.length,
      slots: reader.slots - slotsBefore,
      references: reader.references - refsBefore,
      opaque: reader.opaqueCount > opaqueBefore,
    });
    p = reader.pos;
  }
  return PhpSession.fromEntries(entries);
}

export function encodeSession(session: PhpSession): Buffer {
  return session.encode();
}
