/**
 * An incomplete profile (no name) is sent to /user/about-you/new before any other signed-in page, as the live
 * front's UserDetailsMiddleware does (routes marked `allowIncompleteUser` are exempt: the about-you pages and the
 * address lookup). The live front asks the API on every request; this asks once per sign-in and keeps the answer
 * in the session, tied to the user id (a new identity, ours or the PHP front's, is asked about again). Saving the
 * profile records it complete (markProfileComplete).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import { PATHS, isPublicRoute } from '../../paths.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { addRouteHook, routeMethods } from '../../platform/route-hooks.ts';

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
  // Per route (docs/adr/0014): the exempt routes and the routes public for every method they answer never run it.
  app.addHook('onRoute', (route) => {
    if (ALLOW_INCOMPLETE.has(route.url) || routeMethods(route).every((method) => isPublicRoute(route.url, method)))
      return;
    addRouteHook(route, 'preHandler', gate);
  });

  // Callback style: a profile already known complete (every signed-in page after the first) costs no promise.
  function gate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const user = request.user;
    const route = request.routeOptions.url;
    if (user === undefined || route === undefined || isPublicRoute(route, request.method)) {
      done();
      return;
    }
    // Only a complete profile is remembered: a name given elsewhere (the other front, the API) counts at once.
    if (known(request, user.userId) === true) {
      done();
      return;
    }
    ask(request, reply, user).then(
      (answered) => {
        if (!answered) done();
      },
      (err: unknown) => {
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /** Asks the backend; true when it answered the request (sent to /user/about-you/new). */
  async function ask(request: FastifyRequest, reply: FastifyReply, user: SignedInUser): Promise<boolean> {
    let details;
    try {
      details = await options.accounts.getDetails(user.userId, user.token, request.id);
    } catch (err) {
      // As the live front: no answer about the user, so the page decides (it reads the user itself).
      request.log.warn({ event: 'profile.check.error', err }, 'could not read the profile; not gating this request');
      return false;
    }
    if (details === null) return false; // the token is no longer accepted: the page signs the user out
    if (details.name !== null) {
      markProfileComplete(request, user.userId, true);
      return false;
    }
    await reply.redirect(PATHS.aboutYouNew, 302);
    return true;
  }
}

export default fp(profileGate, { name: 'lpa-profile-gate', dependencies: ['lpa-auth-guard'] });
