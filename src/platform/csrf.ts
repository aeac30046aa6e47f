/**
 * CSRF protection on every state-changing request (POST, PUT, PATCH, DELETE), checked at preValidation,
 * where the body is parsed and before any handler or schema runs.
 *
 * Two independent checks, both required:
 * 1. Fetch metadata and Origin: a request the browser marks `Sec-Fetch-Site: cross-site` or `same-site`,
 *    or whose Origin is not PUBLIC_ORIGIN, is refused outright.
 * 2. A token in the hidden `_csrf` field (never a header or the query), of one of two kinds (ADR 0022):
 *    - a session token: a live session's `__csrf` (the key the PHP front's mezzio-csrf uses), one per session,
 *      compared in constant time. A live session keeps using it, so both fronts accept each other's forms.
 *    - a form token, for a visitor with no session: `<issued at><HMAC>`, bound to a random `lpa-form` cookie
 *      and keyed from SESSION_SECRET. Showing a form stores nothing on the server; the token carries its own
 *      issue time, so it times out after the session lifetime, and it is worthless with any other cookie.
 *
 * A POST whose session or form has timed out is told apart from a forged or wrong token, so the 403 page can say
 * "your form timed out" to real users (see errors.ts).
 * Routes opt out only with `config: { csrf: false }` and a reason (the CSP report endpoint). One route, sign-out,
 * lets a request with no live session through the token check (`csrfPassesWithoutSession`, ADR 0018).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { addRouteHook, routeMethods } from './route-hooks.ts';
import { SESSION_KEYS } from '../sessions/session-store.ts';
import { HttpError } from './http-error.ts';
import { randomHex128, readCookie } from './session.ts';

export const CSRF_FIELD = '_csrf';
const TOKEN_PATTERN = /^[0-9a-f]{32,128}$/;
/** A form token: 11 hex digits of issue time (epoch ms), then 32 of HMAC. */
const FORM_TOKEN_PATTERN = /^([0-9a-f]{11})([0-9a-f]{32})$/;
const FORM_COOKIE_PATTERN = /^[0-9a-f]{32}$/;
/** How far a token's issue time may be ahead of this instance's clock (another instance's clock). */
const CLOCK_SKEW_MS = 300_000;
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

/** What the CSRF plugin knows about one request: set on first use, null until then. */
interface CsrfState {
  /** The token this request's pages carry (the same in every form of the page). */
  token: string | null;
  /** A form cookie made for this request, to be set on the response. */
  newCookie: string | null;
  /** The form token this request was let through with, and its issue time (epoch ms). */
  verified: { readonly token: string; readonly issuedAt: number } | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The token for this page's forms: the live session's `__csrf` (made and stored in it on first use), or with no
     * live session a form token bound to the form cookie (set on this response if the browser has none).
     */
    csrfToken(): string;
    /** @internal the CSRF plugin's per-request state */
    csrfState: CsrfState | null;
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
    /**
     * true: this route's forms always carry a form token, signed-in or not, so the handler can read when the form
     * was shown (`formShownAt`); the feedback form's "sent too quickly" check.
     */
    csrfTimedForm?: boolean;
  }
}

export interface CsrfOptions {
  /**
   * PUBLIC_ORIGIN, or the list of origins accepted (config.acceptedOrigins: it and its loopback aliases outside
   * production).
   */
  readonly publicOrigin: string | readonly string[];
  /** SESSION_SECRET; the form-token key is derived from it. */
  readonly secret: Buffer;
  /** A form token older than this has timed out (the session lifetime, so both kinds time out alike). */
  readonly lifetimeSeconds: number;
  /** The form cookie gets Secure and the `__Host-` prefix (an https public origin). */
  readonly secure: boolean;
  /** Epoch ms; for tests. */
  readonly now?: () => number;
}

