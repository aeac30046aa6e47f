/**
 * Views: Nunjucks with autoescape on, govuk-frontend's own macros and page template, templates compiled
 * once and cached. Every render receives `cspNonce` (read by govuk-frontend's template) and `csrfToken`.
 *
 * Pages whose content is the same for everyone (`reply.staticView`) are rendered once per process with a
 * random marker in place of the nonce; each response then only puts its own nonce (and token) between the parts,
 * into a body reused once written (body-pool.ts, docs/adr/0016).
 * A test proves the two ways give the same bytes apart from the nonce.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, pathOf } from '../paths.ts';
import type { Catalogue } from '../i18n/catalogue.ts';
import { chooseLanguage, createCatalogue, DEFAULT_LANGUAGE } from '../i18n/catalogue.ts';
import type { AssetCatalogue } from './assets.ts';
import { BodyPool, ByteBudget, POOLED_BODY_BYTES, SPLICE_SAFE } from './body-pool.ts';
import type { GzipSplice } from './compression.ts';
import { acceptsGzip, prepareGzipSplice, spliceGzip } from './compression.ts';
import {
  installExportCache,
  installFastFilters,
  installRuntimeSpeedups,
  markedSafe,
  ResolveCachingLoader,
  TwoKeyCache,
} from './view-speedups.ts';
import { readCookie } from './session.ts';
import { LANG_COOKIE } from './forms/page.ts';

export type ViewContext = Record<string, unknown>;

declare module 'fastify' {
  interface FastifyReply {
    /** Renders a template with the request's nonce and CSRF token and sends it as HTML. */
    view(template: string, context?: ViewContext, status?: number): FastifyReply;
    /**
     * Sends a page that is the same for every visitor but for the CSP nonce and the CSRF token, rendered once
     * per process and language. Features declare `config.render: 'prerendered'` and call `view` instead (ADR 0036;
     * the lint forbids this call in features, ADR 0043). `context`, if any, must be the same object on every call (a
     * module constant): a different
     * one throws. Signed-in requests are rendered normally (their navigation differs).
     */
    staticView(template: string, status?: number, context?: Readonly<ViewContext>): FastifyReply;
    /**
     * Renders a page whose HTML is decided by `page.key` but for a few strings (a form's answers, ADR 0056): rendered
     * once per template, key, path, language and variant with markers for the strings, which each response puts back
     * escaped as autoescape does. The same bytes as `view(template, page.context(i => page.values[i]), status)`.
     */
    slotView(template: string, page: SlottedView, status?: number): FastifyReply;
  }
}

/** A page for `reply.slotView`: see there. */
export interface SlottedView {
  /** The page's language (its context must give the same `lang` and that language's `t`). */
  readonly lang: string;
  /** Everything else the page's HTML depends on, apart from `values`, the path, language and variant. */
  readonly key: string;
  /** The strings put into the page per request; only ever text (escaped), never markup. */
  readonly values: readonly string[];
  /** The page's context with `slot(i)` wherever `values[i]` goes; given the values themselves, the page as is. */
  readonly context: (slot: (i: number) => string) => ViewContext;
}

const root = join(import.meta.dirname, '..');
/** Where templates are looked up, in order. */
const TEMPLATE_ROOTS: readonly string[] = [
  join(root, 'views'),
  join(root, 'features'),
  // Resolved as an import is, so the compiled build (dist/server, ADR 0058) finds it as the source does.
  join(dirname(fileURLToPath(import.meta.resolve('govuk-frontend/package.json'))), 'dist'),
];

