/**
 * The one seam for "render once with markers, splice per request" (docs/adr/0063): pre-rendered public pages
 * (ADR 0016), form pages with their answers (ADR 0056) and the dashboard's shell around its content (ADR 0057).
 *
 * A template is rendered once per key with a random marker for each thing that differs per request, and kept as byte
 * parts and what goes in each gap (`Gap`): the nonce and CSRF token, put in raw but only if SPLICE_SAFE; a text (a
 * typed answer), escaped here exactly as autoescape would (and re-indented as an `indent(n)` on the way re-indents
 * it: a date part inside govuk-frontend's date input); or pre-rendered HTML (autoescaped by its own render), put in
 * whole. Pages are kept in one cache bounded by count and bytes, and bodies come from one byte budget and go back when
 * their response has finished. Tests render both ways and compare the bytes (slots.test.ts, fast-path and page-shell
 * integration tests).
 */
import { randomBytes } from 'node:crypto';
import nunjucks from 'nunjucks';
import { BodyPool, ByteBudget, POOLED_BODY_BYTES, SizedBodies, SPLICE_SAFE } from './body-pool.ts';
import type { Finishes } from './body-pool.ts';
import type { GzipSplice } from './compression.ts';
import { markedSafe, TwoKeyCache } from './view-speedups.ts';

/** What goes in a gap: the nonce, the CSRF token, the pre-rendered HTML, or text number n (escaped). */
export type Gap = 'nonce' | 'csrf' | 'html' | number | IndentedText;

/** Text number `text`, escaped, each newline followed by `indent` spaces (what Nunjucks' `indent` filter adds). */
export interface IndentedText {
  readonly text: number;
  readonly indent: number;
}

export interface SplicedPage {
  readonly parts: readonly Buffer[];
  readonly slots: readonly Gap[];
  readonly partBytes: number;
  /** Once kept, a page whose only gaps are nonce and token reuses its bodies in place (body-pool.ts). */
  bodies?: BodyPool;
  /** A public page served whole (views.ts `staticView`): the context it was rendered from, and its gzip once made. */
  static?: { readonly context: unknown; gzip?: GzipSplice };
}

/** Where the template puts what differs per request: `text(i)` for text i, `html` for the pre-rendered HTML. */
export interface Markers {
  readonly text: (i: number) => string;
  readonly html: object;
}

/**
 * Renders `template` once with markers: for the nonce and token (as `cspNonce` and `csrfToken()`), for `texts` strings
 * and, if `html`, for one piece of HTML. A text's marker has characters that autoescape changes (so it is found only if
 * escaped exactly once, as the page would escape the text), white space at both ends and upper and lower case (so a
 * `trim` or `upper` on the way is seen), and line ends of each kind: `\n` before a space, a letter and another `\n`,
 * `\r\n` and a lone `\r`. A text may come back with a fixed number of spaces after every `\n` and nothing else changed,
 * which is what `indent(n)` does (Nunjucks splits on `\n` only); its gap then adds them after each `\n` of the value.
 * Null, and the page is rendered per request, unless every text's marker is found, each time escaped exactly once and
 * indented so or not at all; the HTML's exactly once; and nothing of any marker in another form.
 */
