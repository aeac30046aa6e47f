/**
 * Four drop-in replacements for Nunjucks internals that a CPU profile of a GOV.UK page render showed as hot
 * (docs/adr/0006). Each gives the same output as the built-in it replaces, which view-speedups.test.ts checks
 * against the built-in on generated input; none changes escaping.
 *
 * - `trim`: the built-in runs `/^\s*|\s*$/g` over every macro's caller output (14% of a render). JavaScript's
 *   `\s` and `String.prototype.trim` remove the same set of characters, so native trim is the same function.
 * - `indent`: the built-in splits into lines and joins again; replacing every newline is the same string.
 * - template name resolution: every `{% include "./template.njk" %}` inside a govuk-frontend macro resolved its
 *   path with `path.resolve` on every call (10% of a render). The answer depends only on the two names.
 * - imports: every `{% from "x" import y %}` ran x's top level again on every render, to define its macros anew
 *   (govuk-frontend's page template imports five macro files, and each component's template imports more): about
 *   a third of the signed-in dashboard's render. `installExportCache` keeps what an import without context exports.
 */
import nunjucks from 'nunjucks';

/** Whether Nunjucks holds `value` as already-escaped HTML. */
export const isMarkedSafe = (value: unknown): value is nunjucks.runtime.SafeString =>
  value instanceof nunjucks.runtime.SafeString;
/**
 * `html` marked as already-escaped, for a result whose input was (filters keep the input's safeness, as the built-ins
 * do).
 */
export const markedSafe = (html: string): object => new nunjucks.runtime.SafeString(html);

type Filter = (value: unknown, ...args: unknown[]) => unknown;

/**
 * Nunjucks' `trim`, without the regular expression. Anything but a string goes to the built-in (which throws as
 * before).
 */
export function fastTrim(builtin: Filter): Filter {
  return (value: unknown) => {
    if (typeof value === 'string') return value.trim();
    if (isMarkedSafe(value)) return markedSafe(String(value).trim());
    return builtin(value);
  };
}

/** Nunjucks' `indent(width = 4, first = false)`, as one replace instead of split, map and join. */
export function fastIndent(builtin: Filter): Filter {
  return (value: unknown, width?: unknown, indentFirst?: unknown) => {
    if (value === '') return '';
    const safe = isMarkedSafe(value);
    if (typeof value !== 'string' && !safe) return builtin(value, width, indentFirst);
    // As the built-in: `width || 4` spaces, counted the way its loop compares (`i < width`).
    // The built-in's own `||`: 0, '' and false mean 4 too.
    // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- as the built-in (above)
    const count = Number(width || 4);
    let pad = '';
    for (let i = 0; i < count; i++) pad += ' ';
    const out = (indentFirst ? pad : '') + String(value).replaceAll('\n', `\n${pad}`);
    return safe ? markedSafe(out) : out;
  };
}

/**
 * A map keyed by two strings, nested so a lookup builds no key string, holding at most `max` values and, when given
 * a `sizeOf`, at most `maxBytes` of them (past either, `set` keeps nothing new). For keys that come from code and
 * templates, not from requests. Pre-rendered pages are bounded by bytes (docs/adr/0032): variants of a page
 * (languages, consent states) multiply entries, and a count says nothing about their memory.
 */
export class TwoKeyCache<V> {
  readonly #outer = new Map<string, Map<string, V>>();
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #sizeOf: ((value: V) => number) | undefined;
  #count = 0;
  #bytes = 0;

  constructor(max: number, bytes?: { readonly maxBytes: number; readonly sizeOf: (value: V) => number }) {
    this.#max = max;
    this.#maxBytes = bytes?.maxBytes ?? Infinity;
    this.#sizeOf = bytes?.sizeOf;
  }

  /** The bytes the values hold, as `sizeOf` counts them (0 without one). */
  get bytes(): number {
    return this.#bytes;
  }

  get(a: string, b: string): V | undefined {
    return this.#outer.get(a)?.get(b);
  }

