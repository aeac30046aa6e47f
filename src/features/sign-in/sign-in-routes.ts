/**
 * Sign-in and sign-out: `GET|POST /login` and `GET /login/timeout` (the form kit's, declared in sign-in.form.ts and
 * registered here because it needs the credentials and stores), `POST|GET /logout`.
 *
 * - Sign-out (POST, or GET from this site's pages, ADR 0020) ends the token (deny-list and backend, ADR 0019),
 *   destroys the session (store entry and cookie; the PHP front shares it, so both are signed out) and goes where the
 *   live service goes. It is audited with the account's hash, which sign-in kept in the session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialBackend } from '../../backends/credentials.ts';
import { PATHS, SIGNED_OUT_URL } from '../../paths.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { addForm } from '../../platform/forms/index.ts';
import { linkFollowed } from '../../platform/link-followed.ts';
import { requireSession } from '../../platform/session.ts';
import type { RevocationStore } from '../../sessions/revocation-store.ts';
import { auditSignOut, createUserHasher } from './audit.ts';
import { revokeSignIn } from './identity.ts';
import type { SignInPolicy } from './sign-in.form.ts';
import { signInForm, USER_HASH_KEY } from './sign-in.form.ts';
import type { ThrottleStore } from './throttle.ts';
import { DEFAULT_THROTTLE_LIMITS } from './throttle.ts';

export { AUTH_MESSAGES, LEGACY_LINKS, USER_HASH_KEY } from './sign-in.form.ts';
export type { SignInPolicy } from './sign-in.form.ts';

const USER_HASH_PATTERN = /^[0-9a-f]{32}$/;

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

export default async function signInRoutes(app: FastifyInstance, options: SignInRoutesOptions): Promise<void> {
  const { credentials, throttleStore } = options;
  const policy: SignInPolicy = { ...DEFAULT_SIGN_IN_POLICY, ...options.policy };
  const userHash = createUserHasher(options.auditSecret);

  /** The one way a sign-in ends (sign-out, or someone else signing in on the same browser). */
  async function endSignIn(request: FastifyRequest, user: SignedInUser): Promise<void> {
    const ended = await revokeSignIn({ backend: credentials, revocations: options.revocations }, user, request.id);
    if (!ended)
      request.log.warn(
        { event: 'auth.sign_out.backend_revoke_failed' },
        'the backend could not be told; the token is refused here until it expires',
      );
  }

  addForm(
    app,
    signInForm({ credentials, throttleStore, policy, userHash, endSignIn, revocations: options.revocations }),
  );

  /** Every sign-out: audited, the token ended (ADR 0019), the session destroyed, off to where the live service goes. */
  async function signOut(request: FastifyRequest, reply: FastifyReply, status: 302 | 303): Promise<FastifyReply> {
    const session = requireSession(request);
    const signedIn = request.user !== undefined;
    // Named only while signed in: once the identity has expired, the hash left in the session names no one who
    // is signing out now.
    const stored = session.get(USER_HASH_KEY);
    auditSignOut(request, {
      userHash: signedIn && typeof stored === 'string' && USER_HASH_PATTERN.test(stored) ? stored : null,
      signedIn,
    });
    // The token stops working everywhere, not only this cookie.
    if (request.user !== undefined) await endSignIn(request, request.user);
    session.destroy();
    // Where the live service sends a signed-out user (service-front ConfigProvider `redirects.logout`).
    return reply.redirect(SIGNED_OUT_URL, status);
  }

  // Without JavaScript, a sign-out after an idle timeout arrives with no live session: nothing to sign out of and
  // nothing a forged request could harm, so it is signed out (cookie expired) rather than told its form timed out.
  // A live session still needs its token (ADR 0018).
  app.post(PATHS.logout, { config: { csrfPassesWithoutSession: true } }, (request, reply) =>
    signOut(request, reply, 303),
  );

  // The legacy pages' "Sign Out" link and timeout dialog sign out with GET (ADR 0020). A GET that this site's own
  // pages sent (or the user typed) signs out, like the live front; any other GET gets a page asking to confirm, whose
  // button is the CSRF-checked POST above. With no live session there is nothing to protect (ADR 0018).
  app.get(PATHS.logout, (request, reply) => {
    const session = requireSession(request);
    if (request.method === 'GET' && (session.isNew || linkFollowed(request, options.publicOrigin, { typed: true })))
      return signOut(request, reply, 302);
    return reply.view('sign-in/sign-out.njk', {}, 200);
  });
}