export function renderSpliced(
  env: nunjucks.Environment,
  template: string,
  context: (markers: Markers) => Record<string, unknown>,
  texts = 0,
  html = false,
): SplicedPage | null {
  const id = randomBytes(12).toString('hex');
  const tag = (i: number): string => `${id}v${String(i)}z`;
  const head = (i: number): string => `<Slot&"'\\${tag(i)}`;
  const raw = (i: number): string => `\n ${head(i)}\nx\r\n\n\r\t>\n `;
  const nonce = `nonce-marker-${id}`;
  const csrf = `csrf-marker-${id}`;
  const htmlMarker = `Html-Marker-${id}`; // mixed case: an `upper` or `lower` on the way is seen
  const out = env.render(template, {
    ...context({ text: raw, html: markedSafe(htmlMarker) }),
    cspNonce: nonce,
    csrfToken: () => csrf,
  });
  const markers: (readonly [string, Gap])[] = [
    [nonce, 'nonce'],
    [csrf, 'csrf'],
  ];
  if (html) {
    if (out.split(htmlMarker).length !== 2) return null;
    markers.push([htmlMarker, 'html']);
  }
  for (let i = 0; i < texts; i++) {
    const gaps = textGaps(out, i, escapeText(head(i)), escapeText(raw(i)));
    if (gaps === null || gaps.length === 0) return null;
    // Every trace of the marker's id must be one of the gaps (an occurrence of the id elsewhere is a transform).
    if (gaps.reduce((n, [shown]) => n + out.split(shown).length - 1, 0) !== out.split(tag(i)).length - 1) return null;
    markers.push(...gaps);
  }
  const { parts, slots } = splitAt(out, markers);
  // Nothing of the markers may be left over (a value shown in some other form, e.g. its length or URL-encoded).
  if (parts.some((p) => p.includes(id))) return null;
  const bytes = parts.map((p) => Buffer.from(p));
  return { parts: bytes, slots, partBytes: bytes.reduce((n, p) => n + p.length, 0) };
}

/**
 * Text i's marker as `out` shows it, once per indentation: `escaped` (the whole marker escaped) with a fixed number of
 * spaces after each `\n`, found by the spaces between the marker's first `\n` and `escapedHead`. Null when an
 * occurrence of the head is not the whole marker so indented.
 */
function textGaps(out: string, i: number, escapedHead: string, escaped: string): (readonly [string, Gap])[] | null {
  const gaps = new Map<number, readonly [string, Gap]>();
  for (let at = out.indexOf(escapedHead); at !== -1; at = out.indexOf(escapedHead, at + 1)) {
    let start = at;
    while (start > 0 && out[start - 1] === ' ') start--;
    const indent = at - start - 1; // the marker's own space after its first \n
    if (indent < 0 || out[start - 1] !== '\n') return null;
    const shown =
      gaps.get(indent)?.[0] ?? (indent === 0 ? escaped : escaped.replaceAll('\n', `\n${' '.repeat(indent)}`));
    if (!out.startsWith(shown, start - 1)) return null;
    gaps.set(indent, [shown, indent === 0 ? i : { text: i, indent }]);
  }
  return [...gaps.values()];
}

/** `html` cut at every occurrence of each marker, and which marker stood in each gap. */
function splitAt<S>(html: string, markers: readonly (readonly [string, S])[]): { parts: string[]; slots: S[] } {
  const parts: string[] = [];
  const slots: S[] = [];
  let from = 0;
  for (;;) {
    let at = -1;
    let found: readonly [string, S] | undefined;
    for (const marker of markers) {
      const i = html.indexOf(marker[0], from);
      if (i !== -1 && (at === -1 || i < at)) {
        at = i;
        found = marker;
      }
    }
    if (found === undefined) break;
    parts.push(html.slice(from, at));
    slots.push(found[1]);
    from = at + found[0].length;
  }
  parts.push(html.slice(from));
  return { parts, slots };
}

/** Nunjucks' own autoescape: what `{{ value }}` does to a string. */
export const escapeText = (value: string): string =>
  (nunjucks.lib as unknown as { escape: (v: string) => string }).escape(value);

/** One response's values: its nonce, its token (asked for only if the page has a gap for it), texts and HTML. */
export interface Fill {
  readonly nonce: string;
  readonly csrf: () => string;
  readonly texts?: readonly string[];
  readonly html?: string;
}

/** What goes in each gap of `page` for `fill`: nonce and token checked SPLICE_SAFE, texts escaped, HTML as it is. */
export function gapValues(page: SplicedPage, fill: Fill): string[] {
  let token: string | undefined;
  const values: string[] = [];
  for (const slot of page.slots) {
    let value: string;
    if (slot === 'nonce' || slot === 'csrf') {
      value = slot === 'nonce' ? fill.nonce : (token ??= fill.csrf());
      if (!SPLICE_SAFE.test(value)) throw new Error('spliced page: a nonce or token would need escaping');
    } else {
      value =
        slot === 'html'
          ? (fill.html ?? '')
          : typeof slot === 'number'
            ? escapeText(fill.texts?.[slot] ?? '')
            : escapeText(fill.texts?.[slot.text] ?? '').replaceAll('\n', `\n${' '.repeat(slot.indent)}`);
    }
    values.push(value);
  }
  return values;
}

