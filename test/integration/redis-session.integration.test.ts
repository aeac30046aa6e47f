/**
 * The Redis session store against a real redis-server: PHP-format bytes, TTL, read-only requests, and the
 * lost-update race of the PHP front's ADR 0002 replayed through the whole app.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import { DELETE } from '../../src/sessions/session-store.ts';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';

let redis: StartedRedis;
let raw: Redis;
const PREFIX = 'PHPREDIS_SESSION:';

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
after(async () => {
  raw.disconnect();
  await redis.stop();
});

describe('RedisStore', () => {
  test('writes PHP session bytes, keeps unknown keys byte-for-byte and slides the TTL', async () => {
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    try {
      const id = 'a'.repeat(32);
      // A session as the PHP front (laminas era) might have left it, with an object this app does not understand.
      const php = 'legacy|O:8:"stdClass":1:{s:1:"a";d:0.1;}__csrf|s:32:"0123456789abcdef0123456789abcdef";';
      await raw.set(PREFIX + id, php, 'EX', 100);
      const data = await store.load(id);
      assert.equal(data?.get('__csrf'), '0123456789abcdef0123456789abcdef');
      await store.commit(
        id,
        new Map([
          [
            'identity',
            {
              userId: 'u1',
              token: 't',
              tokenExpiresAt: '2026-08-21T14:20:00+00:00',
              lastLogin: null,
              sharedSpaceId: null,
            },
          ],
        ]),
        10800,
      );
      const stored = await raw.get(PREFIX + id);
      assert.equal(
        stored,
        `${php}identity|a:5:{s:6:"userId";s:2:"u1";s:5:"token";s:1:"t";s:14:"tokenExpiresAt";s:25:"2026-08-21T14:20:00+00:00";s:9:"lastLogin";N;s:13:"sharedSpaceId";N;}`,
      );
      assert.ok((await raw.ttl(PREFIX + id)) > 10000);
      await store.commit(id, new Map([['identity', DELETE]]), 50);
      assert.equal(await raw.get(PREFIX + id), php);
      await store.touch(id, 5000);
      assert.ok((await raw.ttl(PREFIX + id)) > 4000);
      await store.destroy(id);
      assert.equal(await raw.exists(PREFIX + id), 0);
      assert.equal(await store.load(id), null);
    } finally {
      await store.close();
    }
  });

  test("a commit marked 'new' skips the read but still never overwrites a stored session", async () => {
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    try {
      const id = 'c'.repeat(32);
      await raw.set(PREFIX + id, 'php|s:4:"kept";', 'EX', 100);
      await store.commit(id, new Map([['ours', 1]]), 100, 'new');
      assert.equal(await raw.get(PREFIX + id), 'php|s:4:"kept";ours|i:1;');
      const fresh = 'd'.repeat(32);
      await store.commit(fresh, new Map([['ours', 2]]), 100, 'new');
      assert.equal(await raw.get(PREFIX + fresh), 'ours|i:2;');
    } finally {
      await store.close();
    }
  });

  test('concurrent commits of different keys never lose each other (compare-and-set)', async () => {
    const stores = [0, 1, 2, 3].map(() => new RedisStore({ url: new URL(redis.url), prefix: PREFIX }));
    try {
      const id = 'b'.repeat(32);
      await stores[0]?.commit(id, new Map(), 100, 'new');
      const writes: Promise<boolean>[] = [];
      for (let i = 0; i < 40; i++) {
        for (const [n, store] of stores.entries())
          if (n === i % 4) writes.push(store.commit(id, new Map([[`k${String(i)}`, i]]), 100));
      }
      await Promise.all(writes);
      const reader = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
      stores.push(reader);
      const data = await reader.load(id);
      assert.ok(data !== null);
      assert.equal(data.size, 40);
      for (let i = 0; i < 40; i++) assert.equal(data.get(`k${String(i)}`), i);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  /** Calls of one command since the server started (INFO commandstats). */
  async function calls(command: string): Promise<number> {
    const line = (await raw.info('commandstats')).split('\r\n').find((l) => l.startsWith(`cmdstat_${command}:`));
    return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? '0');
  }

  test('a loaded session is written on top of the bytes it was loaded from: one round trip, no second read', async () => {
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    try {
      const id = 'e'.repeat(32);
      await raw.set(PREFIX + id, 'php|s:4:"kept";', 'EX', 100);
      const loaded = await store.loadAndSlide(id, 100);
      assert.ok(loaded.seen !== undefined && loaded.data?.get('php') === 'kept');
      // Redis counts the script's own GET too: one GET a commit means the store read nothing itself.
      let [gets, scripts] = [await calls('get'), (await calls('evalsha')) + (await calls('eval'))];
      assert.equal(await store.commit(id, new Map([['ours', 1]]), 100, undefined, loaded.seen), true);
      assert.equal((await calls('get')) - gets, 1, 'no read before the write');
      assert.equal((await calls('evalsha')) + (await calls('eval')) - scripts, 1, 'one compare-and-set');
      assert.equal(await raw.get(PREFIX + id), 'php|s:4:"kept";ours|i:1;');
      // Without the loaded bytes it reads first, as before.
      [gets, scripts] = [await calls('get'), (await calls('evalsha')) + (await calls('eval'))];
      assert.equal(await store.commit(id, new Map([['ours', 2]]), 100), true);
      assert.equal((await calls('get')) - gets, 2);
    } finally {
      await store.close();
    }
  });

  test('a write between the load and the commit is kept: the commit reads again and applies on top of it', async () => {
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    const other = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    try {
      const id = 'f'.repeat(32);
      await raw.set(PREFIX + id, 'php|s:4:"kept";', 'EX', 100);
      const loaded = await store.loadAndSlide(id, 100);
      // The PHP front (or another request of the same person) writes meanwhile.
      assert.equal(await other.commit(id, new Map([['theirs', 'x']]), 100), true);
      assert.equal(await store.commit(id, new Map([['ours', 1]]), 100, undefined, loaded.seen), true);
      assert.equal(await raw.get(PREFIX + id), 'php|s:4:"kept";theirs|s:1:"x";ours|i:1;');
    } finally {
      await Promise.all([store.close(), other.close()]);
    }
  });

  test('a session destroyed between the load and the commit stays destroyed', async () => {
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    try {
      const id = '9'.repeat(32);
      await raw.set(PREFIX + id, 'php|s:4:"kept";', 'EX', 100);
      const loaded = await store.loadAndSlide(id, 100);
      await raw.del(PREFIX + id); // signed out in the PHP front
      assert.equal(await store.commit(id, new Map([['ours', 1]]), 100, undefined, loaded.seen), false);
      assert.equal(await raw.exists(PREFIX + id), 0);
    } finally {
      await store.close();
    }
  });
});

