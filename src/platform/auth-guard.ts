/**
 * Deny by default (ADR 0008 A01): every route needs a signed-in user unless its exact path and method are
 * in PUBLIC_ROUTES (src/paths.ts). There is no per-route "requires login" flag to forget: being public is
 * the exception that has to be written down, and a test walks the whole route table against that list.
 *
 * Anonymous requests to a protected page are redirected to sign-in, remembering the page (local paths only,
 * GET only); JSON routes get 401.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, isPublicRoute, safeLocalPath } from '../paths.ts';
import { sendErrorPage } from './errors.ts';

export interface SignedInUser {
  readonly userId: string;
  readonly token: string;
  readonly tokenExpiresAt: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, set by the auth guard; undefined for anonymous requests. */
    user?: SignedInUser;
    /** Set by resolveUser when the request carried an identity that has expired: sign-in says so (/login/timeout). */
    signedOutByTimeout?: boolean;
  }
}

/** Session key holding the page to resume after sign-in. */
export const RESUME_KEY = 'lpaFrontResumeUrl';

export interface AuthGuardOptions {
  /** Finds the signed-in user for a request (reads and checks the session identity). */
  readonly resolveUser: (request: FastifyRequest) => Promise<SignedInUser | undefined>;
}

async function authGuard(app: FastifyInstance, options: AuthGuardOptions): Promise<void> {
  app.decorateRequest('user', undefined);
  app.decorateRequest('signedOutByTimeout', false);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url;
    if (route === undefined) return; // not found: the 404 handler answers
    if (request.routeOptions.config.session !== false) request.user = await options.resolveUser(request);
    if (isPublicRoute(route, request.method)) return;
    if (request.user !== undefined) return;
    if (request.routeOptions.config.json === true) {
      return sendErrorPage(request, reply, 401);
    }
    if (request.method === 'GET' && request.routeOptions.config.session !== false) {
      request.session.set(RESUME_KEY, safeLocalPath(request.url, PATHS.dashboard));
    }
    return reply.redirect(request.signedOutByTimeout === true ? PATHS.loginTimeout : PATHS.login, 302);
  });
}

export default fp(authGuard, { name: 'lpa-auth-guard', dependencies: ['lpa-session'] });
