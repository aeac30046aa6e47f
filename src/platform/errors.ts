/**
 * Errors: small ordered steps: 405/404 for unknown routes, then classify, log, render.
 *
 * The page renderer never sees the error object: it gets a status and, for 500s, the request id as the
 * reference the user can quote (the same id is on the log line). No response in any mode carries a stack
 * trace, file path, library name or internal message. JSON clients get `{ error, reference }`.
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CsrfError } from './csrf.ts';
import { HttpError } from './http-error.ts';
import { StoreUnavailableError } from '../sessions/store-unavailable.ts';
import { pathOf } from '../paths.ts';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Sorry, there is a problem with your request',
  401: 'You need to sign in',
  403: 'Sorry, you cannot do that',
  404: 'Page not found',
  405: 'Sorry, that action is not possible on this page',
  413: 'Sorry, what you sent is too large',
  415: 'Sorry, there is a problem with what you sent',
  429: 'Sorry, there have been too many attempts',
  500: 'Sorry, there is a problem with the service',
  503: 'Sorry, there is a problem with the service',
};

export function statusFor(error: FastifyError | Error): number {
  if (error instanceof CsrfError) return 403;
  if (error instanceof StoreUnavailableError) return 503; // a store down: try again later
  if (error instanceof HttpError && error.statusCode === 503) return 503; // a dependency down (load shedding)
  const e = error as FastifyError;
  if (e.validation !== undefined) return 400;
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return status in TITLES ? status : 400;
  }
  return 500;
}

function wantsJson(request: FastifyRequest): boolean {
  if (request.routeOptions.config.json === true) return true;
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers JSON; errors are JSON too. */
    json?: boolean;
  }
}

export function sendErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const title = TITLES[status] ?? TITLES[500] ?? 'Error';
  const reference = status >= 500 ? request.id : undefined;
  if (wantsJson(request))
    return reply.code(status).type('application/json; charset=utf-8').send({ error: title, reference });
  try {
    return reply.view('errors/error.njk', { status, title, reference, ...extra }, status);
  } catch (renderError) {
    request.log.error({ err: renderError }, 'error page failed to render');
    return reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(`${title}${reference === undefined ? '' : `\nReference: ${reference}`}\n`);
  }
}

async function errors(app: FastifyInstance): Promise<void> {
  app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(request.url);
    const allowed = app.allowedMethods(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      return sendErrorPage(request, reply, 405);
    }
    return sendErrorPage(request, reply, 404);
  });

  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = statusFor(error);
    if (error instanceof HttpError || error instanceof StoreUnavailableError)
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
    if (status === 503) {
      request.log.warn({ status, reference: request.id }, error.message);
    } else if (status >= 500) {
      request.log.error({ err: error, reference: request.id }, 'unhandled error');
    } else {
      request.log.info(
        { status, code: error.code, reason: error instanceof CsrfError ? error.reason : undefined },
        'request refused',
      );
    }
    if (error instanceof CsrfError) {
      return sendErrorPage(request, reply, 403, { csrf: error.reason });
    }
    if (status === 429) {
      const retry = reply.getHeader('retry-after');
      return sendErrorPage(request, reply, 429, { retryAfter: retry });
    }
    return sendErrorPage(request, reply, status);
  });
}

export default fp(errors, { name: 'lpa-errors', dependencies: ['lpa-limits', 'lpa-views'] });
