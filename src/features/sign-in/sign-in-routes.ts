/**
 * Sign-in and sign-out: `GET|POST /login`, `GET /login/timeout`, `POST|GET /logout`.
 *
 * - The page is the form kit's (fields in sign-in-schema.ts, words in signIn.json); the routes are written by hand
 *   because the throttle and audit come before the fields are checked and a success regenerates the session.
 * - Unlike the PHP front, the sign-in form has a CSRF token (login CSRF); the platform checks it.
 * - Every attempt is throttled (per source address, per account) and audited (one event, see audit.ts).
 * - Failures show the live service's messages, which never say whether the account exists, and take at
 *   least `failureDelayMs` (the live front sleeps 1 s): the backend already makes a wrong password and an
 *   unknown user cost the same (one scrypt, or one API call); the floor hides what is left.
 * - Success: a new session id for an empty session (the old one deleted; nothing of it carries over, ADR 0019), the
 *   identity written as the PHP front writes it, then 303 to the remembered page (local paths only) or the dashboard.
 * - Sign-out (POST, or GET from this site's pages, ADR 0020) ends the token (deny-list and backend, ADR 0019),
 *   destroys the session (store entry and cookie; the PHP front shares it, so both are signed out) and goes where the
 *   live service goes. It is audited with the account's hash, which sign-in kept in the session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthFailureReason, CredentialBackend } from '../../backends/credentials.ts';
import { PATHS, safeLocalPath, SIGNED_OUT_URL } from '../../paths.ts';
import { RESUME_KEY } from '../../platform/auth-guard.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { httpError } from '../../platform/http-error.ts';
import { requireSession } from '../../platform/session.ts';
import type { RevocationStore } from '../../sessions/revocation-store.ts';
import { ACCOUNT_INDEX_SECONDS } from '../../sessions/revocation-store.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import { auditSignIn, auditSignOut, createUserHasher } from './audit.ts';
import { newIdentity, revokeSignIn } from './identity.ts';
import type { SignInBodyType } from './sign-in-schema.ts';
import { SIGN_IN_FIELDS, SignInBody } from './sign-in-schema.ts';
import type { FormPage } from '../../platform/forms/index.ts';
import { checkFields, pageLanguage, refusalErrors, renderFormPage } from '../../platform/forms/index.ts';
import type { Checked } from '../../platform/forms/fields.ts';
import type { ThrottleLimits, ThrottleStore } from './throttle.ts';
import { DEFAULT_THROTTLE_LIMITS, checkSignInThrottle, resetAccountThrottle } from './throttle.ts';

/** Pages still served by the PHP front that the sign-in page links to. */
export const LEGACY_LINKS = {
  register: '/signup',
  forgotPassword: '/forgot-password',
  resendActivation: '/signup/resend-email',
} as const;

/**
 * Session key holding the signed-in account's audit hash, so sign-out can say who signed out: the session
 * has no email to hash again. A keyed hash, like the log lines it is copied into; never the email.
 */
export const USER_HASH_KEY = 'lpaFrontUserHash';
const USER_HASH_PATTERN = /^[0-9a-f]{32}$/;

/** The live service's texts (service-front auth/partials/error-summary.twig), as catalogue keys (signIn.json). */
export const AUTH_MESSAGES: Readonly<Record<AuthFailureReason, string>> = {
  'authentication-failed': 'signIn:failure.authenticationFailed',
  locked: 'signIn:failure.locked',
  'not-activated': 'signIn:failure.notActivated',
  'api-error': 'signIn:failure.apiError',
};

/** The sign-in page on the form kit: its fields, template and words (the routes stay hand-written, see below). */
const SIGN_IN_PAGE: FormPage = {
  template: 'sign-in/login.njk',
  title: 'signIn:title',
  action: PATHS.login,
  button: 'signIn:button',
  fields: SIGN_IN_FIELDS,
  names: Object.keys(SIGN_IN_FIELDS),
};

