/**
 * What the signed-in pages share (the one-time notice, UK dates), and `/session-state`: the timeout warning's
 * read-only question "how long have I got?". The dashboard is dashboard-routes.ts, "Your details" about-you-routes.ts.
 *
 * /session-state is in PUBLIC_ROUTES: it answers 204, no sign-in, to anonymous callers.
 */
import type { FastifyInstance } from 'fastify';
import { PATHS } from '../../paths.ts';
import { formatUkDateTime } from '../../platform/uk-time.ts';

/** Session key for a one-time success message shown on the next dashboard view (its words: dashboard.json `notice`). */
export const NOTICE_KEY = 'lpaFrontNotice';

export interface UserRoutesOptions {
  readonly now?: () => number;
}

/** "21 August 2026 at 3:20pm" (UK time), as GOV.UK writes dates and times. */
export function formatDateTime(date: Date): string {
  return formatUkDateTime(date);
}

export default async function userRoutes(app: FastifyInstance, options: UserRoutesOptions): Promise<void> {
  const now = options.now ?? Date.now;

  // Read-only: never refreshes the token (resolveUser skips this path), never writes or slides the
  // session whatever the request says (X-SessionReadOnly is what our script sends anyway).
  app.get(
    PATHS.sessionState,
    {
      config: { json: true, sessionReadOnly: true },
    },
    async (request, reply) => {
      const remainingMs = request.user === undefined ? 0 : request.user.tokenExpiresAt.getTime() - now();
      reply.header('cache-control', 'no-store');
      // No sign-in left: 204, as the live front's SessionExpiryHandler answers. The legacy pages' timeout dialog
      // (service-front/assets/js/opg/session-timeout-dialog.js) reloads on 204; a 200 saying 0 would keep it warning.
      if (remainingMs <= 0) return reply.code(204).send();
      // Rounded up: never 0 while the sign-in lasts, so a page that waits this long never arrives before it ends.
      return reply.type('application/json; charset=utf-8').send({ remainingSeconds: Math.ceil(remainingMs / 1000) });
    },
  );
}
