/**
 * The first signed-in pages: `/user/about-you` (view and change the name; the dashboard is dashboard-routes.ts) and
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
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import type { AboutYouBodyType, AboutYouValues, FieldError } from './user-schema.ts';
import { AboutYouBody, NAME_LIMITS, readAboutYou } from './user-schema.ts';

/** Session key for a one-time success message shown on the next dashboard view (its words: dashboard.json `notice`). */
export const NOTICE_KEY = 'lpaFrontNotice';

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

/** The backend no longer accepts the token: sign out and say why. */
function tokenRejected(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  requireSession(request).delete(SESSION_KEYS.identity);
  return reply.redirect(PATHS.loginTimeout, 303);
}

function renderAboutYou(reply: FastifyReply, values: AboutYouValues, errors: readonly FieldError[], status: number): FastifyReply {
  const fieldErrors: Record<string, string> = {};
  for (const e of errors) fieldErrors[e.href.slice(1)] ??= e.text;
  return reply.view('user/about-you.njk', { values, errors: errors.length > 0 ? errors : undefined, fieldErrors, limits: NAME_LIMITS }, status);
}

export default async function userRoutes(app: FastifyInstance, options: UserRoutesOptions): Promise<void> {
  const { credentials } = options;
  const now = options.now ?? Date.now;

  app.get(PATHS.aboutYou, async (request, reply) => {
    const user = signedInUser(request);
    const details = await credentials.getUser(user.userId, user.token, request.id);
    if (details === null) return tokenRejected(request, reply);
    const values = { title: details.name?.title ?? '', firstName: details.name?.first ?? '', lastName: details.name?.last ?? '' };
    return renderAboutYou(reply, values, [], 200);
  });

  app.post<{ Body: AboutYouBodyType }>(PATHS.aboutYou, { schema: { body: AboutYouBody } }, async (request, reply) => {
    const user = signedInUser(request);
    const { values, errors, name } = readAboutYou(request.body);
    if (name === null) return renderAboutYou(reply, values, errors, 400);
    const saved = await credentials.updateName(user.userId, user.token, name, request.id);
    if (!saved) return tokenRejected(request, reply);
    requireSession(request).set(NOTICE_KEY, 'name-updated');
    return reply.redirect(PATHS.dashboard, 303);
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