export function createEnvironment(
  catalogue: AssetCatalogue,
  extraGlobals: Record<string, unknown> = {},
  words: Catalogue = createCatalogue(),
): nunjucks.Environment {
  const loader = new ResolveCachingLoader([...TEMPLATE_ROOTS], { noCache: false, watch: false });
  const env = new nunjucks.Environment(loader, {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  installFastFilters(env);
  installExportCache(env);
  installRuntimeSpeedups();
  env.addGlobal('paths', PATHS);
  env.addGlobal('serviceName', 'Make a lasting power of attorney');
  env.addGlobal('asset', (logical: string) => catalogue.url(logical));
  env.addGlobal('assetIntegrity', (logical: string) => catalogue.integrity?.(logical) ?? ''); // SRI (docs/adr/0024)
  env.addGlobal('fragment', fragmentRenderer(env));
  // Words (ADR 0030): `t` is English unless the page's context gives its language's; a fragment, which sees only its
  // arguments, gets `lang` as one and does `{% set t = translator(lang) %}` (so it is cached once per language).
  env.addGlobal('t', words.forLanguage(DEFAULT_LANGUAGE));
  env.addGlobal('translator', (lang: unknown) =>
    words.forLanguage(typeof lang === 'string' && words.languages.includes(lang) ? lang : DEFAULT_LANGUAGE),
  );
  for (const [k, v] of Object.entries(extraGlobals)) env.addGlobal(k, v);
  return env;
}

/** What a fragment may be given: a few scalars, so the rendered versions are few and the key is exact. */
export type FragmentArgs = Readonly<Record<string, string | number | boolean>>;

const FRAGMENT_NAME = /^[a-z][a-z-]{0,40}$/;

/** How many rendered fragments a process keeps, and how many bytes of them (docs/adr/0032: caches sized in bytes). */
export interface FragmentBounds {
  readonly maxEntries: number;
  readonly maxBytes: number;
}
/**
 * Every fragment's versions today: languages x (header: signed in, active item; cookie banner: ask, accepted,
 * rejected x each fixed page path) is about 100 entries of 1-5 KiB; the bounds leave room for Welsh and more pages.
 */
export const FRAGMENT_BOUNDS: FragmentBounds = { maxEntries: 1024, maxBytes: 2 * 1024 * 1024 };

/**
 * The `fragment(name, args)` global: `views/fragments/<name>.njk` rendered once per distinct `args` and reused
 * (the header, phase banner, sign-out button and footer were 90% of a page's render time; docs/adr/0006).
 *
 * A fragment is rendered with its `args` and the environment's globals only (paths, serviceName, asset), never
 * the page's context, so cached HTML cannot hold anything of one request (nonce, CSRF token, a person's data)
 * for another: `csrfToken()` there fails the render and `cspNonce` is empty. Args must be scalars; past the
 * bounds (entries, or bytes counted as two per character) a new version is rendered every time rather than cached.
 */
export function fragmentRenderer(
  env: nunjucks.Environment,
  bounds: FragmentBounds = FRAGMENT_BOUNDS,
): (name: unknown, args?: unknown) => object {
  const cache = new Map<string, object>();
  let bytes = 0;
  return (name: unknown, args: unknown = {}) => {
    if (typeof name !== 'string' || !FRAGMENT_NAME.test(name)) throw new Error(`fragment: bad name ${String(name)}`);
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      throw new Error(`fragment(${name}): arguments must be an object`);
    const entries = Object.entries(args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, value] of entries) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
        throw new Error(`fragment(${name}): argument ${key} is not a string, number or boolean`);
    }
    const key = `${name}${JSON.stringify(entries)}`;
    let html = cache.get(key);
    if (html === undefined) {
      const text = env.render(`fragments/${name}.njk`, Object.fromEntries(entries)).trim();
      html = markedSafe(text); // autoescaped by its own render
      const size = 2 * (key.length + text.length);
      if (cache.size < bounds.maxEntries && bytes + size <= bounds.maxBytes) {
        cache.set(key, html);
        bytes += size;
      }
    }
    return html;
  };
}

/**
 * Reads and compiles every template the environment can load, under both names it may be asked for: the name
 * relative to a search path (`{% from "govuk/components/button/macro.njk" %}`) and the absolute path that a
 * relative `{% include "./template.njk" %}` resolves to. The loader's cache then answers every lookup, so no
 * request reads a template file (synchronous I/O) or compiles one. At start-up: about 200 files, 0.3 s, 3 MiB.
 */
export function compileAllTemplates(env: nunjucks.Environment): number {
  let compiled = 0;
  for (const dir of TEMPLATE_ROOTS) {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the app's own template folders, at start-up
    for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!name.endsWith('.njk')) continue;
      env.getTemplate(name, true);
      env.getTemplate(join(dir, name), true);
      compiled += 2;
    }
  }
  return compiled;
}

export interface ViewsOptions {
  readonly catalogue: AssetCatalogue;
  readonly globals?: Record<string, unknown>;
  /** Compile every template before serving (production), so no request reads one from disk. */
  readonly precompile?: boolean;
  /** The message catalogue (ADR 0030); default the app's own locales. Tests give one with a pseudo-locale. */
  readonly words?: Catalogue;
  /**
   * Per-request page state with few values (the cookie consent banner, docs/adr/0037): merged into every render's
   * context, and `key` picks which pre-rendered version of a static page is sent. May set response headers.
   */
  readonly variant?: (request: FastifyRequest, reply: FastifyReply) => PageVariant;
}

