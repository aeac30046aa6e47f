/**
 * The signed-in identity in the session, read and written exactly as the PHP front does
 * (`$_SESSION['identity']` = `{userId, token, tokenExpiresAt, lastLogin, sharedSpaceId}`, dates in PHP's
 * `c` format), and the per-request check the auth guard calls (`resolveUser`):
 *
 * - no identity → anonymous;
 * - an identity whose token has expired, or that the backend no longer accepts → the identity is removed
 *   and the request is marked `signedOutByTimeout`, so the guard sends the user to /login/timeout;
 * - an identity whose token signed out (the deny-list, ADR 0019) → the identity is removed: anonymous, so a
 *   copy of a signed-out session's identity gets the sign-in page, never a signed-in one;
 * - a token that was last slid more than `refreshAfterSeconds` ago is slid through the backend (the PHP
 *   front's IdentityTokenRefreshMiddleware does it on every request; once a minute keeps the idle timeout
 *   just as accurate with far fewer API calls). Never for /session-state, which must not extend it.
 *
 * `revokeSignIn` is the one way a sign-in ends (ADR 0019): every sign-out calls it.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { CredentialBackend } from '../../backends/credentials.ts';
import { TOKEN_LIFETIME_SECONDS, phpIsoDate } from '../../backends/credentials.ts';
import type { ResolveUser, SignedInUser } from '../../platform/auth-guard.ts';
import type { Session } from '../../platform/session.ts';
import { PATHS } from '../../paths.ts';
import type { RevocationStore } from '../../sessions/revocation-store.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';

export interface IdentityRecord {
  readonly userId: string;
  readonly token: string;
  readonly tokenExpiresAt: string;
  readonly lastLogin: string | null;
  readonly sharedSpaceId: null;
}

export function newIdentity(userId: string, token: string, expiresAt: Date, lastLogin: Date | null): IdentityRecord {
  return {
    userId,
    token,
    tokenExpiresAt: phpIsoDate(expiresAt),
    lastLogin: lastLogin === null ? null : phpIsoDate(lastLogin),
    sharedSpaceId: null,
  };
}

function identityObject(raw: unknown): Record<string, unknown> | null {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
}

export interface ResolveUserOptions {
  readonly backend: CredentialBackend;
  /** Tokens that signed out: refused whatever the session says. */
  readonly revocations: RevocationStore;
  /** The session's identity check (services.ts `identityFromSession`). */
  readonly identityFromSession: (raw: unknown, now?: Date) => SignedInUser | undefined;
  /** Slide the token once it has been this long since it was last slid. */
  readonly refreshAfterSeconds?: number;
  readonly now?: () => number;
  readonly logger?: FastifyBaseLogger;
}

export function createResolveUser(options: ResolveUserOptions): ResolveUser {
  const refreshAfterMs = (options.refreshAfterSeconds ?? 60) * 1000;
  const now = options.now ?? Date.now;

  // No session or no identity in it (every anonymous request): answered at once, without a promise.
  return (request: FastifyRequest) => {
    const session = request.session;
    if (session === null) return undefined;
    const raw = session.get(SESSION_KEYS.identity);
    const record = identityObject(raw);
    if (record === null) return undefined;
    return resolveIdentity(request, session, raw, record);
  };

  async function resolveIdentity(
    request: FastifyRequest,
    session: Session,
    raw: unknown,
    record: Record<string, unknown>,
  ): Promise<SignedInUser | undefined> {
    const at = now();
    const user = options.identityFromSession(raw, new Date(at));
    if (user === undefined) {
      // Expired or malformed: signed out, and told so if it was a real identity.
      session.delete(SESSION_KEYS.identity);
      if (typeof record.userId === 'string') request.signedOutByTimeout = true;
      return undefined;
    }
    // The check the session plugin began beside the session's read (ADR 0038), when there is one.
    if (await (request.revocationCheck ?? options.revocations).isRevoked(user.token)) {
      // Signed out: whatever brought this identity back (a request in flight at sign-out, a copied value).
      session.delete(SESSION_KEYS.identity);
      return undefined;
    }
    if (request.routeOptions.url === PATHS.sessionState || session.readOnly) return user;
    const remainingMs = user.tokenExpiresAt.getTime() - at;
    if (remainingMs > TOKEN_LIFETIME_SECONDS * 1000 - refreshAfterMs) return user;

    const result = await options.backend.refresh(user.token, request.id);
    if (result.ok) {
      session.set(SESSION_KEYS.identity, { ...record, tokenExpiresAt: phpIsoDate(result.expiresAt) });
      return { ...user, tokenExpiresAt: result.expiresAt };
    }
    if (result.reason === 'api-error') {
      // Could not tell: the token is still within its known lifetime, so carry on.
      (options.logger ?? request.log).warn(
        { event: 'auth.token_refresh.error' },
        'token refresh failed; keeping the session until it expires',
      );
      return user;
    }
    session.delete(SESSION_KEYS.identity);
    request.signedOutByTimeout = true;
    return undefined;
  }
}

export interface RevokeSignInOptions {
  readonly backend: CredentialBackend;
  readonly revocations: RevocationStore;
  readonly now?: () => number;
}

/**
 * Ends a sign-in: the token goes on the deny-list first (at once, for every instance; for as long as the token
 * could live), then the backend is told to end it. Resolves false when the backend could not be told: the deny-list
 * still refuses the token here, and the caller logs it. Rejects only if the deny-list cannot be written.
 */
export async function revokeSignIn(
  options: RevokeSignInOptions,
  user: SignedInUser,
  traceId: string,
): Promise<boolean> {
  const remainingSeconds = (user.tokenExpiresAt.getTime() - (options.now ?? Date.now)()) / 1000;
  // A token slides by up to its whole lifetime at each refresh, so keep it listed for at least that long.
  await options.revocations.revoke(user.token, Math.max(TOKEN_LIFETIME_SECONDS, remainingSeconds));
  return options.backend.revoke(user.token, traceId);
}
