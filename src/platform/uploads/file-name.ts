/**
 * Names of uploaded files are only ever displayed, escaped by the templates (ADR 0033): never used in a path, a
 * storage key or a header without encoding. This makes them fit to show: the last path segment only (browsers
 * may send C:\fakepath\...), no control characters (NUL included), no bidirectional or invisible formatting
 * characters (an RTL override can make "evil\u202Efdp.exe" read as "evilexe.pdf"), whitespace collapsed, and a
 * length cap that keeps the extension.
 */

/** Longest displayed name, in characters (grapheme clusters). */
export const MAX_DISPLAY_NAME = 100;

/** C0 and C1 controls and DEL; the Arabic letter mark; zero-width characters and LRM/RLM; line and paragraph
 * separators, bidi embeddings and overrides; word joiner, invisible operators and bidi isolates; the BOM. */
function unsafe(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x61c ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x2069) ||
    cp === 0xfeff
  );
}

// Made on first use: a Segmenter touches ICU's break data in the node binary (about 1 MiB of a worker's resident
// memory, docs/adr/0032), and only an upload needs it.
let graphemes: Intl.Segmenter | undefined;

/** The user-perceived characters of s (an emoji with modifiers is one). */
function characters(s: string): string[] {
  graphemes ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  return Array.from(graphemes.segment(s), (g) => g.segment);
}

export function displayName(raw: string, max = MAX_DISPLAY_NAME): string {
  let cleaned = '';
  for (const ch of raw.normalize('NFC')) if (!unsafe(ch.codePointAt(0) ?? 0)) cleaned += ch;
  const last = cleaned.slice(Math.max(cleaned.lastIndexOf('/'), cleaned.lastIndexOf('\\')) + 1);
  const name = last.replace(/\s+/gu, ' ').trim().replace(/^\.+/u, '');
  const chars = characters(name);
  if (chars.length === 0) return 'file';
  if (chars.length <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? characters(name.slice(dot)) : [];
  const keepExt = ext.length <= 10 ? ext : [];
  return chars.slice(0, max - keepExt.length - 1).join('') + '\u2026' + keepExt.join('');
}
/** The lower-cased extension of a (displayed) name, without the dot, or '' when it has none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** Longest name accepted, in UTF-8 bytes: what common file systems allow, so no real file's name is longer. */
export const MAX_NAME_BYTES = 255;

/**
 * Why a name as sent is refused (issue 23), or undefined. No real file is named like this (browsers send the last
 * segment, file systems forbid NUL and names over 255 bytes), so such a name is someone testing the service: the
 * file is refused and the person asked to rename it, rather than shown a name different from the one sent.
 * Bidi overrides, isolates and other invisible characters are refused too: they make a name read as another.
 */
export function nameProblem(raw: string): 'path' | 'characters' | 'too-long' | undefined {
  if (Buffer.byteLength(raw, 'utf8') > MAX_NAME_BYTES) return 'too-long';
  if (raw.includes('/') || raw.includes('\\')) return 'path';
  for (const ch of raw) if (unsafe(ch.codePointAt(0) ?? 0)) return 'characters';
  return undefined;
}