export interface PageVariant {
  /** The same for every request that renders the same HTML; a few distinct values at most. */
  readonly key: string;
  readonly context: Readonly<ViewContext>;
}

/**
 * The request's language and its translate function, unless the page's context already has them (the form kit's
 * pages choose theirs and set the cookie). Only a language the catalogue offers is ever used.
 */
function languageOf(
  request: FastifyRequest,
  words: Catalogue,
  context: ViewContext,
): { lang: string; htmlLang: string; t: unknown } {
  if (typeof context.lang === 'string' && context.t !== undefined)
    return { lang: context.lang, htmlLang: context.lang, t: context.t };
  const query = request.query as Record<string, unknown> | null;
  const { lang } = chooseLanguage(query?.lang, readCookie(request.headers.cookie, LANG_COOKIE), words.languages);
  return { lang, htmlLang: lang, t: words.forLanguage(lang) };
}

export type Slot = 'nonce' | 'csrf';

/** Renders `template` once with marker nonce and CSRF token; returns the parts and what goes in each gap. */
export function prerenderSlots(
  env: nunjucks.Environment,
  template: string,
  context: ViewContext = {},
): { parts: readonly Buffer[]; slots: readonly Slot[] } {
  const id = randomBytes(12).toString('hex');
  const nonce = `nonce-marker-${id}`;
  const csrf = `csrf-marker-${id}`;
  const html = env.render(template, { ...context, cspNonce: nonce, csrfToken: () => csrf });
  const { parts, slots } = splitAt<Slot>(html, [
    [nonce, 'nonce'],
    [csrf, 'csrf'],
  ]);
  return { parts: parts.map((p) => Buffer.from(p)), slots };
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

/** What goes in a gap of a slotted page: the nonce, the CSRF token or the request's string number n. */
export type ValueSlot = Slot | number;

/**
 * A page rendered once with markers (ADR 0056): its parts, and what goes between each two. Once kept, a page whose only
 * gaps are the nonce and token (a form with errors and nothing typed) reuses its bodies as a pre-rendered page does.
 */
export interface SlottedPage {
  readonly parts: readonly Buffer[];
  readonly slots: readonly ValueSlot[];
  bodies?: BodyPool;
}

/**
 * Renders `template` once with a marker for each of `count` strings, and for the nonce and CSRF token. A string's
 * marker has characters that autoescape changes (so it is found only if escaped exactly once, as the page would
 * escape the string), white space at both ends and upper and lower case (so a `trim`, `indent` or `upper` on the way
 * is seen): the page is slotted only if every marker is found, each time escaped exactly once and nowhere in any
 * other form. Otherwise null: the page cannot take its strings spliced in, and is rendered per request.
 */
export function renderSlotted(
  env: nunjucks.Environment,
  template: string,
  context: (slot: (i: number) => string) => ViewContext,
  count: number,
): SlottedPage | null {
  const id = randomBytes(12).toString('hex');
  const tag = (i: number): string => `${id}v${String(i)}z`;
  const raw = (i: number): string => `\n <Slot&"'\\${tag(i)}>\n `;
  const nonce = `nonce-marker-${id}`;
  const csrf = `csrf-marker-${id}`;
  const html = env.render(template, { ...context(raw), cspNonce: nonce, csrfToken: () => csrf });
  const markers: (readonly [string, ValueSlot])[] = [
    [nonce, 'nonce'],
    [csrf, 'csrf'],
  ];
  for (let i = 0; i < count; i++) {
    const escaped = escapeText(raw(i));
    const times = html.split(escaped).length - 1;
    if (times === 0 || html.split(tag(i)).length - 1 !== times) return null;
    markers.push([escaped, i]);
  }
  const { parts, slots } = splitAt(html, markers);
  // Nothing of the markers may be left over (a value shown in some other form, e.g. its length or URL-encoded).
  if (parts.some((p) => p.includes(id))) return null;
  return { parts: parts.map((p) => Buffer.from(p)), slots };
}

/** Nunjucks' own autoescape: what `{{ value }}` does to a string. */
const escapeText = (value: string): string =>
  (nunjucks.lib as unknown as { escape: (v: string) => string }).escape(value);

/**
 * The page with the request's nonce, token and strings (escaped) in their gaps; a body from the page's pool when it
 * has one (given back when `res` has finished).
 */
export function fillSlotted(
  page: SlottedPage,
  nonce: string,
  csrfToken: () => string,
  values: readonly string[],
  res?: Parameters<BodyPool['body']>[1],
): Buffer {
  let token: string | undefined;
  const filled = page.slots.map((slot) => {
    if (slot === 'nonce' || slot === 'csrf') {
      const value = slot === 'nonce' ? nonce : (token ??= csrfToken());
      if (!SPLICE_SAFE.test(value)) throw new Error('slotView: a nonce or token would need escaping');
      return value;
    }
    return escapeText(values[slot] ?? '');
  });
  if (page.bodies !== undefined && res !== undefined) return page.bodies.body(filled, res);
  const chunks: Buffer[] = [];
  page.parts.forEach((part, i) => {
    if (i > 0) chunks.push(Buffer.from(filled[i - 1] ?? ''));
    chunks.push(part);
  });
  return Buffer.concat(chunks);
}

/**
 * Slotted pages (ADR 0056): forms times their error and answer states times languages and variants; the byte cap is
 * what bounds memory. A page past it is rendered per request, as before.
 */
const MAX_SLOTTED = 1000;
/** About 250 form pages of 16 KiB. */
const SLOTTED_BYTES = 4 * 1024 * 1024;
/** A page's bytes and a little for each part (its pooled bodies count against the pools' own budget). */
const slottedSize = (page: SlottedPage): number => page.parts.reduce((n, p) => n + p.length, 64 * page.parts.length);

/** Pages times languages times consent variants (docs/adr/0037); the byte cap below is what bounds memory. */
const MAX_PRERENDERED = 400;
/** Bytes of pre-rendered pages kept (docs/adr/0032): every current page and its variants fit many times over. */
const PRERENDERED_BYTES = 16 * 1024 * 1024;
/**
 * What a pre-rendered page holds: its parts, their gzip once made (about a third of them), 4 KiB of CRC tables per gap.
 */
const prerenderedSize = (page: { readonly parts: readonly Buffer[] }): number => {
  const bytes = page.parts.reduce((n, p) => n + p.length, 0);
  return Math.ceil(bytes * 1.5) + 4096 * (page.parts.length - 1);
};

async function views(app: FastifyInstance, options: ViewsOptions): Promise<void> {
  const words = options.words ?? createCatalogue();
  const env = createEnvironment(options.catalogue, options.globals, words);
  if (options.precompile === true) compileAllTemplates(env);
  // By template, then variant (path and language); at most MAX_PRERENDERED pages and PRERENDERED_BYTES are kept, and
  // their idle bodies share one budget.
  const prerendered = new TwoKeyCache<{
    readonly parts: readonly Buffer[];
    readonly bodies: BodyPool;
    readonly slots: readonly Slot[];
    readonly context: unknown;
    gzip?: GzipSplice;
  }>(MAX_PRERENDERED, { maxBytes: PRERENDERED_BYTES, sizeOf: prerenderedSize });
  const bodyBudget = new ByteBudget(POOLED_BODY_BYTES);
  // By template, then path, language, variant and the page's own key (ADR 0056), bounded by bytes as above.
  const slotted = new TwoKeyCache<SlottedPage>(MAX_SLOTTED, { maxBytes: SLOTTED_BYTES, sizeOf: slottedSize });
  app.decorate('views', env);
  app.decorate('words', words);
  const variantOf = options.variant;

  // How a page is rendered is the route's config, not the feature's choice: `render: 'prerendered'` serves a 200 page
  // whose context is a frozen constant from its pre-rendered copy (per template, path and language); anything else,
  // and every signed-in request, is rendered per request.
  app.decorateReply(
    'view',
    function view(this: FastifyReply, template: string, context: ViewContext = {}, status = 200) {
      const request = this.request;
      if (
        status === 200 &&
        Object.isFrozen(context) &&
        request.routeOptions.config.render === 'prerendered' &&
        (request as { user?: unknown }).user === undefined
      ) {
        return this.staticView(template, status, context);
      }
      return renderPerRequest(this, template, context, status);
    },
  );

  /** What a per-request render sees; slotView renders the same with markers in place of nonce and token. */
  function renderContext(request: FastifyRequest, variant: PageVariant | undefined, context: ViewContext): ViewContext {
    return {
      ...variant?.context,
      ...context,
      ...languageOf(request, words, context),
      cspNonce: request.cspNonce,
      csrfToken: () => request.csrfToken(),
      currentPath: pathOf(request.url),
      signedIn: (request as { user?: unknown }).user !== undefined,
    };
  }

  function renderPerRequest(
    reply: FastifyReply,
    template: string,
    context: ViewContext,
    status: number,
    variant: PageVariant | undefined = variantOf?.(reply.request, reply),
  ): FastifyReply {
    const html = env.render(template, renderContext(reply.request, variant, context));
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  }

  app.decorateReply(
    'slotView',
    function slotView(this: FastifyReply, template: string, page: SlottedView, status = 200) {
      const request = this.request;
      const variant = variantOf?.(request, this);
      const signedIn = (request as { user?: unknown }).user !== undefined;
      const key = `${page.lang} ${pathOf(request.url)} ${signedIn ? 'in' : 'out'}\u0000${variant?.key ?? ''}\u0000${page.key}`;
      let slots = slotted.get(template, key);
      if (slots === undefined) {
        const made = renderSlotted(
          env,
          template,
          (slot) => renderContext(request, variant, page.context(slot)),
          page.values.length,
        );
        if (made === null) {
          const values = page.values;
          return renderPerRequest(
            this,
            template,
            page.context((i) => values[i] ?? ''),
            status,
            variant,
          );
        }
        slotted.set(template, key, made);
        // Pooled bodies only for a page kept: a pool dropped with idle bodies would keep their share of the budget.
        if (slotted.get(template, key) === made && made.slots.every((s) => typeof s !== 'number'))
          made.bodies = new BodyPool(made.parts, 64, bodyBudget);
        slots = made;
      }
      const body = fillSlotted(slots, request.cspNonce, () => request.csrfToken(), page.values, this.raw);
      return this.code(status).type('text/html; charset=utf-8').send(body);
    },
  );

  app.decorateReply(
    'staticView',
    function staticView(this: FastifyReply, template: string, status = 200, context?: Readonly<ViewContext>) {
      const request = this.request;
      if ((request as { user?: unknown }).user !== undefined)
        return renderPerRequest(this, template, context ?? {}, status);
      const currentPath = pathOf(request.url);
      const language = languageOf(request, words, context ?? {});
      const variant = variantOf?.(request, this);
      // One pre-rendered page per template, path, language and consent variant (ADR 0030, ADR 0037).
      const key =
        variant === undefined
          ? `${language.lang} ${currentPath}`
          : `${language.lang} ${currentPath}\u0000${variant.key}`;
      let page = prerendered.get(template, key);
      if (page === undefined) {
        const { parts, slots } = prerenderSlots(env, template, {
          ...variant?.context,
          ...context,
          ...language,
          currentPath,
        });
        page = { parts, slots, bodies: new BodyPool(parts, 64, bodyBudget), context };
        prerendered.set(template, key, page);
      } else if (page.context !== context) {
        throw new Error(`staticView(${template}): context must be the same object on every call`);
      }
      const values: string[] = [];
      let token: string | undefined;
      for (const slot of page.slots) {
        let value: string;
        if (slot === 'nonce') {
          value = request.cspNonce;
        } else {
          token ??= request.csrfToken();
          value = token;
        }
        if (!SPLICE_SAFE.test(value)) throw new Error('staticView: a value to splice in would need escaping');
        values.push(value);
      }
      this.code(status).type('text/html; charset=utf-8').header('vary', 'Accept-Encoding');
      if (acceptsGzip(request.headers['accept-encoding'])) {
        // Compressed once per process; only the nonce and token are spliced in per response (compression.ts,
        // docs/adr/0006).
        page.gzip ??= prepareGzipSplice(page.parts);
        return this.header('content-encoding', 'gzip').send(spliceGzip(page.gzip, values));
      }
      return this.send(page.bodies.body(values, this.raw));
    },
  );
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How the route's pages are rendered (the one fast-path seam, issue 19): 'prerendered' serves the page whose
     * context is a frozen constant from a copy rendered once per template, path and language, with only the nonce
     * and CSRF token spliced in (ADR 0016); 'per-request' (the default) renders every time.
     */
    render?: 'prerendered' | 'per-request';
  }
  interface FastifyInstance {
    views: nunjucks.Environment;
    /** The message catalogue the views translate with (ADR 0030). */
    words: Catalogue;
  }
}

export default fp(views, { name: 'lpa-views' });
