/**
 * The sign-in form on the form kit (ADR 0031, ADR 0043): GET|POST /login, and GET /login/timeout showing the same
 * form with the "signed out" notice. Registered by sign-in-routes.ts (it needs the credentials and stores).
 *
 * - Unlike the PHP front, the sign-in form has a CSRF token (login CSRF); the platform checks it.
 * - Every attempt is throttled (per source address, per account) and audited (one event, see audit.ts) before the
 *   answer (`beforeAnswer`), whether its fields are complete or not.
 * - Failures show the live service's messages, which never say whether the account exists, and take at
 * least `failureDelayMs` from the attempt's start, throttle included (the live front sleeps 1 s): the backend already
 * makes a wrong
 *   password and an unknown user cost the same (one scrypt, or one API call); the floor hides what is left.
 * - Success: a new session id for an empty session (the old one deleted; nothing of it carries over, ADR 0019), the
 *   identity written as the PHP front writes it, then 303 to the remembered page (local paths only) or the dashboard.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthFailureReason, CredentialBackend } from '../../backends/credentials.ts';
import { PATHS, safeLocalPath } from '../../paths.ts';
import { RESUME_KEY } from '../../platform/auth-guard.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { defineForm } from '../../platform/forms/index.ts';
import { untilFloor } from '../../platform/even-time.ts';
import { httpError } from '../../platform/http-error.ts';
import { requireSession } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import type { UserHasher } from './audit.ts';
import { auditSignIn } from './audit.ts';
import { newIdentity } from './identity.ts';
import type { RevocationStore } from '../../sessions/revocation-store.ts';
import { ACCOUNT_INDEX_SECONDS } from '../../sessions/revocation-store.ts';
import { SIGN_IN_FIELDS, SignInBody } from './sign-in-schema.ts';
import type { ThrottleLimits, ThrottleStore } from './throttle.ts';
import { checkSignInThrottle, resetAccountThrottle } from './throttle.ts';

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

/** The live service's texts (service-front auth/partials/error-summary.twig), as catalogue keys (signIn.json). */
export const AUTH_MESSAGES: Readonly<Record<AuthFailureReason, string>> = {
  'authentication-failed': 'signIn:failure.authenticationFailed',
  locked: 'signIn:failure.locked',
  'not-activated': 'signIn:failure.notActivated',
  'api-error': 'signIn:failure.apiError',
};

export interface SignInPolicy {
  readonly throttle: ThrottleLimits;
  /** A failed attempt is answered no sooner than this after it arrived. */
  readonly failureDelayMs: number;
}

export interface SignInFormOptions {
  readonly credentials: CredentialBackend;
  readonly throttleStore: ThrottleStore;
  readonly policy: SignInPolicy;
  readonly userHash: UserHasher;
  /** The one way a sign-in ends (sign-out, or someone else signing in on the same browser). */
  readonly endSignIn: (request: FastifyRequest, user: SignedInUser) => Promise<void>;
  /** Where each sign-in is indexed under its account, so a password reset or change can end it (ADR 0047). */
  readonly revocations: Pick<RevocationStore, 'remember'>;
}

/** The audit key of the email typed (the kit's normalised value), or null when none was. */
function accountKeyOf(email: string | undefined, userHash: UserHasher): string | null {
  return email === undefined || email === '' ? null : userHash(email);
}

export function signInForm(options: SignInFormOptions) {
  const { credentials, throttleStore, policy, userHash } = options;
  // Each attempt's start (before the throttle, for the failure delay floor) and account hash, made once.
  const attempts = new WeakMap<FastifyRequest, { readonly started: number; readonly accountKey: string | null }>();

  return defineForm<{ email: string; password: string }>({
    path: PATHS.login,
    alsoShownAt: [PATHS.loginTimeout],
    title: 'signIn:title',
    template: 'sign-in/login.njk',
    button: 'signIn:button',
    fields: SIGN_IN_FIELDS,
    body: SignInBody,
    skipTo: (request) => (request.user === undefined ? undefined : PATHS.dashboard),
    // The timeout notice: at /login/timeout, or when this request's identity has just expired; never on a POST.
    context: (request) => ({
      legacy: LEGACY_LINKS,
      timeout:
        request.method !== 'POST' &&
        (request.routeOptions.url === PATHS.loginTimeout || request.signedOutByTimeout === true),
    }),
    beforeAnswer: async (checked, request, reply) => {
      const started = performance.now();
      const accountKey = accountKeyOf(checked.normalised.email, userHash);
      attempts.set(request, { started, accountKey });
      const verdict = await checkSignInThrottle(throttleStore, policy.throttle, request.ip, accountKey);
      if (verdict.limited) {
        auditSignIn(request, { event: 'auth.sign_in.throttled', userHash: accountKey, reason: verdict.by });
        reply.header('retry-after', String(verdict.retryAfterSeconds));
        throw httpError(429, `sign-in throttled by ${verdict.by}`);
      }
      if (checked.errors.length > 0)
        auditSignIn(request, { event: 'auth.sign_in.failure', userHash: accountKey, reason: 'incomplete' });
    },
    onSuccess: async (values, request) => {
      const { started, accountKey } = attempts.get(request) ?? {
        started: performance.now(),
        accountKey: accountKeyOf(values.email, userHash),
      };
      const result = await credentials.authenticate(values.email, values.password, request.id);
      if (!result.ok) {
        auditSignIn(request, {
          event: result.reason === 'locked' ? 'auth.sign_in.locked' : 'auth.sign_in.failure',
          userHash: accountKey,
          reason: result.reason,
        });
        await untilFloor(started, policy.failureDelayMs);
        return {
          refuse: [{ field: 'email', message: AUTH_MESSAGES[result.reason] }],
          status: result.reason === 'api-error' ? 503 : 400,
          context: { authError: result.reason },
        };
      }

      if (accountKey !== null) await resetAccountThrottle(throttleStore, accountKey);
      const session = requireSession(request);
      const resume = session.get(RESUME_KEY);
      // Whoever was signed in on this browser is signed out: their token ends, as at any sign-out (ADR 0019).
      if (request.user !== undefined) await options.endSignIn(request, request.user);
      // A new id and an empty session: nothing from before (a previous user's notices, the PHP front's keys, the old
      // CSRF token) carries over into this identity's session (ADR 0019). The resume path was read above.
      session.regenerateEmpty();
      session.set(SESSION_KEYS.identity, newIdentity(result.userId, result.token, result.expiresAt, result.lastLogin));
      session.set(USER_HASH_KEY, accountKey);
      if (accountKey !== null) await options.revocations.remember(accountKey, result.token, ACCOUNT_INDEX_SECONDS);
      auditSignIn(request, { event: 'auth.sign_in.success', userHash: accountKey });
      return { redirect: safeLocalPath(resume, PATHS.dashboard) };
    },
  });
}
