/**
 * Request limits: what a request may be before any handler sees it.
 *
 * - Host: every HTTP/1.1 request has one (400 otherwise); in production the Host (or, from a trusted proxy,
 * X-Forwarded-Host) must be PUBLIC_ORIGIN's host,
 *   except on the machine health checks (HOST_CHECK_EXEMPT).
 * - Methods: only those a route declares; others get 405 with Allow (see errors.ts, which reads `allowedMethods`).
 * - Bodies: only application/x-www-form-urlencoded (415 otherwise), at most BODY_LIMIT_BYTES (413), at most
 *   MAX_FIELDS fields (413), each name once (400). Routes may add their own parser (the CSP report endpoint).
 * Sizes of headers and timeouts for slow clients are server options (see app.ts `serverOptions`).
 */
import { parse as parseQuery } from 'node:querystring';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { httpError } from './http-error.ts';
import { PATHS, pathOf } from '../paths.ts';

export const MAX_FIELDS = 32;

/**
 * Paths the Host check lets through, whatever the Host. A load balancer's or the container's health check
 * reaches an instance by its address (Host 10.0.0.5:8005), as it reaches the PHP front's /ping/elb; refusing it
 * would mark every healthy instance down. Neither answer is built from the Host (plain text and JSON: no links,
 * no redirects), and neither touches the session. /ping, a page for people, is reached by the public host.
 */
export const HOST_CHECK_EXEMPT: ReadonlySet<string> = new Set([PATHS.pingElb, PATHS.pingJson]);

export interface LimitsOptions {
  readonly publicHost: string;
  readonly checkHost: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Methods registered for a concrete path (static routes and `/*` prefixes), for 405 responses. */
    allowedMethods(path: string): string[];
  }
}

/** Parses a form body into a null-prototype object of strings; refuses repeated names and too many fields. */
export function parseForm(body: string): Record<string, string> {
  let fields = 1;
  for (let i = 0; i < body.length; i++) if (body.charCodeAt(i) === 38 /* & */) fields++;
  if (fields > MAX_FIELDS) throw httpError(413, 'too many form fields');
  const raw = parseQuery(body, '&', '=', { maxKeys: MAX_FIELDS + 1 });
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw httpError(400, 'a form field was repeated');
    out[key] = value;
  }
  return out;
}

async function limits(app: FastifyInstance, options: LimitsOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req: FastifyRequest, body: string, done) => {
      try {
        done(null, parseForm(body));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );

  const routes = new Map<string, Set<string>>();
  const prefixes: [string, Set<string>][] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const url = route.url;
    let set: Set<string> | undefined;
    if (url.endsWith('/*')) {
      const prefix = url.slice(0, -1);
      set = prefixes.find(([p]) => p === prefix)?.[1];
      if (set === undefined) {
        set = new Set();
        prefixes.push([prefix, set]);
      }
    } else {
      set = routes.get(url);
      if (set === undefined) {
        set = new Set();
        routes.set(url, set);
      }
    }
    for (const m of methods) set.add(m);
  });
  app.decorate('allowedMethods', (path: string): string[] => {
    const exact = routes.get(path);
    if (exact !== undefined) return [...exact];
    for (const [prefix, set] of prefixes) if (path.startsWith(prefix)) return [...set];
    return [];
  });

  // HTTP/1.1 requires Host (RFC 9112 §3.2). Node's own check (requireHostHeader) answered a bare 400 without the
  // security headers or a log line; here the refusal is the app's error page. HTTP/1.0 may omit it.
  app.addHook('onRequest', (request: FastifyRequest, _reply, done: HookHandlerDoneFunction) => {
    if (request.headers.host === undefined && request.raw.httpVersion !== '1.0') done(httpError(400, 'no Host header'));
    else done();
  });

  if (options.checkHost) {
    const expected = options.publicHost.toLowerCase();
    app.addHook('onRequest', (request: FastifyRequest, _reply, done: HookHandlerDoneFunction) => {
      if (request.host.toLowerCase() === expected || HOST_CHECK_EXEMPT.has(pathOf(request.url))) done();
      else done(httpError(400, 'unexpected Host'));
    });
  }
}

export default fp(limits, { name: 'lpa-limits' });
