/**
 * Logs: pino JSON, one access line per request carrying its request id, nothing secret.
 *
 * Fastify's two default request lines are off; `accessLog` writes one line when the response is finished.
 * Only the path is logged (query strings can carry tokens), never headers, cookies or bodies. Redaction
 * is the second line of defence for anything a handler logs by mistake: cookies, authorisation headers,
 * CSRF values, tokens, passwords and email addresses are censored wherever they appear (two levels deep).
 */
import { randomPool } from './random-pool.ts';
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, LoggerOptions } from 'pino';
import { ASSET_PREFIX, QUIET_PATHS } from '../paths.ts';

const SECRET_KEYS = ['password', 'newPassword', 'currentPassword', 'token', 'authToken', '_csrf', '__csrf', 'csrf', 'email', 'username', 'cookie', 'authorization', 'set-cookie', 'secret', 'sessionSecret'];

export const REDACT_PATHS: string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  ...SECRET_KEYS.flatMap((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? [k, `*.${k}`, `*.*.${k}`] : [`*["${k}"]`, `*.*["${k}"]`])),
];

// Formatting the time is a visible cost per line under load; lines written in the same millisecond share it.
let lastMs = -1;
let lastTime = '';
function timestamp(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'lpa-front', pid: process.pid },
    timestamp,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, path: (req.url ?? '').split('?', 1)[0], id: req.id }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

/** A short random request id, also the error reference shown on 500 pages. */
export const newRequestId: () => string = randomPool(6, 1024, (pool, start, end) => pool.toString('base64url', start, end).toUpperCase().replace(/[-_]/g, 'X'));

/**
 * The request's logger (`request.log`), created only when something logs through it.
 *
 * Fastify makes a child logger bound to the request id for every request; with wildcard redaction pino runs the
 * redactor over the bindings each time, the largest single cost of a request that logs nothing (docs/adr/0006).
 * This stands in for that child and creates the very same child (`parent.child(bindings, options)`, so the same
 * redaction, serializers and bindings) on the first call, then forwards every call to it.
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions | undefined;
  #real: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options?: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  /** The real child logger (made on first use). */
  get real(): FastifyBaseLogger {
    this.#real ??= this.#parent.child(this.#bindings, this.#options);
    return this.#real;
  }

  get level(): LevelWithSilentOrString {
    return this.#real?.level ?? this.#options?.level ?? this.#parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.real.level = level;
  }

  fatal: LogFn = (...args: Parameters<LogFn>) => this.real.fatal(...args);
  error: LogFn = (...args: Parameters<LogFn>) => this.real.error(...args);
  warn: LogFn = (...args: Parameters<LogFn>) => this.real.warn(...args);
  info: LogFn = (...args: Parameters<LogFn>) => this.real.info(...args);
  debug: LogFn = (...args: Parameters<LogFn>) => this.real.debug(...args);
  trace: LogFn = (...args: Parameters<LogFn>) => this.real.trace(...args);
  silent: LogFn = (...args: Parameters<LogFn>) => this.real.silent(...args);

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: the per-request logger, made lazily (see LazyRequestLogger). */
export function requestChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, Object.keys(options).length === 0 ? undefined : options);
}

async function accessLog(app: FastifyInstance): Promise<void> {
  // The access line is built here from five fixed keys, none of them secret, so it skips pino's path
  // redaction, which was the largest cost per request in a CPU profile (docs/adr/0006). Every other
  // log line, including anything a handler logs, is still redacted by the configuration above.
  const access = app.log.child({}, { redact: { paths: ['accessLineHasNoSecretKeys'], censor: '[redacted]' } });
  // Callback style: Fastify runs it without a promise and a microtask per request.
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (!QUIET_PATHS.has(path) && !(path.startsWith(ASSET_PREFIX) && reply.statusCode < 400)) {
      access.info({ reqId: request.id, method: request.method, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    }
    done();
  });
}

export default fp(accessLog, { name: 'lpa-access-log' });