/** How many pages are kept, their bytes, and the bytes of idle bodies (docs/adr/0032: bounded by bytes). */
export interface SplicedBounds {
  readonly maxPages: number;
  readonly maxPageBytes: number;
  readonly maxIdleBodyBytes: number;
}

/**
 * Public pages times languages times consent variants, form pages times their error and answer states, and the
 * dashboard's shells (the three caches' bounds before ADR 0063 together): the bytes are what bound memory. Past them a
 * page is rendered per request, as before. Idle bodies: the pools' 8 MiB (the shell's own 4 MiB is gone).
 */
export const SPLICED_BOUNDS: SplicedBounds = {
  maxPages: 1500,
  maxPageBytes: 22 * 1024 * 1024,
  maxIdleBodyBytes: POOLED_BODY_BYTES,
};

/** A page's bytes, a little per part, and for a public page its gzip (about a third) and 4 KiB of CRC tables a gap. */
function pageSize(page: SplicedPage): number {
  const own = page.partBytes + 64 * page.parts.length;
  return page.static === undefined ? own : own + Math.ceil(page.partBytes / 2) + 4096 * (page.parts.length - 1);
}

/** One app's spliced pages (by template, then key) and the bodies they are sent in. */
export class SplicedPages {
  readonly #pages: TwoKeyCache<SplicedPage>;
  readonly #budget: ByteBudget;
  readonly #sized: SizedBodies;

  constructor(bounds: SplicedBounds = SPLICED_BOUNDS) {
    this.#pages = new TwoKeyCache<SplicedPage>(bounds.maxPages, { maxBytes: bounds.maxPageBytes, sizeOf: pageSize });
    this.#budget = new ByteBudget(bounds.maxIdleBodyBytes);
    this.#sized = new SizedBodies(this.#budget);
  }

  get(template: string, key: string): SplicedPage | undefined {
    return this.#pages.get(template, key);
  }

  /**
   * Keeps `page` under `key` if the bounds allow. Everything the page holds is sent to every request with that key:
   * it must have been rendered from nothing of one person's or one request's but what goes in its gaps.
   */
  keep(template: string, key: string, page: SplicedPage): void {
    this.#pages.set(template, key, page);
    // Pooled in place only for a page kept: a pool dropped with idle bodies would keep their share of the budget.
    if (this.#pages.get(template, key) === page && page.slots.every((s) => s === 'nonce' || s === 'csrf'))
      page.bodies = new BodyPool(page.parts, 64, this.#budget);
  }

  /** The page with `values` in its gaps (from `gapValues`), in a body that comes back when `res` has finished. */
  body(page: SplicedPage, values: readonly string[], res: Finishes): Buffer {
    if (page.bodies !== undefined) return page.bodies.body(values, res);
    if (values.length === 0 && page.parts[0] !== undefined) return page.parts[0]; // never written to
    const { parts, slots } = page;
    let size = page.partBytes;
    for (let i = 0; i < values.length; i++) {
      const value = values[i] ?? '';
      size += slots[i] === 'nonce' || slots[i] === 'csrf' ? value.length : Buffer.byteLength(value, 'utf8');
    }
    const body = this.#sized.take(size, res);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) {
        const gap = slots[i - 1];
        at += body.write(values[i - 1] ?? '', at, gap === 'nonce' || gap === 'csrf' ? 'latin1' : 'utf8');
      }
      at += parts[i]?.copy(body, at) ?? 0;
    }
    return body.subarray(0, size);
  }
}

/** The page with `fill`'s values in a new buffer (tests, and a caller without a response to wait on). */
export function spliceWhole(page: SplicedPage, fill: Fill): Buffer {
  const values = gapValues(page, fill);
  const chunks: Buffer[] = [];
  page.parts.forEach((part, i) => {
    if (i > 0) chunks.push(Buffer.from(values[i - 1] ?? ''));
    chunks.push(part);
  });
  return Buffer.concat(chunks);
}