export interface SignInPolicy {
  readonly throttle: ThrottleLimits;
  /** A failed attempt is answered no sooner than this after it arrived. */
  readonly failureDelayMs: number;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = { throttle: DEFAULT_THROTTLE_LIMITS, failureDelayMs: 1000 };

export interface SignInRoutesOptions {
  readonly credentials: CredentialBackend;
  readonly throttleStore: ThrottleStore;
  /** Signed-out tokens (ADR 0019); the auth guard's resolveUser reads the same store. */
  readonly revocations: RevocationStore;
  /** PUBLIC_ORIGIN's origin: a GET /logout whose Referer is on it came from this site (ADR 0020). */
  readonly publicOrigin: string;
  /** Keys the audit log's user hashes (config.sessionSecret; a separate key is derived from it). */
  readonly auditSecret: Buffer;
  readonly policy?: Partial<SignInPolicy>;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Whether a GET /logout is the user's own: a navigation the browser marks `Sec-Fetch-Site: same-origin` (a link or
 * form on this origin, which the edge shares with the legacy front) or `none` (typed, a bookmark), never a prefetch.
 * A browser too old to send fetch metadata is believed only when its Referer is this origin (ADR 0020).
 */
export function signOutLinkFollowed(request: FastifyRequest, publicOrigin: string): boolean {
  const purpose = `${header(request, 'sec-purpose') ?? ''} ${header(request, 'purpose') ?? ''}`.toLowerCase();
  if (purpose.includes('prefetch') || purpose.includes('prerender')) return false;
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const referer = header(request, 'referer');
  if (referer === undefined || !URL.canParse(referer)) return false;
  return new URL(referer).origin === publicOrigin;
}

const sleep = (ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms); });

interface FormState {
  readonly email?: string;
  readonly errors?: Pick<Checked, 'errors' | 'fieldErrors'>;
  readonly authError?: AuthFailureReason;
  readonly timeout?: boolean;
}

/** The kit's page (error summary, inline errors, email re-shown, never the password) in the request's language. */
function renderForm(request: FastifyRequest, reply: FastifyReply, state: FormState, status: number): FastifyReply {
  const language = pageLanguage(request, reply, request.server.words);
  return renderFormPage(request, reply, language, SIGN_IN_PAGE, { email: state.email ?? '' }, state.errors, {}, {
    status,
    context: { authError: state.authError, timeout: state.timeout === true, legacy: LEGACY_LINKS },
  });
}

