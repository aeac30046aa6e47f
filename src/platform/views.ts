/**
 * Views: Nunjucks with autoescape on, govuk-frontend's own macros and page template, templates compiled
 * once and cached. Every render receives `cspNonce` (read by govuk-frontend's template) and `csrfToken`.
 *
 * Pages whose content is the same for everyone (`reply.staticView`) are rendered once per process with a
 * random marker in place of the nonce; each response then only puts its own nonce (and token) between the parts,
 * into a body reused once written (body-pool.ts, docs/adr/0016). Slotted pages (form answers, ADR 0056; the dashboard's
 * content, ADR 0057) go through the same seam: spliced-page.ts, docs/adr/0063.
 * A test proves the two ways give the same bytes apart from the nonce.
 */
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
import { acceptsGzip, prepareGzipSplice, spliceGzip } from './compression.ts';
import { gapValues, renderSpliced, SplicedPages } from './spliced-page.ts';
import type { SplicedPage } from './spliced-page.ts';
import {
  installExportCache,
  installFastFilters,
  installRuntimeSpeedups,
  markedSafe,
  ResolveCachingLoader,
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
     * Renders a page whose HTML is decided by `page.key` but for a few strings (a form's answers, ADR 0056) and perhaps
     * one piece of HTML (the dashboard's content, ADR 0057): rendered once per template, key, path, language and
     * variant with markers (spliced-page.ts, ADR 0063), each response putting back its strings escaped as autoescape
     * does and its HTML whole. The same bytes as `view(template, page.context(i => page.values[i]), status)`.
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
  /** HTML put into the page whole, once, per request: autoescaped by its own render, so holding only what it shows. */
  readonly html?: string;
  /**
   * The page's context with `slot(i)` wherever `values[i]` goes and `html` where `html` goes; given the values
   * themselves (and no `html`), the page as is.
   */
  readonly context: (slot: (i: number) => string, html?: object) => ViewContext;
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

async function views(app: FastifyInstance, options: ViewsOptions): Promise<void> {
  const words = options.words ?? createCatalogue();
  const env = createEnvironment(options.catalogue, options.globals, words);
  if (options.precompile === true) compileAllTemplates(env);
  // Pre-rendered and slotted pages, by template then key, and their bodies: one cache and one budget (ADR 0063).
  const spliced = new SplicedPages();
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
      const key = `slot ${page.lang} ${pathOf(request.url)} ${signedIn ? 'in' : 'out'}\u0000${variant?.key ?? ''}\u0000${page.key}`;
      let made = spliced.get(template, key);
      if (made === undefined) {
        const rendered = renderSpliced(
          env,
          template,
          (markers) => renderContext(request, variant, page.context(markers.text, markers.html)),
          page.values.length,
          page.html !== undefined,
        );
        if (rendered === null) {
          // HTML rendered apart has no whole render to fall back on: a template that loses it is a bug (ADR 0057).
          if (page.html !== undefined) throw new Error(`slotView(${template}): the HTML, nonce or token was not kept`);
          const values = page.values;
          return renderPerRequest(
            this,
            template,
            page.context((i) => values[i] ?? ''),
            status,
            variant,
          );
        }
        spliced.keep(template, key, rendered);
        made = rendered;
      }
      const fill = { nonce: request.cspNonce, csrf: () => request.csrfToken(), texts: page.values, html: page.html };
      const body = spliced.body(made, gapValues(made, fill), this.raw);
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
          ? `static ${language.lang} ${currentPath}`
          : `static ${language.lang} ${currentPath}\u0000${variant.key}`;
      let page = spliced.get(template, key);
      let shown: NonNullable<SplicedPage['static']>;
      if (page?.static === undefined) {
        const rendered = renderSpliced(env, template, () => ({
          ...variant?.context,
          ...context,
          ...language,
          currentPath,
        }));
        if (rendered === null) return renderPerRequest(this, template, context ?? {}, status, variant);
        shown = { context };
        page = { ...rendered, static: shown };
        spliced.keep(template, key, page);
      } else if (page.static.context !== context) {
        throw new Error(`staticView(${template}): context must be the same object on every call`);
      } else {
        shown = page.static;
      }
      const values = gapValues(page, { nonce: request.cspNonce, csrf: () => request.csrfToken() });
      this.code(status).type('text/html; charset=utf-8').header('vary', 'Accept-Encoding');
      if (acceptsGzip(request.headers['accept-encoding'])) {
        // Compressed once per process; only the nonce and token are spliced in per response (compression.ts,
        // docs/adr/0006).
        shown.gzip ??= prepareGzipSplice(page.parts);
        return this.header('content-encoding', 'gzip').send(spliceGzip(shown.gzip, values));
      }
      return this.send(spliced.body(page, values, this.raw));
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
