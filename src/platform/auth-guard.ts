/**
 * Deny by default (ADR 0008 A01): every route needs a signed-in user unless its exact path and method are
 * in PUBLIC_ROUTES (src/paths.ts). There is no per-route "requires login" flag to forget: being public is
 * the exception that has to be written down, and a test walks the whole route table against that list.
 *
 * Anonymous requests to a protected page are redirected to sign-in, remembering the page (local paths only,
 * GET only); JSON routes get 401.
 */
import fp from 'fastify-plugin';
import type {
  FastifyContextConfig,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { PATHS, isPublicRoute, safeLocalPath } from '../paths.ts';
import { sendErrorPage } from './errors.ts';
import { addRouteHook, routeMethods } from './route-hooks.ts';

export interface SignedInUser {
  readonly userId: string;
  readonly token: string;
  readonly tokenExpiresAt: Date;
}

/** Finds the request's signed-in user (undefined: anonymous); a plain value when no I/O is needed, else a promise. */
export type ResolveUser = (request: FastifyRequest) => SignedInUser | undefined | Promise<SignedInUser | undefined>;

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
  readonly resolveUser: ResolveUser;
}

async function authGuard(app: FastifyInstance, options: AuthGuardOptions): Promise<void> {
  app.decorateRequest('user', undefined);
  app.decorateRequest('signedOutByTimeout', false);
  // Every route gets the guard (route-hooks.ts) except one that can only pass it: public for every method it
  // answers and without a session, so there is no user to find. Unknown paths get none: the 404 handler answers.
  app.addHook('onRoute', (route) => {
    if (route.config?.session === false && routeMethods(route).every((method) => isPublicRoute(route.url, method)))
      return;
    addRouteHook(route, 'onRequest', guard);
  });

  // Callback style: routes without sessions decide without a promise.
  function guard(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const { url, config } = request.routeOptions;
    const route = url ?? ''; // always set on a route; '' is public for no method, so the guard would deny
    if (config.session === false) {
      decide(request, reply, route, config, done);
      return;
    }
    const resolved = options.resolveUser(request);
    if (!(resolved instanceof Promise)) {
      request.user = resolved;
      decide(request, reply, route, config, done);
      return;
    }
    resolved.then(
      (user) => {
        request.user = user;
        decide(request, reply, route, config, done);
      },
      (err: unknown) => {
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /** Lets the request through (done), or answers it (401 or redirect to sign-in) without calling done. */
  function decide(
    request: FastifyRequest,
    reply: FastifyReply,
    route: string,
    config: FastifyContextConfig,
    done: HookHandlerDoneFunction,
  ): void {
    if (isPublicRoute(route, request.method) || request.user !== undefined) {
      done();
      return;
    }
    try {
      if (config.json === true) {
        sendErrorPage(request, reply, 401);
        return;
      }
      // A route without a session (`config: { session: false }`) has nowhere to remember the page.
      if (request.method === 'GET' && request.session !== null) {
        request.session.set(RESUME_KEY, safeLocalPath(request.url, PATHS.dashboard));
      }
      reply.redirect(request.signedOutByTimeout === true ? PATHS.loginTimeout : PATHS.login, 302);
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

export default fp(authGuard, { name: 'lpa-auth-guard', dependencies: ['lpa-session'] });