export function formCookieName(secure: boolean): string {
  return secure ? '__Host-lpa-form' : 'lpa-form';
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The cross-site part of the check, on its own for unit tests. */
export function crossSiteReason(
  secFetchSite: string | undefined,
  origin: string | undefined,
  publicOrigin: string | readonly string[],
): boolean {
  if (secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none') return true;
  // A page sent with `Referrer-Policy: no-referrer` (a reset link's) makes the browser send `Origin: null` on its
  // forms (Fetch, "append a request Origin header"); the browser's own Sec-Fetch-Site still says where it came from.
  if (origin === 'null' && secFetchSite === 'same-origin') return false;
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

/** Form tokens, on their own for unit tests: made and checked with a key derived from the secret. */
export class FormTokens {
  readonly #key: KeyObject;
  readonly #lifetimeMs: number;

  constructor(secret: Buffer, lifetimeSeconds: number) {
    // A key of its own, so a form token can never be mistaken for another HMAC made from the same secret.
    // A KeyObject: an HMAC keyed by one costs about a seventh of one keyed by a Buffer on Node 24.
    this.#key = createSecretKey(createHmac('sha256', secret).update('lpa-front form token v1').digest());
    this.#lifetimeMs = lifetimeSeconds * 1000;
  }

  #mac(cookie: string, issuedAtHex: string): string {
    return createHmac('sha256', this.#key).update(`${cookie}:${issuedAtHex}`).digest('hex').slice(0, 32);
  }

  issue(cookie: string, nowMs: number): string {
    const issuedAtHex = Math.floor(nowMs).toString(16).padStart(11, '0');
    return issuedAtHex + this.#mac(cookie, issuedAtHex);
  }

  /** The token's issue time, or why it does not pass. `cookie` undefined: the browser sent no (valid) form cookie. */
  verify(
    token: string,
    cookie: string | undefined,
    nowMs: number,
  ): { readonly issuedAt: number } | 'expired' | 'mismatch' {
    const parts = FORM_TOKEN_PATTERN.exec(token);
    if (parts === null) return 'mismatch';
    const [, issuedAtHex = '', mac = ''] = parts;
    if (cookie === undefined) return 'expired'; // the browser dropped the cookie (closed, or cleared it)
    if (!tokensMatch(mac, this.#mac(cookie, issuedAtHex))) return 'mismatch';
    const issuedAt = Number.parseInt(issuedAtHex, 16);
    if (issuedAt > nowMs + CLOCK_SKEW_MS) return 'mismatch';
    if (nowMs - issuedAt > this.#lifetimeMs) return 'expired';
    return { issuedAt };
  }

  static looksLikeOne(token: string): boolean {
    return FORM_TOKEN_PATTERN.test(token);
  }
}

/**
 * When the form this request sent was shown (epoch ms), proven by its form token; undefined when it came with a
 * session token (a route with `config: { csrfTimedForm: true }` gets form tokens on its own pages).
 */
export function formShownAt(request: FastifyRequest): number | undefined {
  return request.csrfState?.verified?.issuedAt;
}

async function csrf(app: FastifyInstance, options: CsrfOptions): Promise<void> {
  const tokens = new FormTokens(options.secret, options.lifetimeSeconds);
  const cookieName = formCookieName(options.secure);
  const cookieAttributes = `; Path=/; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`;
  const now = options.now ?? Date.now;

  const formCookieOf = (request: FastifyRequest): string | undefined => {
    const value = readCookie(request.headers.cookie, cookieName);
    return value !== undefined && FORM_COOKIE_PATTERN.test(value) ? value : undefined;
  };
  const stateOf = (request: FastifyRequest): CsrfState =>
    (request.csrfState ??= { token: null, newCookie: null, verified: null });

  app.decorateRequest('csrfState', null);
  // A method on every request, not a closure made per request by a hook: the token is made on first use.
  app.decorateRequest('csrfToken', function csrfToken(this: FastifyRequest): string {
    const state = stateOf(this);
    state.token ??= tokenFor(this, state);
    return state.token;
  });

  function tokenFor(request: FastifyRequest, state: CsrfState): string {
    const session = request.session;
    // A live session is stored anyway: its one token lives in it, where the PHP front reads and writes it too.
    // (A read-only request could not store a new one, so it gets a form token instead.)
    if (session !== null && !session.isNew && request.routeOptions.config.csrfTimedForm !== true) {
      const existing = session.get(SESSION_KEYS.csrf);
      if (typeof existing === 'string' && TOKEN_PATTERN.test(existing)) return existing;
      if (!session.readOnly) {
        const token = randomHex128();
        session.set(SESSION_KEYS.csrf, token);
        return token;
      }
    }
    // A form shown again after a POST (errors to correct) keeps the token it came with, and so its issue time.
    if (state.verified !== null) return state.verified.token;
    let cookie = formCookieOf(request);
    if (cookie === undefined) {
      cookie = randomHex128();
      state.newCookie = cookie;
    }
    return tokens.issue(cookie, now());
  }

  // Any page may show a form (the cookie banner is on every page, 404s included, and the not-found handler is no
  // route), so the hook that sets a form cookie made while rendering is on every response.
  app.addHook('onSend', setFormCookie);

  // Every route that answers a state-changing method gets the check (route-hooks.ts), unless it opts out;
  // a GET-only route cannot change state, so it has no check to run.
  app.addHook('onRoute', (route) => {
    if (route.config?.csrf === false || !routeMethods(route).some((method) => UNSAFE.has(method))) return;
    addRouteHook(route, 'preValidation', csrfCheck);
  });

  function setFormCookie(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: Error | null, payload?: unknown) => void,
  ): void {
    const cookie = request.csrfState?.newCookie;
    if (cookie !== undefined && cookie !== null)
      reply.header('set-cookie', `${cookieName}=${cookie}${cookieAttributes}`);
    done(null, payload);
  }

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
      if (origin !== undefined && !originAccepted(origin, options.publicOrigin))
        request.log.warn(
          { origin, publicOrigin: options.publicOrigin },
          `form refused: its Origin ${origin} is not ` + `PUBLIC_ORIGIN ${[options.publicOrigin].flat().join(' or ')}`,
        );
      return new CsrfError('cross-site');
    }
    const session = request.session;
    // isNew: nothing was stored under the cookie (or there is none). A stored session without a token is live.
    if (session?.isNew === true && request.routeOptions.config.csrfPassesWithoutSession === true) return null;
    const body = request.body as Record<string, unknown> | null | undefined;
    const given = body?.[CSRF_FIELD];
    if (typeof given !== 'string' || given === '') return new CsrfError('missing');

    const expected = session === null || session.isNew ? undefined : session.get(SESSION_KEYS.csrf);
    if (typeof expected === 'string' && tokensMatch(given, expected)) return null;
    if (FormTokens.looksLikeOne(given)) {
      // Valid whatever the session: it proves this browser (its form cookie) was shown the form by this service.
      const result = tokens.verify(given, formCookieOf(request), now());
      if (typeof result === 'string') return new CsrfError(result);
      stateOf(request).verified = { token: given, issuedAt: result.issuedAt };
      return null;
    }
    // A session token with no live session (or none in it): the session timed out since the form was shown.
    return new CsrfError(typeof expected === 'string' ? 'mismatch' : 'expired');
  }
}

export default fp(csrf, { name: 'lpa-csrf', dependencies: ['lpa-session'] });
