/**
 * RedisThrottleStore against a real redis-server: the sliding-window contract of MemoryThrottleStore,
 * atomic under concurrency, keys apart from sessions, and shared by two app instances through the whole
 * sign-in route.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { RedisThrottleStore, THROTTLE_KEY_PREFIX } from '../../src/sessions/redis-throttle-store.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import { MemoryThrottleStore, checkSignInThrottle } from '../../src/features/sign-in/throttle.ts';
import type { ThrottleStore } from '../../src/features/sign-in/throttle.ts';
import { createServices } from '../../src/services.ts';
import { PATHS } from '../../src/paths.ts';

let redis: StartedRedis;
const clients: Redis[] = [];
const dirs: string[] = [];

function client(): Redis {
  const c = new Redis(redis.url);
  clients.push(c);
  return c;
}

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of clients) c.disconnect();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await redis.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const uniqueKey = (what: string) => `test:${what}:${String(++n)}`;

describe('RedisThrottleStore', () => {
  test('is a ThrottleStore (the type the sign-in feature takes)', () => {
    const store: ThrottleStore = new RedisThrottleStore({ redis: client() });
    assert.equal(typeof store.hit, 'function');
  });

  test('counts hits per key within the window, this one included; reset forgets them', async () => {
    const store = new RedisThrottleStore({ redis: client() });
    const a = uniqueKey('a');
    const b = uniqueKey('b');
    assert.deepEqual([await store.hit(a, 60), await store.hit(a, 60), await store.hit(a, 60)], [1, 2, 3]);
    assert.equal(await store.hit(b, 60), 1, 'keys are independent');
    await store.reset(a);
    assert.equal(await store.hit(a, 60), 1);
    assert.equal(await store.hit(b, 60), 2, 'reset touched only its key');
  });

  test('the window slides: old hits drop out one by one', async () => {
    const store = new RedisThrottleStore({ redis: client() });
    const raw = client();
    const WINDOW_MS = 1500;
    const PAUSES = [0, 800, 900, 1600] as const; // kept, then the first dropped, then all gone
    // Each count is checked against the times Redis itself gave the hits (the script's TIME), not against the
    // sleeps: on a loaded machine a hit can reach Redis hundreds of ms late, and a count that is right for when it
    // arrived must not fail the test. The plan (kept, dropped one by one, all gone) is run again, with a new key,
    // only when the hits did not land as planned; every count is checked exactly each time.
    let planned = false;
    for (let attempt = 0; attempt < 3 && !planned; attempt++) {
      const k = uniqueKey('slide');
      const times: number[] = [];
      const counts: number[] = [];
      for (const pause of PAUSES) {
        await sleep(pause);
        counts.push(await store.hit(k, WINDOW_MS / 1000));
        const newest = await raw.zrange(THROTTLE_KEY_PREFIX + k, '-1', '-1', 'WITHSCORES');
        times.push(Number(newest[1]));
      }
      // "In the last window, this one included": hits older than the window (or exactly its length) are gone.
      const expected = times.map((now, i) => times.slice(0, i + 1).filter((t) => t > now - WINDOW_MS).length);
      assert.deepEqual(counts, expected, `hits at ${times.map((t) => t - (times[0] ?? 0)).join(', ')} ms`);
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
      assert.ok(
        gaps.every((gap, i) => gap >= (PAUSES[i + 1] ?? 0) - 5),
        `Redis times in ms, as far apart as the sleeps: ${gaps.join(', ')}`,
      );
      planned = expected.join() === '1,2,2,1';
    }
    assert.ok(planned, 'three runs in a row had hits too late to show the window sliding');
  });

  test('behaves like MemoryThrottleStore for the same sequence', async () => {
    const redisStore = new RedisThrottleStore({ redis: client() });
    const memory = new MemoryThrottleStore();
    try {
      const k = uniqueKey('same');
      const seq: [string, number][] = [];
      for (const op of ['hit', 'hit', 'hit', 'reset', 'hit', 'hit']) {
        if (op === 'reset') {
          await redisStore.reset(k);
          await memory.reset(k);
        } else {
          seq.push([op, await redisStore.hit(k, 60)]);
          assert.equal(seq.at(-1)?.[1], await memory.hit(k, 60));
        }
      }
      assert.deepEqual(
        seq.map((s) => s[1]),
        [1, 2, 3, 1, 2],
      );
    } finally {
      await memory.close();
    }
  });

  test('keys live under lpa-front:throttle:, expire with the window, and never touch sessions', async () => {
    const raw = client();
    await raw.set('PHPREDIS_SESSION:sign-in:address:127.0.0.1', 'x|i:1;');
    const store = new RedisThrottleStore({ redis: client() });
    await store.hit('sign-in:address:127.0.0.1', 900);
    assert.equal(await raw.type(`${THROTTLE_KEY_PREFIX}sign-in:address:127.0.0.1`), 'zset');
    const ttl = await raw.pttl(`${THROTTLE_KEY_PREFIX}sign-in:address:127.0.0.1`);
    assert.ok(ttl > 899_000 && ttl <= 900_000, `pttl ${String(ttl)}`);
    assert.equal(await raw.get('PHPREDIS_SESSION:sign-in:address:127.0.0.1'), 'x|i:1;');
    await store.reset('sign-in:address:127.0.0.1');
    assert.equal(await raw.exists(`${THROTTLE_KEY_PREFIX}sign-in:address:127.0.0.1`), 0);
    assert.equal(await raw.exists('PHPREDIS_SESSION:sign-in:address:127.0.0.1'), 1);
  });

  test('atomic: 400 concurrent hits from 4 connections get the counts 1..400 exactly once', async () => {
    const stores = [0, 1, 2, 3].map(() => new RedisThrottleStore({ redis: client() }));
    const k = uniqueKey('race');
    const counts = await Promise.all(
      Array.from({ length: 400 }, (_, i) => stores[i % 4]?.hit(k, 60) ?? Promise.reject(new Error('no store'))),
    );
    assert.deepEqual(
      [...counts].sort((x, y) => x - y),
      Array.from({ length: 400 }, (_, i) => i + 1),
    );
  });

  test('memory is bounded: at most maxHitsPerKey hits are kept per key', async () => {
    const raw = client();
    const store = new RedisThrottleStore({ redis: client(), maxHitsPerKey: 5 });
    const k = uniqueKey('cap');
    const counts: number[] = [];
    for (let i = 0; i < 8; i++) counts.push(await store.hit(k, 60));
    assert.deepEqual(counts, [1, 2, 3, 4, 5, 5, 5, 5]);
    assert.equal(await raw.zcard(THROTTLE_KEY_PREFIX + k), 5);
    assert.throws(() => new RedisThrottleStore({ redis: client(), maxHitsPerKey: 0 }), RangeError);
    await assert.rejects(store.hit(k, 0), RangeError);
  });

  test('two instances share one budget (checkSignInThrottle)', async () => {
    const one = new RedisThrottleStore({ redis: client() });
    const two = new RedisThrottleStore({ redis: client() });
    const limits = { perAccount: 3, perAddress: 100, windowSeconds: 60 };
    const verdicts = [];
    for (let i = 0; i < 4; i++)
      verdicts.push(await checkSignInThrottle(i % 2 === 0 ? one : two, limits, '192.0.2.7', 'hash-of-someone'));
    assert.deepEqual(
      verdicts.map((v) => v.limited),
      [false, false, false, true],
    );
  });
});

describe('wired into the app', () => {
  test('sign-in attempts on one instance count on another: 429 once the shared address budget is spent', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-throttle-'));
    dirs.push(dataDir);
    const instance = () =>
      build(t, {
        env: { REDIS_URL: redis.url, DATA_DIR: dataDir },
        services: (config) => {
          // What services.ts should do when REDIS_URL is set: share the session store's connection.
          const sessionStore = new RedisStore({ url: new URL(redis.url), prefix: config.sessionKeyPrefix });
          return createServices(config, {
            sessionStore,
            throttleStore: new RedisThrottleStore({ redis: sessionStore.client }),
            signInPolicy: { failureDelayMs: 0, throttle: { perAccount: 100, perAddress: 3, windowSeconds: 60 } },
          });
        },
      });
    const [a, b] = [await instance(), await instance()];
    const attempt = async (origin: string) => {
      const browser = new Browser(origin);
      const form = await browser.get(PATHS.login);
      return (
        await browser.post(PATHS.login, {
          email: 'nobody@example.com',
          password: 'wrong password!',
          _csrf: csrfTokenFrom(form.text),
        })
      ).status;
    };
    const statuses = [
      await attempt(a.origin),
      await attempt(b.origin),
      await attempt(a.origin),
      await attempt(b.origin),
    ];
    assert.deepEqual(statuses, [400, 400, 400, 429]);
    const raw = client();
    assert.equal(await raw.zcard(`${THROTTLE_KEY_PREFIX}sign-in:address:127.0.0.1`), 4);
  });
});
