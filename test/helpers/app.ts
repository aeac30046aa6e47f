/**
 * build(t): the real app, listening on a loopback port, with chosen services; closed after the test.
 * Nothing is mocked: tests pass real alternatives (memory store, local backends) through `services`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { buildApp } from '../../src/app.ts';
import type { Services } from '../../src/services.ts';
import { createServices } from '../../src/services.ts';
import { loggerOptions } from '../../src/platform/logging.ts';
import { loadTracing } from '../../src/platform/tracing-loader.ts';
import { freePort } from './services.ts';

export const TEST_SECRET = 'test-secret-for-lpa-front-tests-only-000000';
/** LOAD_SHED_EVENT_LOOP_DELAY_MS for test apps unless a test sets its own. */
export const TEST_LOAD_SHED_BOUND_MS = 60_000;

/**
 * The environment of the server as a test starts it in its own process in production mode (src/server.ts or the
 * compiled dist/server/server.js): one worker on 127.0.0.1:`port`, the embedded store in `dataDir`, mail to files.
 */
export function productionServerEnv(port: number, dataDir: string, sessionSecret: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LEGACY_FRONT: 'false',
    MAIL_TRANSPORT: 'file',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_ORIGIN: `https://127.0.0.1:${String(port)}`,
    SESSION_SECRET: sessionSecret,
    WORKERS: '1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    // A busy machine must not turn a compared answer into a load-shedding 503 (README.md, "busy machine").
    LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS),
  };
}

export interface Built {
  readonly app: FastifyInstance;
  readonly origin: string;
  readonly config: Config;
  readonly services: Services;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Raw log text, to search for things that must never appear. */
  logText(): string;
}

export interface Started extends Built {
  close(): Promise<void>;
}

export interface BuildOptions {
  readonly env?: Record<string, string>;
  /** Make services from the config (default: createServices with the captured logger). */
  readonly services?: (config: Config, logger: Logger) => Services | Promise<Services>;
  readonly logLevel?: string;
  /**
   * 'public': listen on a free port and make PUBLIC_ORIGIN that same origin, as a real browser needs for the
   * CSRF Origin check. Default: any free port, PUBLIC_ORIGIN http://127.0.0.1:8005 (what `Browser` sends).
   */
  readonly port?: 'public';
}

/** A pino logger whose lines are kept in memory. */
export function captureLogger(
  level = 'debug',
  options: { tracing?: boolean } = {},
): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      cb();
    },
  });
  return { logger: pino(loggerOptions(level, options), sink), lines };
}

/** The real app on 127.0.0.1 with a temporary DATA_DIR; the caller closes it. */
export async function startTestApp(options: BuildOptions = {}): Promise<Started> {
  const port = options.port === 'public' ? await freePort() : 0;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    SESSION_SECRET: TEST_SECRET,
    PUBLIC_ORIGIN: port === 0 ? 'http://127.0.0.1:8005' : `http://127.0.0.1:${String(port)}`,
    FEEDBACK_MIN_SECONDS: '0',
    // A bound no machine's load reaches (the schema's maximum), the shedding hook still on every request: on a busy
    // CI machine this process's loop can lag a second at times, and a test of something else got a load-shedding 503.
    // The load-shedding tests set their own bound.
    LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS),
    ...options.env,
  };
  const ownDataDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'lpa-front-test-')) : undefined;
  if (ownDataDir !== undefined) env.DATA_DIR = ownDataDir;
  const config = loadConfig(env);
  const { logger, lines } = captureLogger(options.logLevel, { tracing: config.otelEnabled });
  const services = options.services
    ? await options.services(config, logger)
    : createServices(config, { logger, tracing: await loadTracing(config, logger) });
  // If the app cannot be built or listen, nothing returned can close the services (a Redis client among them),
  // so close them here: a leaked client keeps the test file from ever exiting.
  let app: FastifyInstance | undefined;
  let address: ReturnType<FastifyInstance['server']['address']>;
  try {
    app = await buildApp(config, services, logger);
    await app.listen({ host: '127.0.0.1', port });
    address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
  } catch (err) {
    await app?.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
    throw err;
  }
  const built = app;
  return {
    app: built,
    origin: `http://127.0.0.1:${String(address.port)}`,
    config,
    services,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    async close() {
      try {
        await built.close();
      } finally {
        await services.close(); // even when the app's close failed
        if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
      }
    },
  };
}

/** build(t): startTestApp, closed after the test. */
export async function build(
  t: TestContext | { after(fn: () => unknown): void },
  options: BuildOptions = {},
): Promise<Built> {
  const started = await startTestApp(options);
  t.after(() => started.close());
  return started;
}
