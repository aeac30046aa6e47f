/**
 * Signing in as someone else keeps nothing of the previous user's session (issue 17.4, ADR 0019): real
 * redis-server, the real PHP front fixture (test/php/front, phpredis save handler) writing a key into the same
 * session, and the real app. Alice is signed in with a pending notice and a PHP-side key; Bob signs in with her
 * cookie.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { phpRedisSessionIni, startPhpServer, startRedis } from '../helpers/services.ts';
import type { StartedPhpServer, StartedRedis } from '../helpers/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { decodeSession } from '../../src/sessions/php-session-codec.ts';
import { NOTICE_KEY } from '../../src/features/user/user-routes.ts';
import { PATHS } from '../../src/paths.ts';

const PREFIX = 'PHPREDIS_SESSION:';
const COOKIE = 'lpa3';
const DOCROOT = join(import.meta.dirname, '..', 'php', 'front');
const PASSWORD = 'correct horse battery staple';

let redis: StartedRedis;
let raw: Redis;
let php: StartedPhpServer;
const dirs: string[] = [];

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
  php = await startPhpServer(DOCROOT, {
    iniSettings: {
      ...phpRedisSessionIni(redis.port, COOKIE),
      'session.save_path': `tcp://127.0.0.1:${String(redis.port)}?prefix=${PREFIX}`,
    },
  });
});
after(async () => {
  raw.disconnect();
  await php.stop();
  await redis.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function keysOf(id: string): Promise<string[]> {
  const bytes = await raw.getBuffer(PREFIX + id);
  return bytes === null ? [] : [...decodeSession(bytes).names()];
}

test(
  "Bob signing in with Alice's cookie starts from an empty session: no notice, no PHP key, " + 'Alice signed out',
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-new-identity-'));
    dirs.push(dataDir);
    const built = await build(t, { env: { REDIS_URL: redis.url, DATA_DIR: dataDir } });
    const users = built.services.credentials as LocalCredentials;
    await users.addUser({ email: 'alice@example.com', password: PASSWORD, name: { first: 'Alice', last: 'A' } });
    await users.addUser({ email: 'bob@example.com', password: PASSWORD, name: { first: 'Bob', last: 'B' } });
    const app = new Browser(built.origin);
    const legacy = Object.create(app, { origin: { value: php.origin } }) as Browser; // one cookie jar, two sites

    // Alice: signed in, her details changed (the notice waits for her next dashboard), and a key the PHP front wrote.
    const form = await app.get(PATHS.login);
    assert.equal(
      (await app.post(PATHS.login, { email: 'alice@example.com', password: PASSWORD, _csrf: csrfTokenFrom(form.text) }))
        .status,
      303,
    );
    const aboutYou = await app.get(PATHS.aboutYou);
    const token = csrfTokenFrom(aboutYou.text);
    assert.equal(
      (
        await app.post(PATHS.aboutYou, {
          'name-title': 'Ms',
          'name-first': 'Alice',
          'name-last': 'Changed',
          _csrf: token,
        })
      ).status,
      303,
    );
    assert.equal((await legacy.post('/write.php', { key: 'aliceLegacyKey', json: '"alice\'s data"' })).status, 200);
    const aliceId = app.cookies.get(COOKIE) ?? '';
    const aliceKeys = await keysOf(aliceId);
    for (const key of ['identity', NOTICE_KEY, 'aliceLegacyKey', '__csrf'])
      assert.ok(aliceKeys.includes(key), `Alice's session has ${key}: ${aliceKeys.join(', ')}`);
    const aliceIdentity = (await built.services.sessionStore.load(aliceId))?.get('identity') as
      { token: string } | undefined;
    const aliceToken = aliceIdentity?.token ?? '';
    assert.match(aliceToken, /^[A-Za-z0-9_-]{43}$/);

    // Bob, on the same browser, with Alice's cookie and the token from her page.
    const bob = await app.post(PATHS.login, { email: 'bob@example.com', password: PASSWORD, _csrf: token });
    assert.equal(bob.status, 303);
    const bobId = app.cookies.get(COOKIE) ?? '';
    assert.notEqual(bobId, aliceId);
    assert.deepEqual(await keysOf(aliceId), [], "Alice's session is gone");
    assert.deepEqual(
      await keysOf(bobId),
      ['identity', 'lpaFrontUserHash'],
      "Bob's session holds only what his sign-in wrote",
    );

    const dashboard = await app.get(PATHS.dashboard);
    assert.equal(dashboard.status, 200);
    assert.equal(
      html(dashboard.text).querySelector('[data-qa="success-notice"]'),
      null,
      "Bob is not shown Alice's notice",
    );
    assert.equal(
      html((await app.get(PATHS.aboutYou)).text)
        .querySelector('#name-first')
        ?.getAttribute('value'),
      'Bob',
      'Bob sees his own details',
    );
    const phpView = JSON.parse((await legacy.get('/dump.php')).text) as { keys: { name: string }[] };
    assert.equal(
      phpView.keys.some((k) => k.name === 'aliceLegacyKey'),
      false,
      'nor does the PHP front see her key',
    );

    // Alice's sign-in ended as at any sign-out: her token no longer works.
    assert.equal(await built.services.revocations.isRevoked(aliceToken), true);
    assert.deepEqual(await users.refresh(aliceToken, 't'), { ok: false, reason: 'invalid' });
  },
);
