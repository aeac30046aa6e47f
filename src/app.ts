/**
 * The application, as a table of contents: one line per concern, in security order.
 * Dependencies arrive in `services`, so tests build the real app with real alternatives
 * (memory store, local backends) and nothing is mocked.
 */
import { createServer } from 'node:http';
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/config.ts';
import type { Services } from './services.ts';
import { rawErrorResponse } from './platform/security-headers.ts';
import securityHeaders from './platform/security-headers.ts';
import limits from './platform/limits.ts';
import session from './platform/session.ts';
import assets from './platform/assets.ts';
import views from './platform/views.ts';
import authGuard from './platform/auth-guard.ts';
import csrf from './platform/csrf.ts';
import errors from './platform/errors.ts';
import accessLog, { newRequestId, requestChildLogger } from './platform/logging.ts';
import writeBatching from './platform/write-batching.ts';
import contentRoutes from './features/content/content-routes.ts';
import statusRoutes from './features/status/status-routes.ts';
import cspReportRoutes from './features/csp-report/csp-report-routes.ts';
import feedbackRoutes from './features/feedback/feedback-routes.ts';
import signInRoutes from './features/sign-in/sign-in-routes.ts';
import userRoutes from './features/user/user-routes.ts';
import formKit from './platform/forms/index.ts';
import { discoverForms } from './forms.ts';
import { VIEW_GLOBALS } from './platform/view-globals.ts';
import { consentVariant } from './platform/consent/index.ts';
import { createCatalogue } from './i18n/catalogue.ts';

export function serverOptions(config: Config, logger: Logger): FastifyServerOptions {
  const https = config.publicOrigin.protocol === 'https:';
  return {
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newRequestId(),
    childLoggerFactory: requestChildLogger,                                                        // request.log made on first use
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 100 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    // Node's own replies to malformed requests (bad syntax, oversized headers) carry the security headers too.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return;
      const code = (err as NodeJS.ErrnoException).code;
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      socket.end(rawErrorResponse(status, reason, https));
    },
    serverFactory: (handler) => createServer({
      maxHeaderSize: 16 * 1024,
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: Math.min(config.requestTimeoutMs, 10_000),
      keepAliveTimeout: 65_000,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
    }, handler),
  };
}

export async function buildApp(config: Config, services: Services, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(config, logger));
  const https = config.publicOrigin.protocol === 'https:';
  const consent = { secure: https, measurementId: config.gaMeasurementId, gaCookieDomain: config.gaCookieDomain };

  await app.register(accessLog);                                                                  // one JSON line per request, redacted
  await app.register(writeBatching);                                                              // a turn's responses written together
  await app.register(limits, { publicHost: config.publicOrigin.host, checkHost: config.isProduction }); // host, methods, body type/size/fields
  await app.register(securityHeaders, { https });                                                  // CSP nonce and headers on every response
  await app.register(session, { store: services.sessionStore, cookie: services.sessionCookie, ttlSeconds: config.sessionTtlSeconds });
  await app.register(assets, { catalogue: services.assets });                                      // hashed static files from memory
  await app.register(views, { catalogue: services.assets, precompile: config.isProduction, globals: { sessionWarningSeconds: config.sessionWarningSeconds, tDefault: createCatalogue().forLanguage('en'), ...VIEW_GLOBALS }, variant: consentVariant({ ...consent, publicOrigin: config.publicOrigin.origin }) }); // Nunjucks, autoescape, govuk-frontend; consent banner variants
  await app.register(authGuard, { resolveUser: services.resolveUser });                            // deny by default
  await app.register(csrf, { publicOrigin: config.acceptedOrigins, secret: config.sessionSecret, lifetimeSeconds: config.sessionTtlSeconds, secure: https }); // every state change; forms cost no server state
  await app.register(errors);                                                                      // 404/405, then error pages

  await app.register(contentRoutes, { consent });
  await app.register(statusRoutes, { checks: services.healthChecks, publicOrigin: config.publicOrigin.origin });
  await app.register(cspReportRoutes);
  await app.register(feedbackRoutes, { service: services.feedback, minSeconds: config.feedbackMinSeconds, publicOrigin: config.publicOrigin.origin });
  await app.register(signInRoutes, { credentials: services.credentials, throttleStore: services.throttleStore, revocations: services.revocations, publicOrigin: config.publicOrigin.origin, auditSecret: config.sessionSecret, ...(services.signInPolicy === undefined ? {} : { policy: services.signInPolicy }) });
  await app.register(userRoutes, { credentials: services.credentials });
  await app.register(formKit, await discoverForms());                                             // every *.form.ts / *.journey.ts (ADR 0031)

  return app;
}
