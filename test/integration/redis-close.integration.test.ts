/**
 * No Redis client outlives close(), with a real redis-server: a leaked ioredis client reconnects every 2 s for
 * ever and keeps its test file (and CI) from exiting. close() returns within a bound even when the server is hung
 * (SIGSTOP), and afterwards nothing connects to a listener put on the server's port: for the session store on its
 * own (Redis stopped with a command queued, Redis hung) and for every client the app's services made (also when
 * another service's close() fails).
 */
import { after, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { createServices } from '../../src/services.ts';
import { MemoryThrottleStore } from '../../src/features/sign-in/throttle.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import { TEST_SECRET, captureLogger, startTestApp } from '../helpers/app.ts';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import type { Tracing } from '../../src/platform/trace-context.ts';

/** close() must return well within this, hung server or not (ioredis' own command timeout here is 10 s). */
const CLOSE_DEADLINE_MS = 4000;
/** Longer than ioredis' largest reconnect delay (2 s): a leaked client would connect at least once. */
const WATCH_MS = 3500;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** SIGKILL (it ends a SIGSTOPped process too); a process already gone is fine. */
function kill(redis: StartedRedis): void {
  try {
    process.kill(redis.process.pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function redisFor(t: TestContext): Promise<StartedRedis> {
  const redis = await startRedis();
  t.after(async () => {
    kill(redis);
    await redis.stop();
  });
  return redis;
}

/** Auto-pipelining sends (or queues) a command on the next tick: let it, so close() finds it there. */
function commandsSent(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves with close()'s duration, or rejects once the deadline passes. */
async function closesWithin(what: string, close: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} still running after ${CLOSE_DEADLINE_MS} ms`)),
      CLOSE_DEADLINE_MS,
    );
  });
  try {
    await Promise.race([close().catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}

/** Kills redis-server, listens on its port for WATCH_MS and counts the connections that arrive. */
async function connectionsAfterKill(redis: StartedRedis): Promise<number> {
  kill(redis);
  await redis.process.exited;
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(redis.port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
  await new Promise((resolve) => server.close(resolve));
  return accepted;
}

/** If the test fails, the client must not keep this file alive (that is the bug under test). */
function disconnectAfter(t: TestContext, store: unknown): void {
  assert.ok(store instanceof RedisStore);
  t.after(() => store.client.disconnect());
}

function newStore(t: TestContext, redis: StartedRedis): RedisStore {
  const store = new RedisStore({ url: new URL(redis.url), prefix: 'close:', commandTimeoutMs: 10_000 });
  disconnectAfter(t, store);
  return store;
}

describe('RedisStore.close()', () => {
  test('Redis stopped with a command queued: close returns and no reconnect follows', async (t) => {
    const redis = await redisFor(t);
    const store = newStore(t, redis);
    await store.ping();
    await redis.process.stop();
    await new Promise((resolve) => setTimeout(resolve, 100)); // the client sees the close and starts reconnecting
    void store.load('queued').catch(() => undefined); // waits in ioredis' offline queue, as a request's would
    await commandsSent();
    await closesWithin('close()', () => store.close());
    assert.equal(await connectionsAfterKill(redis), 0, 'connections to the port after close()');
  });

  test('Redis hung (SIGSTOP) with a command in flight: close returns within the bound', async (t) => {
    const redis = await redisFor(t);
    const store = newStore(t, redis);
    await store.ping();
    process.kill(redis.process.pid, 'SIGSTOP');
    void store.load('in-flight').catch(() => undefined);
    await commandsSent();
    const ms = await closesWithin('close()', () => store.close());
    assert.ok(ms < CLOSE_DEADLINE_MS, `close() took ${ms.toFixed(0)} ms`);
    assert.equal(await connectionsAfterKill(redis), 0, 'connections to the port after close()');
  });
});

describe('services.close() closes every Redis client the services made', () => {
  function servicesFor(redis: StartedRedis, overrides: Parameters<typeof createServices>[1] = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-redis-close-'));
    dirs.push(dataDir);
    const config = loadConfig({
      NODE_ENV: 'test',
      SESSION_SECRET: TEST_SECRET,
      PUBLIC_ORIGIN: 'http://127.0.0.1:8005',
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
    });
    return createServices(config, { logger: captureLogger('warn').logger, ...overrides });
  }

  test('Redis stopped while the throttle, revocation and evidence stores have commands queued', async (t) => {
    const redis = await redisFor(t);
    const services = servicesFor(redis);
    disconnectAfter(t, services.sessionStore);
    await services.sessionStore.ping();
    await redis.process.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    void services.throttleStore.hit('k', 60).catch(() => undefined);
    void services.revocations.revoke('token', 60).catch(() => undefined);
    void services.evidence.files.list('user').catch(() => undefined); // the records, not a sweep: stop() awaits that
    await commandsSent();
    await closesWithin('services.close()', () => services.close());
    assert.equal(await connectionsAfterKill(redis), 0, 'connections to the port after services.close()');
  });

  test('Redis hung: every store on the shared connection gives up within the command bound (2 s), not never', async (t) => {
    const redis = await redisFor(t);
    const services = servicesFor(redis);
    disconnectAfter(t, services.sessionStore);
    await services.sessionStore.ping();
    process.kill(redis.process.pid, 'SIGSTOP');
    t.after(() => {
      kill(redis);
    });
    // The session store's client has no ioredis command timeout (ADR 0021 amended): each sharer uses its bound.
    const calls: [string, () => Promise<unknown>][] = [
      ['session read', () => services.sessionStore.load('0'.repeat(32))],
      ['throttle hit', () => services.throttleStore.hit('k', 60)],
      ['throttle reset', () => services.throttleStore.reset('k')],
      ['deny-list check', () => services.revocations.isRevoked('token')],
      ['deny-list add', () => services.revocations.revoke('token', 60)],
      ['account index', () => services.revocations.remember('account', 'token', 60)],
      ['account of a token', () => services.revocations.accountOf('token')],
      ['sign out everywhere', () => services.revocations.revokeAccount('account', null, 60)],
      ['evidence records', () => services.evidence.files.list('user')],
    ];
    const outcomes = await Promise.all(
      calls.map(async ([what, call]) => {
        const started = performance.now();
        let watchdog: NodeJS.Timeout | undefined;
        const never = new Promise<string>((resolve) => {
          watchdog = setTimeout(() => {
            resolve('still waiting after 5 s');
          }, 5000);
        });
        const outcome = await Promise.race([
          call().then(
            () => 'answered',
            () => 'failed',
          ),
          never,
        ]);
        clearTimeout(watchdog);
        return `${what}: ${outcome}${outcome === 'failed' && performance.now() - started < 1900 ? ' too soon' : ''}`;
      }),
    );
    assert.deepEqual(
      outcomes,
      calls.map(([what]) => `${what}: failed`),
    );
  });

  test("another service's close() fails: the Redis client is closed all the same", async (t) => {
    const redis = await redisFor(t);
    const failing = new MemoryThrottleStore();
    failing.close = () => Promise.reject(new Error('throttle store close failed'));
    const services = servicesFor(redis, { throttleStore: failing });
    disconnectAfter(t, services.sessionStore);
    await services.sessionStore.ping();
    await assert.rejects(services.close(), /throttle store close failed/);
    assert.equal(await connectionsAfterKill(redis), 0, 'connections to the port after services.close()');
  });
});

describe('test helpers close what they made', () => {
  test('startTestApp: the app cannot be built, the services it made are closed all the same', async (t) => {
    const redis = await redisFor(t);
    const failingPlugin: Tracing = {
      plugin: () => Promise.reject(new Error('plugin failed')),
      outbound: (_name, _parent, fn) => fn({}),
      shutdown: () => Promise.resolve(),
    };
    let made: unknown;
    await assert.rejects(
      startTestApp({
        env: { REDIS_URL: redis.url },
        services: (config, logger) => {
          const services = createServices(config, { logger, tracing: failingPlugin });
          made = services.sessionStore;
          return services;
        },
      }),
      /plugin failed/,
    );
    disconnectAfter(t, made);
    assert.equal(await connectionsAfterKill(redis), 0, 'connections to the port after the failed start');
  });
});
