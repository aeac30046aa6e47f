/**
 * CSRF protection on every state-changing request (POST, PUT, PATCH, DELETE), checked at preValidation,
 * where the body is parsed and before any handler or schema runs.
 *
 * Two independent checks, both required:
 * 1. Fetch metadata and Origin: a request the browser marks `Sec-Fetch-Site: cross-site` or `same-site`,
 *    or whose Origin is not PUBLIC_ORIGIN, is refused outright.
 * 2. A synchronizer token: the hidden `_csrf` field (never a header) must equal the session's token,
 *    compared in constant time. The token lives in the session under `__csrf`, the key the PHP front's
 *    mezzio-csrf uses, one per session (not per form), so concurrent tabs and requests never invalidate it.
 *
 * A POST whose session has gone (expired, or the cookie was lost) is told apart from a forged or wrong
 * token, so the 403 page can say "your form timed out" to real users (see errors.ts).
 * Routes opt out only with `config: { csrf: false }` and a reason (the CSP report endpoint). One route, sign-out,
 * lets a request with no live session through the token check (`csrfPassesWithoutSession`, ADR 0018).
 */
import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { addRouteHook, routeMethods } from './route-hooks.ts';
import { SESSION_KEYS } from '../sessions/session-store.ts';
import { HttpError } from './http-error.ts';
import { randomHex128 } from './session.ts';

export const CSRF_FIELD = '_csrf';
const TOKEN_PATTERN = /^[0-9a-f]{32,128}$/;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type CsrfFailure = 'cross-site' | 'expired' | 'missing' | 'mismatch';

export class CsrfError extends HttpError {
  readonly reason: CsrfFailure;
  constructor(reason: CsrfFailure) {
    super(403, `CSRF check failed: ${reason}`);
    this.name = 'CsrfError';
    this.reason = reason;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The session's CSRF token, made and stored on first use; undefined on routes without a session. */
    csrfToken(): string | undefined;
  }
  interface FastifyContextConfig {
    /** false: no CSRF check (only for endpoints that change nothing a user owns; say why at the route). */
    csrf?: boolean;
    /**
     * true: a request with no live session (none stored, or no cookie) passes the token check; the cross-site
     * check still applies, and a live session still needs its token. Only for sign-out (ADR 0018): with no session
     * there is nothing a forged request could sign out, and refusing would tell someone whose session expired
     * that their form timed out instead of signing them out.
     */
    csrfPassesWithoutSession?: boolean;
  }
}

export interface CsrfOptions {
  /** PUBLIC_ORIGIN, or the list of origins accepted (config.acceptedOrigins: it and its loopback aliases outside production). */
  readonly publicOrigin: string | readonly string[];
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The cross-site part of the check, on its own for unit tests. */
export function crossSiteReason(secFetchSite: string | undefined, origin: string | undefined, publicOrigin: string | readonly string[]): boolean {
  if (secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none') return true;
  if (origin !== undefined && !originAccepted(origin, publicOrigin)) return true;
  return false;
}

function originAccepted(origin: string, accepted: string | readonly string[]): boolean {
  return typeof accepted === 'string' ? origin === accepted : accepted.includes(origin);
}

export function tokensMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function csrf(app: FastifyInstance, options: CsrfOptions): Promise<void> {
  // A method on every request, not a closure made per request by a hook: the token is made on first use.
  app.decorateRequest('csrfToken', function csrfToken(this: FastifyRequest): string | undefined {
    const session = this.session;
    if (session === null) return undefined; // routes with `config: { session: false }` (the session plugin left no Session)
    const existing = session.get(SESSION_KEYS.csrf);
    if (typeof existing === 'string' && TOKEN_PATTERN.test(existing)) return existing;
    const token = randomHex128();
    session.set(SESSION_KEYS.csrf, token);
    return token;
  });

  // Every route that answers a state-changing method gets the check (route-hooks.ts), unless it opts out;
  // a GET-only route cannot change state, so it has no check to run.
  app.addHook('onRoute', (route) => {
    if (route.config?.csrf === false || !routeMethods(route).some((method) => UNSAFE.has(method))) return;
    addRouteHook(route, 'preValidation', csrfCheck);
  });

  function csrfCheck(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    done(check(request) ?? undefined);
  }

  /** The check, as the error to refuse the request with (null: it passes). */
  function check(request: FastifyRequest): CsrfError | null {
    // A route answering GET and POST has the hook; its GETs pass.
    if (!UNSAFE.has(request.method)) return null;
    const origin = header(request, 'origin');
    if (crossSiteReason(header(request, 'sec-fetch-site'), origin, options.publicOrigin)) {
      // Both origins named: a wrong PUBLIC_ORIGIN (a developer's other port or host name) is then plain from one line.
      if (origin !== undefined && !originAccepted(origin, options.publicOrigin)) request.log.warn({ origin, publicOrigin: options.publicOrigin }, `form refused: its Origin ${origin} is not PUBLIC_ORIGIN ${[options.publicOrigin].flat().join(' or ')}`);
      return new CsrfError('cross-site');
    }
    const session = request.session;
    const body = request.body as Record<string, unknown> | null | undefined;
    const given = body?.[CSRF_FIELD];
    const expected = session?.get(SESSION_KEYS.csrf);
    if (session === null || session.isNew || typeof expected !== 'string') {
      // isNew: nothing was stored under the cookie (or there is none). A stored session without a token is live.
      if (session?.isNew === true && request.routeOptions.config.csrfPassesWithoutSession === true) return null;
      return new CsrfError(typeof given === 'string' && given !== '' ? 'expired' : 'missing');
    }
    if (typeof given !== 'string' || given === '') return new CsrfError('missing');
    if (!tokensMatch(given, expected)) return new CsrfError('mismatch');
    return null;
  }
}

export default fp(csrf, { name: 'lpa-csrf', dependencies: ['lpa-session'] });
