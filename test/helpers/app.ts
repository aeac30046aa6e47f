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
import type { Config } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { buildApp } from '../../src/app.ts';
import type { Services } from '../../src/services.ts';
import { createServices } from '../../src/services.ts';
import { loggerOptions } from '../../src/platform/logging.ts';

export const TEST_SECRET = 'test-secret-for-lpa-front-tests-only-000000';

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

export interface BuildOptions {
  readonly env?: Record<string, string>;
  /** Make services from the config (default: createServices). */
  readonly services?: (config: Config) => Services | Promise<Services>;
  readonly logLevel?: string;
}

export async function build(t: TestContext | { after(fn: () => unknown): void }, options: BuildOptions = {}): Promise<Built> {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    SESSION_SECRET: TEST_SECRET,
    PUBLIC_ORIGIN: 'http://127.0.0.1:8005',
    FEEDBACK_MIN_SECONDS: '0',
    ...options.env,
  };
  if (env.DATA_DIR === undefined) {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-front-test-'));
    env.DATA_DIR = dataDir;
    t.after(() => { rmSync(dataDir, { recursive: true, force: true }); });
  }
  const config = loadConfig(env);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const logger = pino(loggerOptions(options.logLevel ?? 'debug'), sink);
  const services = options.services ? await options.services(config) : createServices(config);
  const app = await buildApp(config, services, logger);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const origin = `http://127.0.0.1:${String(address.port)}`;
  t.after(async () => {
    await app.close();
    await services.close();
  });
  return {
    app,
    origin,
    config,
    services,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
  };
}
