/**
 * An incomplete profile (no name) is sent to /user/about-you/new before any other signed-in page, as the live
 * front's UserDetailsMiddleware does (routes marked `allowIncompleteUser` are exempt: the about-you pages and the
 * address lookup). The live front asks the API on every request; this asks once per sign-in and keeps the answer
 * in the session, tied to the user id (a new identity, ours or the PHP front's, is asked about again). Saving the
 * profile records it complete (markProfileComplete).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import { PATHS, isPublicRoute } from '../../paths.ts';

/** Session key: `{ userId, complete }`. */
export const PROFILE_KEY = 'lpaFrontProfile';

/**
 * The live route is `/user/about-you[/{new}]`: any second segment is the first-sign-in variant (AboutYouHandler reads
 * only whether it is there). PATHS.aboutYouNew is the one this front links and redirects to.
 */
export const ABOUT_YOU_NEW_ROUTE = `${PATHS.aboutYou}/:new`;

/** Routes the live front marks `allowIncompleteUser`. */
export const ALLOW_INCOMPLETE: ReadonlySet<string> = new Set([
  PATHS.aboutYou,
  PATHS.aboutYouNew,
  ABOUT_YOU_NEW_ROUTE,
  PATHS.addressLookup,
]);

export function markProfileComplete(request: FastifyRequest, userId: string, complete: boolean): void {
  if (request.session !== null && !request.session.readOnly) request.session.set(PROFILE_KEY, { userId, complete });
}

function known(request: FastifyRequest, userId: string): boolean | undefined {
  const value = request.session?.get(PROFILE_KEY);
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  return record.userId === userId && typeof record.complete === 'boolean' ? record.complete : undefined;
}

export interface ProfileGateOptions {
  readonly accounts: Pick<AccountsBackend, 'getDetails'>;
}

async function profileGate(app: FastifyInstance, options: ProfileGateOptions): Promise<void> {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const user = request.user;
    const route = request.routeOptions.url;
    if (
      user === undefined ||
      route === undefined ||
      ALLOW_INCOMPLETE.has(route) ||
      isPublicRoute(route, request.method)
    )
      return;
    // Only a complete profile is remembered: a name given elsewhere (the other front, the API) counts at once.
    let complete = known(request, user.userId);
    if (complete !== true) {
      let details;
      try {
        details = await options.accounts.getDetails(user.userId, user.token, request.id);
      } catch (err) {
        // As the live front: no answer about the user, so the page decides (it reads the user itself).
        request.log.warn({ event: 'profile.check.error', err }, 'could not read the profile; not gating this request');
        return;
      }
      if (details === null) return; // the token is no longer accepted: the page signs the user out
      complete = details.name !== null;
      if (complete) markProfileComplete(request, user.userId, true);
    }
    if (!complete) await reply.redirect(PATHS.aboutYouNew, 302);
  });
}

export default fp(profileGate, { name: 'lpa-profile-gate', dependencies: ['lpa-auth-guard'] });
