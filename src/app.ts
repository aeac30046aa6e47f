/**
 * The application, as a table of contents: one line per concern, in security order.
 * Dependencies arrive in `services`, so tests build the real app with real alternatives
 * (memory store, local backends) and nothing is mocked.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/config.ts';
import type { Services } from './services.ts';
import { UPLOAD_PATHS, loggablePath } from './paths.ts';
import { rawErrorBody, rawErrorHeaders, rawErrorResponse } from './platform/security-headers.ts';
import securityHeaders from './platform/security-headers.ts';
import limits from './platform/limits.ts';
import {
  InFlight,
  RequestTimeoutError,
  serverRequestTimeoutMs,
  withRequestDeadline,
} from './platform/request-deadline.ts';
import loadShedding from './platform/load-shedding.ts';
import session from './platform/session.ts';
import assets from './platform/assets.ts';
import views from './platform/views.ts';
import authGuard from './platform/auth-guard.ts';
import type { SignedInUser } from './platform/auth-guard.ts';
import csrf from './platform/csrf.ts';
import errors from './platform/errors.ts';
import accessLog, { accessLineWriter, newRequestId, requestChildLogger } from './platform/logging.ts';
import writeBatching from './platform/write-batching.ts';
import contentRoutes from './features/content/content-routes.ts';
import statusRoutes from './features/status/status-routes.ts';
import cspReportRoutes from './features/csp-report/csp-report-routes.ts';
import feedbackRoutes from './features/feedback/feedback-routes.ts';
import signInRoutes from './features/sign-in/sign-in-routes.ts';
import userRoutes from './features/user/user-routes.ts';
import dashboardRoutes from './features/user/dashboard-routes.ts';
import evidenceRoutes from './features/evidence/evidence-routes.ts';
import aboutYouRoutes from './features/user/about-you-routes.ts';
import profileGate from './features/user/profile-gate.ts';
import passwordRoutes from './features/password/password-routes.ts';
import signupRoutes from './features/signup/signup-routes.ts';
import { createSignupService } from './features/signup/signup-service.ts';
import accountRoutes from './features/account/account-routes.ts';
import { createUserHasher } from './features/sign-in/audit.ts';
import { newIdentity, revokeSignIn } from './features/sign-in/identity.ts';
import { USER_HASH_KEY } from './features/sign-in/sign-in-routes.ts';
import formKit from './platform/forms/index.ts';
import type { Catalogue } from './i18n/catalogue.ts';
import { discoverForms } from './forms.ts';
import { VIEW_GLOBALS } from './platform/view-globals.ts';
import { consentVariant } from './platform/consent/index.ts';

// Node's CommonJS module, not an ESM import: that reads every export of node:http, and one of them loads Node's fetch
// implementation (undici): docs/adr/0032, test/integration/worker-modules.integration.test.ts.
const { createServer } = process.getBuiltinModule('node:http');

/** What the process tells the app while it stops (server.ts sets `draining` on SIGTERM). */
export class Lifecycle {
  /** True from SIGTERM on: every response closes its connection, so no keep-alive socket is left to race. */
  draining = false;
  /** Requests not yet answered, each with its own deadline: the drain waits for them up to it (ADR 0060). */
  readonly inFlight = new InFlight();
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

export function serverOptions(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle = new Lifecycle(),
): FastifyServerOptions {
  const https = config.publicOrigin.protocol === 'https:';
  const access = accessLineWriter(logger);
  const clientError = (err: Error, socket: Duplex): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const code = (err as NodeJS.ErrnoException).code;
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    access({ reqId: newRequestId(), method: '-', path: '-', status, ms: 0 });
    socket.end(rawErrorResponse(status, REASONS[status] ?? 'Bad Request', https));
  };
  return {
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newRequestId(),
    childLoggerFactory: requestChildLogger, // request.log made on first use
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    bodyLimit: config.bodyLimitBytes,
    // Requests that reach Fastify while it closes are answered as usual (with Connection: close), not with its bare
    // JSON 503: server.ts closes only once the keep-alive drain is over (docs/adr/0023).
    return503OnClosing: false,
    forceCloseConnections: false,
    routerOptions: {
      caseSensitive: true,
      ignoreTrailingSlash: false,
      ignoreDuplicateSlashes: false,
      maxParamLength: 100,
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    // Fastify's answers before routing (a URL it cannot decode, `/%ff`) get a plain body, the security headers and an
    // access line, never its JSON that echoes the path. No route ran, so no hook did: this does their part.
    frameworkErrors: (error, request, rawReply) => {
      const reply = rawReply as FastifyReply;
      const status =
        error.statusCode === 414 ? 414 : error.statusCode !== undefined && error.statusCode >= 500 ? 500 : 400;
      const reason = REASONS[status] ?? 'Bad Request';
      access({ reqId: request.id, method: request.method, path: loggablePath(request.url), status, ms: 0 });
      void reply
        .code(status)
        .headers(rawErrorHeaders(https))
        .type('text/plain; charset=utf-8')
        .send(rawErrorBody(status, reason));
    },
    // Node's own replies to malformed requests (bad syntax, oversized headers, too slow) carry the headers too.
    clientErrorHandler: clientError,
    serverFactory: (handler) =>
      answerExpectations(
        createServer(
          {
            maxHeaderSize: 16 * 1024,
            // Per route (request-deadline.ts): Node's own limit is the longest, the upload's; the wrapper below
            // applies REQUEST_TIMEOUT_MS to every other request.
            requestTimeout: serverRequestTimeoutMs(config.requestTimeoutMs, config.uploadTimeoutMs),
            headersTimeout: Math.min(config.requestTimeoutMs, 10_000),
            // Node checks those two timeouts on this interval (30 s by default), so a slow client held its socket for
            // up
            // to 30 s whatever they said; every half second keeps them within a second of the setting (issue 18.4).
            connectionsCheckingInterval: 500,
            keepAliveTimeout: 65_000,
            // Checked in limits.ts instead, so that the refusal is the app's page with the app's headers and a log
            // line.
            requireHostHeader: false,
            joinDuplicateHeaders: false,
          },
          withRequestDeadline(
            (req, res) => {
              if (lifecycle.draining) res.setHeader('connection', 'close');
              handler(req, res);
            },
            {
              requestTimeoutMs: config.requestTimeoutMs,
              ownLimits: (method, path) => method === 'POST' && (UPLOAD_PATHS as readonly string[]).includes(path),
              ownLimitMs: config.uploadTimeoutMs,
              inFlight: lifecycle.inFlight,
              onTimeout: (socket) => {
                clientError(new RequestTimeoutError(), socket);
              },
            },
          ),
        ),
        https,
        access,
      ),
  };
}

/**
 * Node answers an `Expect` other than 100-continue with its own bare 417 unless someone listens: this does, with the
 * headers.
 */
function answerExpectations(server: Server, https: boolean, access: ReturnType<typeof accessLineWriter>): Server {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = rawErrorBody(417, 'Expectation Failed');
    access({ reqId: newRequestId(), method: req.method ?? '-', path: loggablePath(req.url ?? ''), status: 417, ms: 0 });
    res.writeHead(417, {
      ...rawErrorHeaders(https),
      connection: 'close',
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  });
  return server;
}

/** `words`: the message catalogue (ADR 0030); default the app's own locales (tests give one with a pseudo-locale). */
export async function buildApp(
  config: Config,
  services: Services,
  logger: Logger,
  lifecycle: Lifecycle = new Lifecycle(),
  words?: Catalogue,
): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(config, logger, lifecycle));
  const o = pluginOptions(config, services, words);

  if (services.tracing !== undefined) await app.register(services.tracing.plugin); // a span per request (OTEL only)
  await app.register(accessLog, o.accessLog); // one JSON line per request, redacted
  app.addHook('onSend', closeWhileDraining(lifecycle)); // replies in flight close their connection too
  await app.register(writeBatching); // a turn's responses written together
  await app.register(limits, o.limits); // host, methods, body type/size/fields
  await app.register(securityHeaders, o.securityHeaders); // CSP nonce and headers on every response
  await app.register(loadShedding, o.loadShedding); // 503 while overloaded
  await app.register(session, o.session); // the PHP front's session, shared in Redis
  await app.register(views, o.views); // Nunjucks, autoescape, govuk-frontend; consent banner variants
  await app.register(authGuard, o.authGuard); // deny by default
  await app.register(csrf, o.csrf); // every state change; forms cost no server state
  await app.register(profileGate, o.profileGate); // no name yet: /user/about-you/new first
  await app.register(errors); // 404/405, then error pages
  // Every route comes after `errors`: a route keeps the error handler set when it is registered.
  await app.register(assets, o.assets); // hashed static files from memory

  await app.register(contentRoutes, o.content); // public pages
  await app.register(statusRoutes, o.status); // /ping, /ping/json, /ping/elb
  await app.register(cspReportRoutes); // CSP violation reports, rate-limited
  await app.register(feedbackRoutes, o.feedback); // the feedback form
  await app.register(signInRoutes, o.signIn); // sign in, sign out
  await app.register(signupRoutes, o.signup); // create an account, activate it
  await app.register(passwordRoutes, o.password); // forgotten, reset and change password
  await app.register(accountRoutes, o.account); // change email, delete the account
  await app.register(userRoutes, {}); // /session-state
  await app.register(aboutYouRoutes, o.aboutYou); // your details, the postcode finder
  await app.register(dashboardRoutes, o.dashboard); // the user's LPAs
  await app.register(evidenceRoutes, o.evidence); // evidence uploads, scanned (ADR 0040)
  await app.register(formKit, await discoverForms()); // every *.form.ts / *.journey.ts (ADR 0031)

  return app;
}

