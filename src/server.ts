/**
 * The process: check the runtime, load config, start workers, listen, drain on SIGTERM/SIGINT.
 * Nothing else lives here; the application is assembled in app.ts.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config/config.ts';
import { TurnBatchedSink, loggerOptions } from './platform/logging.ts';
import { assertSupportedRuntime } from './platform/runtime-guard.ts';
import { Lifecycle, buildApp } from './app.ts';
import { createServices } from './services.ts';
import { loadTracing } from './platform/tracing-loader.ts';
import { ANSWER_SLACK_MS } from './platform/request-deadline.ts';
import type { InFlight } from './platform/request-deadline.ts';

assertSupportedRuntime();

// The boot logger exists before LOG_LEVEL is checked, so it starts at a fixed level: pino throws on a level it does
// not know, and a bad LOG_LEVEL must get the config error that names it. It takes LOG_LEVEL once that is valid;
// notices wait until then, so a quieter level still silences them.
const bootLogger = pino(loggerOptions('info'));
const notices: string[] = [];
let config;
try {
  config = loadConfig(process.env, {
    onNotice: (m) => {
      notices.push(m);
    },
  });
} catch (err) {
  if (err instanceof ConfigError) {
    bootLogger.fatal({ setting: err.setting }, err.message);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
bootLogger.level = config.logLevel;
if (cluster.isPrimary) for (const m of notices) bootLogger.warn(m);

const workers = config.workers === 0 ? availableParallelism() : config.workers;

if (workers > 1 && cluster.isPrimary) {
  // Workers must agree on the session secret; an ephemeral one is made once here and handed down.
  const env = config.sessionSecretIsEphemeral ? { SESSION_SECRET: config.sessionSecret.toString('base64') } : {};
  for (let i = 0; i < workers; i++) cluster.fork(env);
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    bootLogger.error({ worker: worker.id, code, signal }, 'worker exited; starting another');
    cluster.fork(env);
  });
  const stop = (signal: string) => {
    stopping = true;
    bootLogger.info({ signal }, 'stopping workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
  bootLogger.info({ workers, host: config.host, port: config.port }, 'lpa-front primary started');
} else {
  // One write per turn of the event loop, not per line (TurnBatchedSink), made on the main thread: handing each
  // batch to libuv's pool cost more than the write itself (ADR 0062).
  const destination = new TurnBatchedSink(pino.destination({ dest: 1, sync: true }));
  process.on('exit', () => {
    destination.flushSync();
  });
  const logger = pino(loggerOptions(config.logLevel, { tracing: config.otelEnabled }), destination);
  // imports the SDK only when enabled
  const tracing = await loadTracing(config, logger.child({ component: 'tracing' }));
  const services = createServices(config, { logger, tracing });
  const lifecycle = new Lifecycle();
  const app = await buildApp(config, services, logger, lifecycle);
  await app.listen({ host: config.host, port: config.port });
  services.mail.start(); // the outbox's retry loop; services.close() stops it after the drain
  logger.info({ host: config.host, port: config.port, store: services.sessionStore.kind }, 'lpa-front listening');

  // Draining (docs/adr/0023). Closing idle keep-alive sockets at once raced with clients that had just sent a request
  // on one: it was reset (ECONNRESET). So first every response says Connection: close, in-flight and newly arriving
  // alike, and each connection closes after its reply; idle ones are closed only when the drain window is over or
  // no connection is left. Then Fastify closes (any last request is still answered) and the stores.
  // Each request still in flight may take until its own deadline, an upload's UPLOAD_TIMEOUT_MS (docs/adr/0060):
  // the hard exit comes only after the latest of them and the time to answer.
  const drain = async (signal: string): Promise<void> => {
    logger.info({ signal, drainMs: config.shutdownDrainMs }, 'draining');
    lifecycle.draining = true;
    await untilNoConnections(app.server, config.shutdownDrainMs);
    const closed = app.close(); // stops accepting, closes idle sockets, finishes in-flight requests, runs onClose hooks
    logger.info({ inFlight: lifecycle.inFlight.size }, 'draining: no longer accepting');
    exitAfterDeadlines(lifecycle.inFlight, () => {
      logger.error({ inFlight: lifecycle.inFlight.size }, 'drain overran; exiting');
      process.exit(1);
    });
    await closed;
    await services.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => {
    void drain('SIGTERM');
  });
  process.once('SIGINT', () => {
    void drain('SIGINT');
  });
}

/** Resolves when the server has no open connection, or after `ms`. */
async function untilNoConnections(server: Server, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const open = await new Promise<number>((resolve) => {
      server.getConnections((err, n) => {
        resolve(err === null ? n : 0);
      });
    });
    if (open === 0) return;
    await delay(50);
  }
}

/**
 * Calls `exit` once the latest deadline of the requests in flight, plus the time to answer, has passed (with none in
 * flight, that time alone, for the stores to close). Checked again then: a request accepted while the listener was
 * closing counts too. Every deadline is at most the longest route limit after its request arrived.
 */
function exitAfterDeadlines(inFlight: InFlight, exit: () => void): void {
  let end = performance.now() + ANSWER_SLACK_MS;
  const check = (): void => {
    end = Math.max(end, inFlight.latestDeadline() + ANSWER_SLACK_MS);
    const left = end - performance.now();
    if (left > 0) setTimeout(check, left).unref();
    else exit();
  };
  check();
}