export default async function signInRoutes(app: FastifyInstance, options: SignInRoutesOptions): Promise<void> {
  const { credentials, throttleStore } = options;
  const policy: SignInPolicy = { ...DEFAULT_SIGN_IN_POLICY, ...options.policy };
  const userHash = createUserHasher(options.auditSecret);

  /** The one way a sign-in ends (sign-out, or someone else signing in on the same browser). */
  async function endSignIn(request: FastifyRequest, user: SignedInUser): Promise<void> {
    const ended = await revokeSignIn({ backend: credentials, revocations: options.revocations }, user, request.id);
    if (!ended) request.log.warn({ event: 'auth.sign_out.backend_revoke_failed' }, 'the backend could not be told; the token is refused here until it expires');
  }

  const showForm = (timeout: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 302);
    return renderForm(request, reply, { timeout: timeout || request.signedOutByTimeout === true }, 200);
  };

  app.get(PATHS.login, showForm(false));
  app.get(PATHS.loginTimeout, showForm(true));

  app.post<{ Body: SignInBodyType }>(PATHS.login, { schema: { body: SignInBody } }, async (request, reply) => {
    const started = performance.now();
    const language = pageLanguage(request, reply, request.server.words);
    const checked = checkFields(SIGN_IN_FIELDS, SIGN_IN_PAGE.names, request.body, language.t);
    const input = { email: checked.normalised.email ?? '', password: checked.normalised.password ?? '' };
    const accountKey = input.email === '' ? null : userHash(input.email);

    const verdict = await checkSignInThrottle(throttleStore, policy.throttle, request.ip, accountKey);
    if (verdict.limited) {
      auditSignIn(request, { event: 'auth.sign_in.throttled', userHash: accountKey, reason: verdict.by });
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      throw httpError(429, `sign-in throttled by ${verdict.by}`);
    }
    if (checked.errors.length > 0) {
      auditSignIn(request, { event: 'auth.sign_in.failure', userHash: accountKey, reason: 'incomplete' });
      return renderForm(request, reply, { email: input.email, errors: checked }, 400);
    }

    const result = await credentials.authenticate(input.email, input.password, request.id);
    if (!result.ok) {
      auditSignIn(request, { event: result.reason === 'locked' ? 'auth.sign_in.locked' : 'auth.sign_in.failure', userHash: accountKey, reason: result.reason });
      const wait = policy.failureDelayMs - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      return renderForm(request, reply, {
        email: input.email,
        errors: refusalErrors({ refuse: [{ field: 'email', message: AUTH_MESSAGES[result.reason] }] }, language.t),
        authError: result.reason,
      }, result.reason === 'api-error' ? 503 : 400);
    }

    if (accountKey !== null) await resetAccountThrottle(throttleStore, accountKey);
    const session = requireSession(request);
    const resume = session.get(RESUME_KEY);
    // Whoever was signed in on this browser is signed out: their token ends, as at any sign-out (ADR 0019).
    if (request.user !== undefined) await endSignIn(request, request.user);
    // A new id and an empty session: nothing from before (a previous user's notices, the PHP front's keys, the old
    // CSRF token) carries over into this identity's session (ADR 0019). The resume path was read above.
    session.regenerateEmpty();
    session.set(SESSION_KEYS.identity, newIdentity(result.userId, result.token, result.expiresAt, result.lastLogin));
    session.set(USER_HASH_KEY, accountKey);
    // Indexed under the account, so a password reset or change elsewhere can sign this session out (ADR 0047).
    if (accountKey !== null) await options.revocations.remember(accountKey, result.token, ACCOUNT_INDEX_SECONDS);
    auditSignIn(request, { event: 'auth.sign_in.success', userHash: accountKey });
    return reply.redirect(safeLocalPath(resume, PATHS.dashboard), 303);
  });

  /** Every sign-out: audited, the token ended (ADR 0019), the session destroyed, off to where the live service goes. */
  async function signOut(request: FastifyRequest, reply: FastifyReply, status: 302 | 303): Promise<FastifyReply> {
    const session = requireSession(request);
    const signedIn = request.user !== undefined;
    // Named only while signed in: once the identity has expired, the hash left in the session names no one who
    // is signing out now.
    const stored = session.get(USER_HASH_KEY);
    auditSignOut(request, { userHash: signedIn && typeof stored === 'string' && USER_HASH_PATTERN.test(stored) ? stored : null, signedIn });
    // The token stops working everywhere, not only this cookie.
    if (request.user !== undefined) await endSignIn(request, request.user);
    session.destroy();
    // Where the live service sends a signed-out user (service-front ConfigProvider `redirects.logout`).
    return reply.redirect(SIGNED_OUT_URL, status);
  }

  // Without JavaScript, a sign-out after an idle timeout arrives with no live session: nothing to sign out of and
  // nothing a forged request could harm, so it is signed out (cookie expired) rather than told its form timed out.
  // A live session still needs its token (ADR 0018).
  app.post(PATHS.logout, { config: { csrfPassesWithoutSession: true } }, (request, reply) => signOut(request, reply, 303));

  // The legacy pages' "Sign Out" link and timeout dialog sign out with GET (ADR 0020). A GET that this site's own
  // pages sent (or the user typed) signs out, like the live front; any other GET gets a page asking to confirm, whose
  // button is the CSRF-checked POST above. With no live session there is nothing to protect (ADR 0018).
  app.get(PATHS.logout, (request, reply) => {
    const session = requireSession(request);
    if (request.method === 'GET' && (session.isNew || signOutLinkFollowed(request, options.publicOrigin))) return signOut(request, reply, 302);
    return reply.view('sign-in/sign-out.njk', {}, 200);
  });
}
