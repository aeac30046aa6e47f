/**
 * Issue 18 point 3: a session value the codec cannot decode is no session, never a 500 (ADR 0021).
 *
 * Each hostile value is written into a real redis-server under a session key, and the browser holding that
 * cookie then uses the site: public and signed-in pages answer as for a visitor without a session, the value is
 * logged once as a warning (never the value itself) and deleted, sign-in works and gives a new id, and sign-out
 * from that state expires the cookie. The compare-and-set never writes the corrupt value back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { PATHS } from '../../src/paths.ts';

const PREFIX = 'PHPREDIS_SESSION:';
const COOKIE = 'lpa3';
const PASSWORD = 'correct horse battery staple';
// A named user: one without a name is sent to /user/about-you/new first, as on the live service.
const NAMED = { first: 'Sam', last: 'Tester' };
/** In every textual value, so the log can be searched for it. */
const MARK = 'CORRUPTMARK';

const EIGHT_MB = 8 * 1024 * 1024;
const DEEP = 50_000;
const HOSTILE: readonly (readonly [string, Buffer])[] = [
  ['random bytes', Buffer.concat([randomBytes(256), Buffer.from(MARK)])],
  ['a lone |', Buffer.from('|')],
  ['truncated a:5:{', Buffer.from(`${MARK}|a:5:{`)],
  ['s:-5:', Buffer.from(`${MARK}|s:-5:"abcde";`)],
  ['s:99999999999:', Buffer.from(`${MARK}|s:99999999999:"x";`)],
  ['a 29-digit i:', Buffer.from(`${MARK}|i:12345678901234567890123456789;`)],
  ['an 8 MB string', Buffer.from(`${MARK}|s:${String(EIGHT_MB)}:"${'x'.repeat(EIGHT_MB)}";`)],
  ['50,000-deep arrays', Buffer.from(`${MARK}|${'a:1:{i:0;'.repeat(DEEP)}N;${'}'.repeat(DEEP)}`)],
  ['R:99;', Buffer.from(`${MARK}|R:99;`)],
  ['r:-1;', Buffer.from(`${MARK}|r:-1;`)],
  ['a self-reference', Buffer.from(`${MARK}|a:1:{i:0;R:2;}`)],
  ['| in a key name', Buffer.from(`${MARK}|x|s:1:"a";`)],
  ['JSON', Buffer.from(`{"${MARK}":{"identity":{"userId":"u1"}}}`)],
];

let redis: StartedRedis;
let raw: Redis;

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
after(async () => {
  raw.disconnect();
  await redis.stop();
});

async function plant(value: Buffer): Promise<string> {
  const id = randomBytes(16).toString('hex');
  await raw.set(PREFIX + id, value, 'EX', 600);
  return id;
}

describe('an undecodable session value', () => {
  test(
    'is no session: no 500, one warning without the value, deleted; sign-in and sign-out work ' + 'from it',
    async (t) => {
      const built = await build(t, { env: { REDIS_URL: redis.url } });
      const users = built.services.credentials as LocalCredentials;
      const failures: string[] = [];
      for (const [name, value] of HOSTILE) {
        const warnsBefore = built.logs.filter((l) => l.event === 'session.undecodable').length;
        const id = await plant(value);
        const browser = new Browser(built.origin);
        browser.cookies.set(COOKIE, id);

        const home = await browser.get(PATHS.home);
        const dashboard = await browser.get(PATHS.dashboard);
        const loginForm = await browser.get(PATHS.login);
        const statuses = [home.status, dashboard.status, loginForm.status];
        if (statuses.join() !== '200,302,200') {
          failures.push(
            `${name}: GET / → ${String(home.status)}, dashboard → ${String(dashboard.status)}, login ` +
              `→ ${String(loginForm.status)}`,
          );
          continue;
        }
        assert.match(dashboard.headers.get('location') ?? '', /^\/login/, name);
        assert.equal(await raw.exists(PREFIX + id), 0, `${name}: the undecodable value was deleted`);
        const newId = browser.cookies.get(COOKIE) ?? '';
        assert.notEqual(newId, id, `${name}: the next write got a new id`);
        const warns = built.logs.filter((l) => l.event === 'session.undecodable').length - warnsBefore;
        assert.equal(warns, 1, `${name}: logged once as a warning`);

        // Sign-in from this state, then sign-out: the cookie is expired.
        const email = `u${randomBytes(6).toString('hex')}@example.com`;
        await users.addUser({ email, password: PASSWORD, name: NAMED });
        const signedIn = await browser.post(PATHS.login, {
          email,
          password: PASSWORD,
          _csrf: csrfTokenFrom(loginForm.text),
        });
        assert.equal(signedIn.status, 303, `${name}: sign-in`);
        const page = await browser.get(PATHS.dashboard);
        assert.equal(page.status, 200, `${name}: signed in`);
        const out = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) });
        assert.equal(out.status, 303, `${name}: sign-out`);
        assert.match(
          out.headers.getSetCookie().join(' | '),
          /lpa3=;.*Max-Age=0/,
          `${name}: sign-out expires the cookie`,
        );

        // Sign-out straight from the corrupt state (no page loaded first) expires the cookie too.
        const again = new Browser(built.origin);
        const id2 = await plant(value);
        again.cookies.set(COOKIE, id2);
        const out2 = await again.post(PATHS.logout, {});
        assert.equal(out2.status, 303, `${name}: sign-out from the corrupt state`);
        assert.match(out2.headers.getSetCookie().join(' | '), /lpa3=;.*Max-Age=0/);
        assert.equal(await raw.exists(PREFIX + id2), 0);
      }
      assert.deepEqual(failures, []);
      const warning = built.logs.find((l) => l.event === 'session.undecodable');
      assert.equal(warning?.level, 'warn', 'a warning');
      assert.ok(!built.logText().includes(MARK), 'no session value in the log');
    },
  );

  test('the compare-and-set never writes a corrupt value back, nor keeps it (store level)', async () => {
    const store = new RedisStore({ url: new URL(redis.url), prefix: PREFIX });
    try {
      for (const [name, value] of HOSTILE) {
        // Loaded fine, then something wrote junk before this request's write.
        const id = randomBytes(16).toString('hex');
        assert.equal(await store.commit(id, new Map([['a', 1]]), 600, 'new'), true);
        await raw.set(PREFIX + id, value, 'EX', 600);
        assert.equal(await store.commit(id, new Map([['b', 2]]), 600), false, `${name}: no write`);
        assert.equal(await raw.exists(PREFIX + id), 0, `${name}: deleted, not written back`);
        // A regenerated id whose old session is junk starts empty.
        const old = await plant(value);
        const fresh = randomBytes(16).toString('hex');
        assert.equal(await store.commit(fresh, new Map([['c', 3]]), 600, { copyFrom: old }), true, name);
        assert.equal(await raw.get(PREFIX + fresh), 'c|i:3;', `${name}: nothing of the junk copied`);
      }
      // Deleted only if unchanged: a valid session written meanwhile is never lost.
      const id = await plant(Buffer.from('|'));
      await raw.set(PREFIX + id, 'ok|i:1;', 'EX', 600);
      assert.equal((await store.load(id))?.get('ok'), 1);
    } finally {
      await store.close();
    }
  });
});
