/**
 * The session store over TLS (`rediss://`, as ElastiCache in-transit encryption requires) against a real
 * TLS-only redis-server with a throwaway CA: the store, the whole app, and the real server process.
 * The certificate is always verified: without the CA the connection is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, httpGet, startProcess, startRedisTls } from '../helpers/services.ts';
import { TEST_LOAD_SHED_BOUND_MS } from '../helpers/app.ts';
import type { StartedRedisTls } from '../helpers/services.ts';
import { build } from '../helpers/app.ts';
import { Browser } from '../helpers/http.ts';
import { RedisStore, createRedisClient } from '../../src/sessions/redis-store.ts';
import { createServices } from '../../src/services.ts';
import { PATHS } from '../../src/paths.ts';
import { RESUME_KEY } from '../../src/platform/auth-guard.ts';

const PREFIX = 'PHPREDIS_SESSION:';
let redis: StartedRedisTls;
let dir: string;
let caFile: string;
let raw: Redis;

before(async () => {
  redis = await startRedisTls();
  dir = mkdtempSync(join(tmpdir(), 'lpa-redis-tls-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, redis.ca);
  raw = new Redis(redis.url, { tls: { ca: redis.ca } });
});
after(async () => {
  raw.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('RedisStore over rediss://', () => {
  test('with the CA: PHP-format sessions round-trip over TLS', async () => {
    assert.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX, tlsCaFile: caFile });
    try {
      await store.ping();
      const id = 'c'.repeat(32);
      await store.commit(id, new Map([['__csrf', '0123456789abcdef0123456789abcdef']]), 600, 'new');
      assert.equal(await raw.get(PREFIX + id), '__csrf|s:32:"0123456789abcdef0123456789abcdef";');
      assert.equal((await store.load(id))?.get('__csrf'), '0123456789abcdef0123456789abcdef');
    } finally {
      await store.close();
    }
  });

  test('without the CA the server is not trusted: no connection, no silent downgrade', async () => {
    const store = new RedisStore({
      url: new URL(redis.url),
      prefix: PREFIX,
      redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null },
    });
    const errors: Error[] = [];
    store.client.on('error', (err: Error) => errors.push(err));
    try {
      await assert.rejects(store.ping());
      assert.match(errors.map((e) => e.message).join(' | '), /self-signed certificate/);
    } finally {
      await store.close();
    }
  });

  test('plain redis:// cannot talk to the TLS port, and a CA file with redis:// is refused', async () => {
    assert.throws(
      () => createRedisClient(new URL(`redis://127.0.0.1:${String(redis.port)}`), {}, caFile),
      /rediss:\/\//,
    );
    const plain = createRedisClient(new URL(`redis://127.0.0.1:${String(redis.port)}`), {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const errors: Error[] = [];
    plain.on('error', (err: Error) => errors.push(err));
    try {
      await assert.rejects(plain.ping());
      assert.ok(errors.length > 0);
    } finally {
      plain.disconnect();
    }
  });
});

describe('the app on rediss://', () => {
  test('sessions are stored over TLS and the health check sees the store', async (t) => {
    const dataDir = mkdtempSync(join(dir, 'data-'));
    const built = await build(t, {
      env: { REDIS_URL: redis.url, DATA_DIR: dataDir },
      services: (config) => {
        assert.equal(config.redisUrl?.protocol, 'rediss:');
        return createServices(config, {
          sessionStore: new RedisStore({ url: config.redisUrl, prefix: config.sessionKeyPrefix, tlsCaFile: caFile }),
        });
      },
    });
    const browser = new Browser(built.origin);
    // An anonymous visit to a signed-in page stores where to resume (showing a form stores nothing, ADR 0022).
    const denied = await browser.get(PATHS.dashboard);
    assert.equal(denied.status, 302);
    const id = browser.cookies.get('lpa3') ?? '';
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.ok(
      (await raw.get(PREFIX + id))?.includes(`${RESUME_KEY}|s:${String(PATHS.dashboard.length)}:"${PATHS.dashboard}";`),
    );
    const ping = await fetch(`${built.origin}${PATHS.pingJson}`);
    const json = (await ping.json()) as { checks: { sessionStore: { ok: boolean } } };
    assert.equal(json.checks.sessionStore.ok, true);
  });

  test('the real server process works with rediss:// today, given the CA by NODE_EXTRA_CA_CERTS', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(dir, 'server-'));
    const server = await startProcess(process.execPath, [join(import.meta.dirname, '..', '..', 'src', 'server.ts')], {
      name: 'lpa-front (rediss)',
      env: {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        REDIS_URL: redis.url,
        DATA_DIR: dataDir,
        SESSION_SECRET: 'test-secret-for-lpa-front-tests-only-000000',
        NODE_EXTRA_CA_CERTS: caFile,
        LOG_LEVEL: 'warn',
        LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS),
      },
      readyCheck: async () => (await httpGet(`http://127.0.0.1:${String(port)}${PATHS.pingElb}`)).status === 200,
    });
    try {
      const res = await httpGet(`http://127.0.0.1:${String(port)}${PATHS.pingJson}`);
      assert.equal(res.status, 200, res.body);
      assert.equal(
        (JSON.parse(res.body) as { checks: { sessionStore: { ok: boolean } } }).checks.sessionStore.ok,
        true,
      );
      const page = await httpGet(`http://127.0.0.1:${String(port)}${PATHS.dashboard}`);
      const id = /lpa3=([0-9a-f]{32})/.exec(String(page.headers['set-cookie']))?.[1] ?? '';
      assert.ok((await raw.get(PREFIX + id))?.includes(`${RESUME_KEY}|`), 'session stored over TLS');
    } finally {
      await server.stop();
    }
  });
});