/** While draining, replies in flight close their connection too (new requests get it in serverFactory). */
function closeWhileDraining(lifecycle: Lifecycle) {
  return (
    _request: unknown,
    reply: FastifyReply,
    payload: unknown,
    done: (err: null, payload: unknown) => void,
  ): void => {
    if (lifecycle.draining) reply.header('connection', 'close');
    done(null, payload);
  };
}

/** Each plugin's options, from the config and the services: what buildApp's table of contents passes. */
function pluginOptions(config: Config, services: Services, words: Catalogue | undefined) {
  const https = config.publicOrigin.protocol === 'https:';
  const origin = config.publicOrigin.origin;
  const consent = { secure: https, measurementId: config.gaMeasurementId, gaCookieDomain: config.gaCookieDomain };
  // One for the views and the dashboard's cached shell (ADR 0057), so both pick the same consent variant.
  const pageVariant = consentVariant({ ...consent, publicOrigin: origin });
  return {
    accessLog: { tracing: services.tracing !== undefined },
    limits: { publicHost: config.publicOrigin.host, checkHost: config.isProduction },
    securityHeaders: { https },
    loadShedding: {
      maxEventLoopDelayMs: config.loadShedEventLoopDelayMs,
      retryAfterSeconds: config.loadShedRetryAfterSeconds,
    },
    session: {
      store: services.sessionStore,
      cookie: services.sessionCookie,
      ttlSeconds: config.sessionTtlSeconds,
      revocations: services.revocations,
    },
    views: {
      catalogue: services.assets,
      precompile: config.isProduction,
      globals: { sessionWarningSeconds: config.sessionWarningSeconds, ...VIEW_GLOBALS },
      variant: pageVariant,
      ...(words === undefined ? {} : { words }),
    },
    authGuard: { resolveUser: services.resolveUser },
    csrf: {
      publicOrigin: config.acceptedOrigins,
      secret: config.sessionSecret,
      lifetimeSeconds: config.sessionTtlSeconds,
      secure: https,
    },
    profileGate: { accounts: services.accounts },
    assets: { catalogue: services.assets },
    content: { consent },
    status: { checks: services.healthChecks, publicOrigin: origin },
    feedback: { service: services.feedback, minSeconds: config.feedbackMinSeconds, publicOrigin: origin },
    signIn: {
      credentials: services.credentials,
      throttleStore: services.throttleStore,
      revocations: services.revocations,
      publicOrigin: origin,
      auditSecret: config.sessionSecret,
      ...(services.signInPolicy === undefined ? {} : { policy: services.signInPolicy }),
    },
    signup: {
      service: createSignupService({ accounts: services.accounts, mail: services.mail, publicOrigin: origin }),
      throttleStore: services.throttleStore,
      auditSecret: config.sessionSecret,
      answerFloorMs: config.accountAnswerFloorMs,
      throttle: { perAddress: config.accountThrottlePerAddress, perRecipient: config.accountThrottlePerRecipient },
    },
    password: {
      accounts: services.accounts,
      mail: services.mail,
      revocations: services.revocations,
      throttleStore: services.throttleStore,
      credentials: services.credentials,
      publicOrigin: origin,
      auditSecret: config.sessionSecret,
      answerFloorMs: config.accountAnswerFloorMs,
    },
    account: {
      accounts: services.accounts,
      credentials: services.credentials,
      mail: services.mail,
      publicOrigin: origin,
      // Features do not import each other (ADR 0029): sign-in's parts arrive here.
      signIn: {
        userHash: createUserHasher(config.sessionSecret),
        userHashKey: USER_HASH_KEY,
        newIdentity,
        endSignIn: (user: SignedInUser, traceId: string) =>
          revokeSignIn({ backend: services.credentials, revocations: services.revocations }, user, traceId),
      },
      onDeleted: (userId: string) => services.evidence.deleteForUser(userId),
    },
    aboutYou: { accounts: services.accounts, addressLookup: services.addressLookup },
    dashboard: {
      accounts: services.accounts,
      trackFromDate: config.trackFromDate,
      legacyFront: config.legacyFront,
      variant: pageVariant,
    },
    evidence: {
      service: services.evidence,
      publicOrigin: config.acceptedOrigins,
      auditSecret: config.sessionSecret,
      limits: {
        maxFileBytes: config.uploadMaxFileBytes,
        maxFilesPerUser: config.uploadMaxFilesPerUser,
        maxImagePixels: config.uploadMaxImagePixels,
        timeoutMs: config.uploadTimeoutMs,
        minBytesPerSecond: config.uploadMinBytesPerSecond,
        rateWindowMs: config.uploadRateWindowMs,
        retentionDays: config.uploadRetentionDays,
      },
    },
  };
}
