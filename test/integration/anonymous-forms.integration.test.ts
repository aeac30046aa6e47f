/**
 * Issue 18 point 1 (ADR 0022): a visitor who only looks at a form costs the server nothing. Cookieless GETs of the
 * feedback and sign-in forms against a real redis-server leave no key in it, and none in the memory store; the
 * forms still work with the scraped token, and sign-in makes the session then, not before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import { PATHS } from '../../src/paths.ts';
import { MESSAGES as MESSAGE_KEYS } from '../../src/features/feedback/feedback-schema.ts';
import { english } from '../helpers/words.ts';

const MESSAGES = english(MESSAGE_KEYS);

const PASSWORD = 'correct horse battery staple';
const FLOOD = 1000;
const PARALLEL = 25;

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

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-anon-forms-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** `count` cookieless GETs, `PARALLEL` at a time, alternating the two forms; every one a 200 with a token. */
async function flood(built: Built, count: number): Promise<Set<string>> {
  const cookies = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const path = next++ % 2 === 0 ? PATHS.feedback : PATHS.login;
      const res = await fetch(built.origin + path, { redirect: 'manual' });
      assert.equal(res.status, 200, path);
      assert.ok(csrfTokenFrom(await res.text()) !== '', `${path}: the form carries a token`);
      for (const c of res.headers.getSetCookie()) cookies.add(c.split('=')[0] ?? '');
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return cookies;
}

describe('anonymous forms store nothing', () => {
  test(`${String(FLOOD)} cookieless GETs of /send-feedback and /login leave 0 keys in the shared Redis`, async (t) => {
    const built = await build(t, { env: { REDIS_URL: redis.url, DATA_DIR: tempDir(t) } });
    await raw.flushdb();
    const cookies = await flood(built, FLOOD);
    assert.equal(await raw.dbsize(), 0, 'no key in Redis');
    assert.deepEqual([...cookies], ['lpa-form'], 'only the form cookie is set, never a session cookie');
  });

  test(`${String(FLOOD)} cookieless GETs leave 0 sessions in the memory store`, async (t) => {
    const store = new MemoryStore();
    const built = await build(t, {
      env: { DATA_DIR: tempDir(t) },
      services: (config) => createServices(config, { sessionStore: store }),
    });
    await flood(built, FLOOD);
    assert.equal(store.size, 0);
  });

  test('sign-in with the anonymous form token works, and only then is a session stored', async (t) => {
    const built = await build(t, { env: { REDIS_URL: redis.url, DATA_DIR: tempDir(t) } });
    await raw.flushdb();
    await (built.services.credentials as LocalCredentials).addUser({
      email: 'ada@example.com',
      password: PASSWORD,
      name: { first: 'Ada', last: 'Lovelace' },
    });
    const browser = new Browser(built.origin);
    const form = await browser.get(PATHS.login);
    const token = csrfTokenFrom(form.text);
    assert.match(token, /^[0-9a-f]{43}$/, 'a form token, not a session token');
    assert.equal(await raw.dbsize(), 0, 'showing the form stored nothing');
    assert.deepEqual([...browser.cookies.keys()], ['lpa-form']);

    const signedIn = await browser.post(PATHS.login, { email: 'ada@example.com', password: PASSWORD, _csrf: token });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.get('location'), PATHS.dashboard);
    const id = browser.cookies.get('lpa3');
    assert.ok(id !== undefined, 'the session cookie is set at sign-in');
    assert.deepEqual(await raw.keys('PHPREDIS_SESSION:*'), [`PHPREDIS_SESSION:${id}`], 'one session, made at sign-in');

    // Signed in, pages carry the session's own token (the PHP front's __csrf), and it works.
    const dashboard = await browser.get(PATHS.dashboard);
    assert.equal(dashboard.status, 200);
    const sessionToken = csrfTokenFrom(dashboard.text);
    assert.match(sessionToken, /^[0-9a-f]{32}$/);
    assert.ok((await raw.get(`PHPREDIS_SESSION:${id}`))?.includes(`__csrf|s:32:"${sessionToken}";`));
    // A form opened before sign-in (same browser, same form cookie) still goes through.
    const feedback = await browser.post(PATHS.feedback, {
      _csrf: token,
      rating: 'satisfied',
      details: 'Fine.',
      email: '',
      phone: '',
    });
    assert.equal(feedback.status, 303);
    const out = await browser.post(PATHS.logout, { _csrf: sessionToken });
    assert.equal(out.status, 303);
    assert.deepEqual(await raw.keys('PHPREDIS_SESSION:*'), [], 'signed out: no session left');
  });

  test(
    'signed in, the feedback form still gets a form token (its show time); a session token ' +
      'there counts as too soon',
    async (t) => {
      const built = await build(t, { env: { DATA_DIR: tempDir(t), FEEDBACK_MIN_SECONDS: '1' } });
      await (built.services.credentials as LocalCredentials).addUser({
        email: 'ada@example.com',
        password: PASSWORD,
        name: { first: 'Ada', last: 'Lovelace' },
      });
      const browser = new Browser(built.origin);
      const login = await browser.get(PATHS.login);
      assert.equal(
        (
          await browser.post(PATHS.login, {
            email: 'ada@example.com',
            password: PASSWORD,
            _csrf: csrfTokenFrom(login.text),
          })
        ).status,
        303,
      );
      const sessionToken = csrfTokenFrom((await browser.get(PATHS.dashboard)).text);
      assert.match(sessionToken, /^[0-9a-f]{32}$/);

      const valid = { rating: 'satisfied', details: 'Fine.', email: '', phone: '' };
      const form = await browser.get(PATHS.feedback);
      assert.match(csrfTokenFrom(form.text), /^[0-9a-f]{43}$/);
      const withSessionToken = await browser.post(PATHS.feedback, { _csrf: sessionToken, ...valid });
      assert.equal(withSessionToken.status, 400, 'the session token passes CSRF but proves no show time');
      assert.ok(withSessionToken.text.includes(MESSAGES.tooFast));
      const reshown = csrfTokenFrom(withSessionToken.text);
      assert.match(reshown, /^[0-9a-f]{43}$/, 'shown again with a form token');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await browser.post(PATHS.feedback, { _csrf: reshown, ...valid })).status, 303);
    },
  );
});