describe('the app on Redis', () => {
  test('replays ADR 0002: a slow read-only request cannot wipe the CSRF token a newer page added', async (t) => {
    const built = await build(t, { env: { REDIS_URL: redis.url } });
    const browser = new Browser(built.origin);
    // A session (an anonymous visit to a signed-in page stores where to resume), then a form page adds its token.
    await browser.get('/user/dashboard');
    const form = await browser.get('/login');
    assert.equal(form.status, 200);
    const cookie = browser.cookies.get('lpa3');
    assert.ok(cookie !== undefined && /^[0-9a-f]{32}$/.test(cookie), 'lpa3 cookie with a bare PHP-style id');
    const token = csrfTokenFrom(form.text);
    const before = await raw.get(PREFIX + cookie);
    assert.ok(before?.includes(`__csrf|s:32:"${token}";`), 'token stored in PHP format under __csrf');

    // Simulate the race: another writer (the PHP front) adds a key while our read-only request is in flight,
    // then the read-only request finishes. It must write nothing.
    const readOnly = browser.get('/session-state', { 'x-sessionreadonly': 'true', accept: 'application/json' });
    await raw.set(PREFIX + cookie, `${before ?? ''}TermsAndConditionsCheck|a:1:{s:4:"seen";b:1;}`, 'EX', 10800);
    await readOnly;
    const afterRead = await raw.get(PREFIX + cookie);
    assert.ok(afterRead?.includes('TermsAndConditionsCheck'), 'the concurrent writer’s key survived');
    assert.ok(afterRead?.includes(`__csrf|s:32:"${token}";`), 'the CSRF token survived');

    // And a normal request that changes one key keeps the others.
    const posted = await browser.post('/send-feedback', {
      _csrf: token,
      rating: 'satisfied',
      details: 'fine',
      email: '',
      phone: '',
    });
    assert.ok([303, 400].includes(posted.status), `status ${String(posted.status)}`);
    const afterPost = await raw.get(PREFIX + cookie);
    assert.ok(afterPost?.includes('TermsAndConditionsCheck'));
    assert.ok(afterPost?.includes(`__csrf|s:32:"${token}";`));
  });

  test('X-SessionReadOnly with a value writes nothing and does not slide the TTL; "0" does', async (t) => {
    const built = await build(t, { env: { REDIS_URL: redis.url } });
    const browser = new Browser(built.origin);
    await browser.get('/user/dashboard'); // stores where to resume: a session
    const id = browser.cookies.get('lpa3') ?? '';
    await raw.expire(PREFIX + id, 500);
    await browser.get('/user/dashboard', { 'x-sessionreadonly': 'true' });
    assert.ok((await raw.ttl(PREFIX + id)) <= 500, 'read-only request did not slide the TTL');
    await browser.get('/user/dashboard', { 'x-sessionreadonly': '0' });
    assert.ok((await raw.ttl(PREFIX + id)) > 10000, 'X-SessionReadOnly: 0 allows writes, as in the PHP front');
  });

  test('health checks touch no session: no key and no cookie per probe', async (t) => {
    const built = await build(t, { env: { REDIS_URL: redis.url } });
    const keysBefore = await raw.dbsize();
    for (const path of ['/ping/elb', '/ping/json', '/ping', '/robots.txt', '/']) {
      const res = await fetch(built.origin + path);
      // The home page's cookie banner is a form: its form cookie, never a session (ADR 0022, 0037).
      assert.equal(
        res.headers.get('set-cookie')?.replace(/^lpa-form=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/, 'form') ??
          null,
        path === '/' ? 'form' : null,
        path,
      );
    }
    assert.equal(await raw.dbsize(), keysBefore);
    const json = (await (await fetch(`${built.origin}/ping/json`)).json()) as {
      checks: { sessionStore: { ok: boolean } };
    };
    assert.equal(json.checks.sessionStore.ok, true);
  });
});