  set(a: string, b: string, value: V): void {
    const previous = this.#outer.get(a)?.get(b);
    const size = this.#sizeOf?.(value) ?? 0;
    const freed = previous === undefined ? 0 : (this.#sizeOf?.(previous) ?? 0);
    if ((previous === undefined && this.#count >= this.#max) || this.#bytes - freed + size > this.#maxBytes) return;
    let inner = this.#outer.get(a);
    if (inner === undefined) {
      inner = new Map();
      this.#outer.set(a, inner);
    }
    if (previous === undefined) this.#count++;
    this.#bytes += size - freed;
    inner.set(b, value);
  }
}

/**
 * A FileSystemLoader whose relative-name resolution is remembered (bounded: template names come from templates, not
 * requests).
 */
export class ResolveCachingLoader extends nunjucks.FileSystemLoader {
  readonly #resolved = new TwoKeyCache<string>(1000);

  override resolve(from: string, to: string): string {
    const hit = this.#resolved.get(from, to);
    if (hit !== undefined) return hit;
    const resolved = super.resolve(from, to);
    this.#resolved.set(from, to, resolved);
    return resolved;
  }
}

/** What Nunjucks' `Template` has inside (not in its type declarations). */
interface TemplateInternals {
  readonly env: unknown;
  getExported: (this: TemplateInternals, ctx?: unknown, parentFrame?: unknown, cb?: unknown) => unknown;
}
type ExportCallback = (err: unknown, exported?: unknown) => void;

const exportCaching = new WeakSet<nunjucks.Environment>();
const exportsOf = new WeakMap<TemplateInternals, unknown>();
let exportCacheInstalled = false;

/**
 * Makes `env` run a template's top level once per process when it is imported without context (`{% from "x"
 * import y %}` and `{% import "x" as y %}`, which Nunjucks compiles to `getExported(callback)`): later imports get
 * the same exported macros. Same output, because such an import's context is empty but for the environment's
 * globals, so its top level defines the same macros every time; a macro keeps nothing between calls (each call
 * gets a fresh frame, as when one page calls it twice). Needs what views.ts guarantees: templates never change
 * while the process runs, and every render is synchronous (no async filters or loaders), so two renders never
 * interleave inside one macro. Imports `with context` run as before. Other environments are left alone.
 */
export function installExportCache(env: nunjucks.Environment): void {
  exportCaching.add(env);
  if (exportCacheInstalled) return;
  exportCacheInstalled = true;
  const proto = (nunjucks.Template as unknown as { prototype: TemplateInternals }).prototype;
  const builtin = proto.getExported;
  proto.getExported = function getExported(
    this: TemplateInternals,
    ctx?: unknown,
    parentFrame?: unknown,
    cb?: unknown,
  ): unknown {
    if (
      typeof ctx !== 'function' ||
      parentFrame !== undefined ||
      cb !== undefined ||
      !exportCaching.has(this.env as nunjucks.Environment)
    )
      return builtin.call(this, ctx, parentFrame, cb);
    const callback = ctx as ExportCallback;
    const exported = exportsOf.get(this); // always an object once kept
    if (exported !== undefined) {
      callback(null, exported);
      return undefined;
    }
    return builtin.call(this, (err: unknown, result?: unknown) => {
      if ((err === null || err === undefined) && result !== undefined) exportsOf.set(this, result);
      callback(err, result);
    });
  };
}

interface FrameInternals {
  variables: Record<string, unknown>;
  resolve(name: string, forWrite?: boolean): FrameInternals | undefined;
  set: (this: FrameInternals, name: string, value: unknown, resolveUp?: boolean) => void;
}
type Escape = (value: string) => string;

let runtimeSpeedupsInstalled = false;
/** The built-ins replaced, kept for the tests that compare them. */
export const runtimeBuiltins: { set?: FrameInternals['set']; escape?: Escape } = {};
const NEEDS_ESCAPE = /[&"'<>\\]/;

/**
 * Two Nunjucks internals every render calls many times (a form page with errors: about 8 % of its CPU), replaced
 * process-wide by versions with the same results (view-speedups.test.ts compares them with the built-ins):
 * - `Frame.set` split every variable name on '.' to allow dotted names; a name without a dot now skips the split.
 * - `lib.escape` ran a replace with a callback over every output value; a value with nothing to escape (most of
 *   them) is now returned after one test.
 */
export function installRuntimeSpeedups(): void {
  if (runtimeSpeedupsInstalled) return;
  runtimeSpeedupsInstalled = true;
  const frame = (nunjucks.runtime as unknown as { Frame: { prototype: FrameInternals } }).Frame.prototype;
  const builtinSet = frame.set;
  runtimeBuiltins.set = builtinSet;
  frame.set = function set(this: FrameInternals, name: string, value: unknown, resolveUp?: boolean): void {
    if (typeof name !== 'string' || name.includes('.')) {
      builtinSet.call(this, name, value, resolveUp);
      return;
    }
    const target = resolveUp === true ? (this.resolve(name, true) ?? this) : this;
    target.variables[name] = value;
  };
  const lib = nunjucks.lib as unknown as { escape: Escape };
  const builtinEscape = lib.escape;
  runtimeBuiltins.escape = builtinEscape;
  lib.escape = (value: string): string => (NEEDS_ESCAPE.test(value) ? builtinEscape(value) : value);
}

/** Installs the two filters on an environment. */
export function installFastFilters(env: nunjucks.Environment): void {
  env.addFilter('trim', fastTrim(env.getFilter('trim') as Filter));
  env.addFilter('indent', fastIndent(env.getFilter('indent') as Filter));
}
