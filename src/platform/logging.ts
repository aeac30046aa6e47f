/**
 * Logs: pino JSON, one access line per request carrying its request id, nothing secret.
 *
 * Fastify's two default request lines are off; `accessLog` writes one line when the response is finished.
 * Only the path is logged (query strings can carry tokens), a token segment as `[redacted]` (paths.ts loggablePath),
 * never headers, cookies or bodies. Redaction
 * is the second line of defence for anything a handler logs by mistake: cookies, authorisation headers,
 * CSRF values, tokens, passwords and email addresses are censored wherever they appear (two levels deep).
 * With tracing on (docs/adr/0026) every line written inside a trace carries its `traceId` and `spanId`, and the
 * access line its request's `traceId`; with it off, lines are unchanged and nothing is looked up.
 */
import { randomPool } from './random-pool.ts';
import fp from 'fastify-plugin';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import { pino } from 'pino';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, Logger, LoggerOptions } from 'pino';
import { ASSET_PREFIX, QUIET_PATHS, loggablePath } from '../paths.ts';
import { requestTrace, traceLogMixin } from './trace-context.ts';

const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'authToken',
  '_csrf',
  '__csrf',
  'csrf',
  'email',
  'username',
  'cookie',
  'authorization',
  'set-cookie',
  'secret',
  'sessionSecret',
];

export const REDACT_PATHS: string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  ...SECRET_KEYS.flatMap((k) =>
    /^[A-Za-z_$][\w$]*$/.test(k) ? [k, `*.${k}`, `*.*.${k}`] : [`*["${k}"]`, `*.*["${k}"]`],
  ),
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

export function loggerOptions(level: string, options: { tracing?: boolean } = {}): LoggerOptions {
  return {
    level,
    ...(options.tracing === true ? { mixin: traceLogMixin } : {}),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'lpa-front', pid: process.pid },
    timestamp,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        method: req.method,
        path: loggablePath(req.url ?? ''),
        id: req.id,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

/** Crockford's base32 alphabet: no I, L, O or U, so a reference read out over the phone is not misheard. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A short random request id (8 characters, 40 bits), also the error reference shown on 500 pages. */
export const newRequestId: () => string = randomPool(8, 1024, (pool, start) => {
  let id = '';
  for (let i = start; i < start + 8; i++) id += CROCKFORD.charAt((pool[i] ?? 0) & 31);
  return id;
});

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

  // Methods on the prototype, not arrow-function fields: one object per request instead of eight.
  fatal(...args: Parameters<LogFn>): void {
    this.real.fatal(...args);
  }
  error(...args: Parameters<LogFn>): void {
    this.real.error(...args);
  }
  warn(...args: Parameters<LogFn>): void {
    this.real.warn(...args);
  }
  info(...args: Parameters<LogFn>): void {
    this.real.info(...args);
  }
  debug(...args: Parameters<LogFn>): void {
    this.real.debug(...args);
  }
  trace(...args: Parameters<LogFn>): void {
    this.real.trace(...args);
  }
  silent(...args: Parameters<LogFn>): void {
    this.real.silent(...args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

function hasOwnKeys(options: object): boolean {
  for (const key in options) if (Object.hasOwn(options, key)) return true;
  return false;
}

/** Fastify's `childLoggerFactory`: the per-request logger, made lazily (see LazyRequestLogger). */
export function requestChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, hasOwnKeys(options) ? options : undefined);
}

export interface AccessFields {
  readonly reqId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  /** With tracing on: the request's trace. */
  readonly traceId?: string | undefined;
}

type AccessWriter = (fields: AccessFields) => void;

/**
 * Writes the access line. Its five keys are fixed and none is secret, so it needs none of pino's per-line work
 * (serializers, path redaction): it is formatted here exactly as pino would write it (same level label, time,
 * bindings and key order; logging.test.ts compares the two) and handed to the logger's own destination, in
 * turn with every other line. This was the largest cost of a static page left after the first pass
 * (docs/adr/0006). A logger that is not pino's gets an ordinary `info` call.
 */
export function accessLineWriter(logger: FastifyBaseLogger): AccessWriter {
  const internals = logger as unknown as Partial<Record<symbol, unknown>>;
  const stream = internals[pino.symbols.streamSym] as { write?: unknown } | undefined;
  const bindings = internals[pino.symbols.chindingsSym];
  const real = logger as Partial<Pick<Logger, 'isLevelEnabled'>>;
  if (
    stream === undefined ||
    typeof stream.write !== 'function' ||
    typeof bindings !== 'string' ||
    typeof real.isLevelEnabled !== 'function'
  ) {
    return (fields) => {
      logger.info({ ...fields }, 'request');
    };
  }
  const write = (stream.write as (line: string) => unknown).bind(stream);
  const enabled = real.isLevelEnabled.bind(logger);
  return ({ reqId, method, path, status, ms, traceId }) => {
    if (!enabled('info')) return;
    const trace = traceId === undefined ? '' : `,"traceId":${JSON.stringify(traceId)}`;
    write(
      `{"level":"info"${timestamp()}${bindings},"reqId":${JSON.stringify(reqId)}${trace},"method":${JSON.stringify(method)},"path":${JSON.stringify(path)},"status":${String(status)},"ms":${String(ms)},"msg":"request"}\n`,
    );
  };
}

async function accessLog(app: FastifyInstance, options: { tracing?: boolean }): Promise<void> {
  const access = accessLineWriter(app.log);
  const tracing = options.tracing === true;
  // Callback style: Fastify runs it without a promise and a microtask per request.
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const path = loggablePath(request.url);
    // Health checks and assets are left out unless refused: every error a client causes has its line.
    if (reply.statusCode >= 400 || !(QUIET_PATHS.has(path) || path.startsWith(ASSET_PREFIX))) {
      // With tracing off: one boolean test, and an absent traceId (no lookup, no extra object).
      const traceId = tracing ? requestTrace(request)?.traceId : undefined;
      access({
        reqId: request.id,
        method: request.method,
        path,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        traceId,
      });
    }
    done();
  });
}

export default fp(accessLog, { name: 'lpa-access-log' });

/** What the process's logger writes to: pino's SonicBoom destination, or anything with these three methods. */
export interface LineSink {
  write(data: string): boolean;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

/**
 * Hands the lines written during one turn of the event loop to `sink` as one string, in order, from a
 * `setImmediate` (after the turn's I/O callbacks). SonicBoom measures the byte length of its whole pending
 * buffer (up to 16 KB, flattened: a copy) on every write, so one write per line costs more the more is
 * pending; one write per turn pays that once for all the turn's lines (docs/adr/0006). `flush` and
 * `flushSync` hand over what is pending first, so the exit handler still writes every line.
 */
export class TurnBatchedSink implements LineSink {
  #pending = '';
  #scheduled = false;
  readonly #sink: LineSink;
  readonly #handOver = (): void => {
    this.#scheduled = false;
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    this.#sink.write(lines);
  };

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  write(data: string): boolean {
    this.#pending += data;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#handOver);
    }
    return true;
  }

  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    this.#sink.flush(cb);
  }

  flushSync(): void {
    this.#handOver();
    this.#sink.flushSync();
  }
}
