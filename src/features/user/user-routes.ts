/**
 * The first signed-in pages: `/user/dashboard` ("Your details" is about-you-routes.ts) and
 * `/session-state` (the timeout warning's read-only question "how long have I got?").
 *
 * None of these is in PUBLIC_ROUTES except /session-state (which answers 204, no sign-in, to anonymous callers), so the
 * auth guard has already sent anonymous requests to sign-in; `signedInUser` is the belt to those braces.
 * The user's details always come from the credential backend (the API or the local store), never from
 * the session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialBackend } from '../../backends/credentials.ts';
import { PATHS } from '../../paths.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { httpError } from '../../platform/http-error.ts';
import { requireSession } from '../../platform/session.ts';
import type { Session } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';

/** Session key for a one-time success message shown on the next dashboard view. */
export const NOTICE_KEY = 'lpaFrontNotice';
const NOTICES: Readonly<Record<string, string>> = {
  'name-updated': 'Your details have been updated.',
};

export interface UserRoutesOptions {
  readonly credentials: CredentialBackend;
  readonly now?: () => number;
}

function signedInUser(request: FastifyRequest): SignedInUser {
  if (request.user === undefined) throw httpError(401, 'signed-in route reached without a user');
  return request.user;
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', day: 'numeric', month: 'long', year: 'numeric', hour: 'numeric', minute: '2-digit', hour12: true,
});

/** "21 August 2026 at 3:20pm" (UK time), as GOV.UK writes dates and times. */
export function formatDateTime(date: Date): string {
  const parts = Object.fromEntries(DATE_TIME.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.day ?? ''} ${parts.month ?? ''} ${parts.year ?? ''} at ${parts.hour ?? ''}:${parts.minute ?? ''}${(parts.dayPeriod ?? '').toLowerCase()}`;
}

function lastLoginOf(session: Session): Date | null {
  const identity = session.get(SESSION_KEYS.identity);
  const value = identity !== null && typeof identity === 'object' ? (identity as Record<string, unknown>).lastLogin : undefined;
  if (typeof value !== 'string') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The backend no longer accepts the token: sign out and say why. */
function tokenRejected(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  requireSession(request).delete(SESSION_KEYS.identity);
  return reply.redirect(PATHS.loginTimeout, 303);
}

export default async function userRoutes(app: FastifyInstance, options: UserRoutesOptions): Promise<void> {
  const { credentials } = options;
  const now = options.now ?? Date.now;

  app.get(PATHS.dashboard, async (request, reply) => {
    const user = signedInUser(request);
    const details = await credentials.getUser(user.userId, user.token, request.id);
    if (details === null) return tokenRejected(request, reply);
    const session = requireSession(request);
    const noticeKey = session.get(NOTICE_KEY);
    if (noticeKey !== undefined) session.delete(NOTICE_KEY);
    const lastLogin = lastLoginOf(session);
    return reply.view('user/dashboard.njk', {
      fullName: details.name === null ? null : [details.name.title, details.name.first, details.name.last].filter((p) => p !== undefined && p !== '').join(' '),
      email: details.email,
      lastLogin: lastLogin === null ? null : formatDateTime(lastLogin),
      notice: typeof noticeKey === 'string' ? NOTICES[noticeKey] : undefined,
    });
  });

  // Read-only: never refreshes the token (resolveUser skips this path), never writes or slides the
  // session whatever the request says (X-SessionReadOnly is what our script sends anyway).
  app.get(PATHS.sessionState, {
    config: { json: true, sessionReadOnly: true },
  }, async (request, reply) => {
    const remainingMs = request.user === undefined ? 0 : request.user.tokenExpiresAt.getTime() - now();
    reply.header('cache-control', 'no-store');
    // No sign-in left: 204, as the live front's SessionExpiryHandler answers. The legacy pages' timeout dialog
    // (service-front/assets/js/opg/session-timeout-dialog.js) reloads on 204; a 200 saying 0 would keep it warning.
    if (remainingMs <= 0) return reply.code(204).send();
    // Rounded up: never 0 while the sign-in lasts, so a page that waits this long never arrives before it ends.
    return reply.type('application/json; charset=utf-8').send({ remainingSeconds: Math.ceil(remainingMs / 1000) });
  });
}
