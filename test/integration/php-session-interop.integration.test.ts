/**
 * One session, two languages, through the WHOLE app: real redis-server, real PHP (php -S with the phpredis
 * save handler, test/php/front) and the real lpa-front, one cookie jar for both sites (a browser sends a
 * 127.0.0.1 cookie to every port), both using cookie `lpa3` and key `PHPREDIS_SESSION:<id>`.
 *
 * Signed-in-ness is proven with the real backend call: the PHP page stores an identity whose token was
 * issued by the app's own local credential backend (same DATA_DIR), so `/user/dashboard` only answers 200
 * if lpa-front read PHP's identity correctly AND the backend accepts it. No part of the app is bypassed.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { phpRedisSessionIni, startPhpServer, startRedis, systemBinary } from '../helpers/services.ts';
import type { StartedPhpServer, StartedRedis } from '../helpers/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { decodeSession } from '../../src/sessions/php-session-codec.ts';
import { PhpBytes, PhpObject, serialize } from '../../src/sessions/php-serialize.ts';
import type { PhpFloat } from '../../src/sessions/php-serialize.ts';
import { RESUME_KEY } from '../../src/platform/auth-guard.ts';
import { PATHS } from '../../src/paths.ts';

const execFileAsync = promisify(execFile);
const PREFIX = 'PHPREDIS_SESSION:';
const COOKIE = 'lpa3';
const DOCROOT = join(import.meta.dirname, '..', 'php', 'front');
const PASSWORD = 'correct horse battery staple';
// A named user: one without a name is sent to /user/about-you/new first, as on the live service.
const NAMED = { first: 'Sam', last: 'Tester' };
const ID = /^[0-9a-f]{32}$/;

let redis: StartedRedis;
let raw: Redis;
let php: StartedPhpServer;
const dirs: string[] = [];

/**
 * The PHP front's session settings (opg-lpa facts 1b): phpredis handler, stock prefix, `php` serializer,
 * cookie lpa3 HttpOnly SameSite=Lax, strict mode, 3 h TTL, and the id format the live front uses (32 hex:
 * PHP's compiled-in default; Debian's php.ini would otherwise give 26 characters of [0-9a-v]).
 * (startPhpServer double-quotes every value: unquoted, a value containing `=` makes PHP drop every later -d.)
 */
export function legacyFrontIni(redisPort: number): Record<string, string> {
  return {
    ...phpRedisSessionIni(redisPort, COOKIE),
    'session.save_path': `tcp://127.0.0.1:${String(redisPort)}?prefix=${PREFIX}`,
    'session.cookie_httponly': '1',
    'session.cookie_samesite': 'Lax',
    'session.use_only_cookies': '1',
    'session.use_trans_sid': '0',
    'session.lazy_write': '1',
    'session.sid_length': '32',
    'session.sid_bits_per_character': '4',
    'session.gc_maxlifetime': '10800',
    'session.gc_probability': '0',
  };
}

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
  php = await startPhpServer(DOCROOT, { iniSettings: legacyFrontIni(redis.port) });
});
after(async () => {
  raw.disconnect();
  await php.stop();
  await redis.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Sites {
  readonly built: Built;
  readonly users: LocalCredentials;
  /** lpa-front */
  readonly app: Browser;
  /** the PHP front, sharing app's cookie jar */
  readonly legacy: Browser;
}

async function sites(t: TestContext, env: Record<string, string> = {}): Promise<Sites> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-interop-'));
  dirs.push(dataDir);
  const built = await build(t, { env: { REDIS_URL: redis.url, DATA_DIR: dataDir, ...env } });
  assert.equal(built.config.sessionCookieName, COOKIE);
  assert.equal(built.config.sessionKeyPrefix, PREFIX);
  const users = built.services.credentials as LocalCredentials;
  assert.equal(users.kind, 'local');
  const app = new Browser(built.origin);
  // Same jar (the cookies Map is inherited), other origin.
  const legacy = Object.create(app, { origin: { value: php.origin } }) as Browser;
  return { built, users, app, legacy };
}

function sessionId(s: Sites): string {
  const id = s.app.cookies.get(COOKIE);
  assert.ok(id !== undefined && ID.test(id), `a bare 32-hex ${COOKIE} cookie, got ${String(id)}`);
  return id;
}

async function stored(id: string): Promise<Buffer | null> {
  return raw.getBuffer(PREFIX + id);
}

interface WhoAmI {
  sessionId: string | null;
  signedIn: boolean;
  identity: Record<string, unknown> | null;
  types: Record<string, string> | null;
  tokenExpiresAtReformatted: string | false | null;
  csrf: string | null;
}

async function whoami(s: Sites): Promise<WhoAmI> {
  const page = await s.legacy.get('/whoami.php');
  assert.equal(page.status, 200, page.text);
  return JSON.parse(page.text) as WhoAmI;
}

interface Dump {
  sessionId: string | null;
  keys: { name: string; export: string; serialized: string }[];
  encoded: string | null;
}

async function dump(s: Sites): Promise<Dump> {
  const page = await s.legacy.get('/dump.php');
  assert.equal(page.status, 200, page.text);
  return JSON.parse(page.text) as Dump;
}

function dumpByName(d: Dump): Map<string, { export: string; serialized: string }> {
  return new Map(d.keys.map((k) => [k.name, { export: k.export, serialized: k.serialized }]));
}

/** A user in the app's local backend, and a real token for them (what the API gives the PHP front). */
async function userWithToken(s: Sites, email = `u${randomBytes(4).toString('hex')}@example.com`) {
  const userId = await s.users.addUser({
    email,
    password: PASSWORD,
    name: { title: 'Dr', first: 'Ada', last: 'Lovelace' },
  });
  const auth = await s.users.authenticate(email, PASSWORD, 'interop-test');
  assert.ok(auth.ok);
  return { email, userId, token: auth.token, expiresAt: auth.expiresAt, lastLogin: auth.lastLogin };
}

async function phpSignIn(s: Sites, u: Awaited<ReturnType<typeof userWithToken>>) {
  const res = await s.legacy.post('/login.php', {
    userId: u.userId,
    token: u.token,
    tokenExpiresAt: String(Math.floor(u.expiresAt.getTime() / 1000)),
    lastLogin: '1787302800', // 2026-08-21T09:00:00+00:00
  });
  assert.equal(res.status, 302, res.text);
  assert.equal(res.headers.get('location'), PATHS.dashboard);
  return res;
}

async function appSignIn(s: Sites, email: string) {
  const form = await s.app.get(PATHS.login);
  assert.equal(form.status, 200);
  const res = await s.app.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
  assert.equal(res.status, 303, res.text);
  return res;
}

function cookieAttributes(setCookie: string): string[] {
  return setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== '')
    .sort();
}

describe('the legacy front is configured like the live one', () => {
  test("phpredis' default key prefix is exactly PHPREDIS_SESSION: (so sessions survive either setting)", async () => {
    const id = randomBytes(16).toString('hex');
    // No ?prefix= here: the stock default.
    await execFileAsync(systemBinary('php'), [
      '-d',
      'session.save_handler=redis',
      '-d',
      `session.save_path=tcp://127.0.0.1:${String(redis.port)}`,
      '-d',
      'session.use_cookies=0',
      '-d',
      'session.use_strict_mode=0',
      '-r',
      `session_id('${id}'); session_start(); $_SESSION['probe'] = 1; session_write_close();`,
    ]);
    assert.equal(await raw.get(`${PREFIX}${id}`), 'probe|i:1;');
    await raw.del(`${PREFIX}${id}`);
  });

  test('both sites set the same cookie: lpa3, bare 32-hex id, Path=/, HttpOnly, SameSite=Lax', async (t) => {
    const s = await sites(t);
    const fromPhp = (await s.legacy.post('/write.php', { key: 'k', json: '1' })).headers.getSetCookie();
    const phpCookie = fromPhp.find((c) => c.startsWith(`${COOKIE}=`));
    assert.ok(phpCookie !== undefined, `PHP set ${COOKIE}: ${fromPhp.join(' | ')}`);
    assert.match(phpCookie, /^lpa3=[0-9a-f]{32};/);
    s.app.cookies.clear();
    // An anonymous visit to a signed-in page stores where to resume (showing a form stores nothing, ADR 0022).
    const fromApp = (await s.app.get(PATHS.dashboard)).headers.getSetCookie();
    const appCookie = fromApp.find((c) => c.startsWith(`${COOKIE}=`));
    assert.ok(appCookie !== undefined);
    assert.match(appCookie, /^lpa3=[0-9a-f]{32};/);
    assert.deepEqual(cookieAttributes(appCookie), cookieAttributes(phpCookie));
    assert.deepEqual(cookieAttributes(appCookie), ['httponly', 'path=/', 'samesite=lax']);
    // And each keeps the session for the same idle time.
    const id = sessionId(s);
    const appTtl = await raw.ttl(PREFIX + id);
    await s.legacy.post('/write.php', { key: 'fromPhp', json: 'true' });
    const phpTtl = await raw.ttl(PREFIX + id);
    assert.ok(Math.abs(appTtl - phpTtl) <= 2 && phpTtl > 10790, `TTLs ${String(appTtl)} / ${String(phpTtl)}`);
  });

  test('neither site adopts a session id it did not issue (strict mode, no fixation)', async (t) => {
    const s = await sites(t);
    const planted = randomBytes(16).toString('hex');
    s.app.cookies.set(COOKIE, planted);
    await s.legacy.post('/write.php', { key: 'k', json: '1' });
    assert.notEqual(sessionId(s), planted, 'PHP replaced the planted id');
    s.app.cookies.set(COOKIE, planted);
    await s.app.get(PATHS.dashboard); // stores where to resume
    assert.notEqual(sessionId(s), planted, 'lpa-front replaced the planted id');
    assert.equal(await raw.exists(PREFIX + planted), 0);
  });
});

describe('signed in on one site is signed in on the other', () => {
  test('PHP signs a user in → lpa-front serves their signed-in pages and uses the same CSRF token', async (t) => {
    const s = await sites(t);
    const u = await userWithToken(s);
    const anonymous = await s.app.get(PATHS.dashboard);
    assert.equal(anonymous.status, 302, 'anonymous before');
    const preLogin = s.app.cookies.get(COOKIE); // lpa-front remembered the page in a session

    await phpSignIn(s, u);
    const id = sessionId(s);
    assert.notEqual(id, preLogin, 'PHP regenerated the id');
    if (preLogin !== undefined) assert.equal(await stored(preLogin), null, 'and deleted the old session');
    const bytes = (await stored(id))?.toString('utf8') ?? '';
    const expires = new Date(Math.floor(u.expiresAt.getTime() / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
    assert.ok(
      bytes.startsWith(
        `identity|a:5:{s:6:"userId";s:32:"${u.userId}";s:5:"token";s:${String(u.token.length)}:"${u.token}";s:14:"tokenExpiresAt";s:25:"${expires}";s:9:"lastLogin";s:25:"2026-08-21T09:00:00+00:00";s:13:"sharedSpaceId";N;}__csrf|s:32:"`,
      ),
      bytes,
    );
    assert.match(bytes, /;}__csrf\|s:32:"[0-9a-f]{32}";SessionDetails\|a:3:\{s:12:"currentRoute";/);

    const state = await s.app.get(PATHS.sessionState, { accept: 'application/json', 'x-sessionreadonly': 'true' });
    assert.equal(state.status, 200);
    const { remainingSeconds } = JSON.parse(state.text) as { remainingSeconds: number };
    assert.ok(remainingSeconds > 4400 && remainingSeconds <= 4500, `remainingSeconds ${String(remainingSeconds)}`);

    const dash = await s.app.get(PATHS.dashboard);
    assert.equal(dash.status, 200, 'lpa-front accepted the identity PHP wrote, and the backend its token');
    assert.equal(
      html(dash.text).querySelector('[data-qa="last-signed-in"]')?.textContent,
      'Last signed in: 21 August 2026 at 10:00am',
      'lastLogin as PHP wrote it (UK time)',
    );

    // The CSRF token PHP made is the one lpa-front's forms carry, and lpa-front accepts it.
    const phpToken = (await whoami(s)).csrf;
    assert.match(phpToken ?? '', ID);
    const about = await s.app.get(PATHS.aboutYou);
    assert.equal(about.status, 200);
    assert.equal(csrfTokenFrom(about.text), phpToken);
    const saved = await s.app.post(PATHS.aboutYou, {
      _csrf: phpToken ?? '',
      'name-title': 'Dr',
      'name-first': 'Augusta',
      'name-last': 'King',
    });
    assert.equal(saved.status, 303, saved.text);
    assert.equal(
      html((await s.app.get(PATHS.aboutYou)).text)
        .querySelector('#name-first')
        ?.getAttribute('value'),
      'Augusta',
    );

    // PHP still sees its own keys exactly as it wrote them.
    const who = await whoami(s);
    assert.equal(who.signedIn, true);
    assert.equal(who.identity?.userId, u.userId);
    const d = await dump(s);
    assert.deepEqual(d.keys.map((k) => k.name).slice(0, 3), ['identity', '__csrf', 'SessionDetails']);
    assert.equal(
      Buffer.from(d.encoded ?? '', 'base64').toString('utf8'),
      (await stored(id))?.toString('utf8'),
      'PHP re-encodes what lpa-front left byte for byte',
    );
  });

  test('lpa-front signs a user in → PHP sees the same identity array, same types, its own date format', async (t) => {
    const s = await sites(t);
    const u = await userWithToken(s);
    await appSignIn(s, u.email);
    const id = sessionId(s);

    const who = await whoami(s);
    assert.equal(who.sessionId, id);
    assert.equal(who.signedIn, true, 'the PHP front counts the user as signed in');
    const ours = decodeSession((await stored(id)) ?? Buffer.alloc(0));
    const identityBytes = ours.rawOf('identity');
    assert.ok(identityBytes !== undefined);
    const identity = who.identity;
    assert.ok(identity !== null);
    assert.deepEqual(Object.keys(identity), ['userId', 'token', 'tokenExpiresAt', 'lastLogin', 'sharedSpaceId']);
    assert.equal(identity.userId, u.userId);
    assert.match(String(identity.token), /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(identity.token, u.token, 'a new token from this sign-in');
    assert.match(String(identity.tokenExpiresAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    assert.equal(
      who.tokenExpiresAtReformatted,
      identity.tokenExpiresAt,
      "PHP parses it and writes it back identically: format('c')",
    );
    assert.deepEqual(who.types, {
      userId: 'string',
      token: 'string',
      tokenExpiresAt: 'string',
      lastLogin: 'string',
      sharedSpaceId: 'NULL',
    });
    assert.equal(identity.sharedSpaceId, null);

    // Byte for byte what PHP's serialize() makes of the array it read.
    const d = await dump(s);
    const phpIdentity = dumpByName(d).get('identity');
    assert.ok(phpIdentity);
    assert.equal(Buffer.from(phpIdentity.serialized, 'base64').toString('utf8'), identityBytes.toString('utf8'));
    assert.equal(Buffer.from(d.encoded ?? '', 'base64').toString('utf8'), (await stored(id))?.toString('utf8'));

    // lpa-front's CSRF token (created by the sign-out form on the dashboard) is PHP's __csrf.
    const dash = await s.app.get(PATHS.dashboard);
    assert.equal(dash.status, 200);
    const token = csrfTokenFrom(dash.text);
    assert.equal((await whoami(s)).csrf, token);
    assert.equal(
      Buffer.from(dumpByName(await dump(s)).get('__csrf')?.serialized ?? '', 'base64').toString('utf8'),
      `s:32:"${token}";`,
    );
  });

  test('a first sign-in on lpa-front stores lastLogin null, which PHP reads as NULL', async (t) => {
    const s = await sites(t);
    const email = 'first-time@example.com';
    await s.users.addUser({ email, password: PASSWORD, name: NAMED });
    await appSignIn(s, email);
    const who = await whoami(s);
    assert.equal(who.signedIn, true);
    assert.equal(who.identity?.lastLogin, null);
    assert.equal(who.types?.lastLogin, 'NULL');
  });
});

describe('signing out on either side signs out of both', () => {
  test('PHP signs out → lpa-front treats the user as anonymous, even with the old cookie', async (t) => {
    const s = await sites(t);
    const u = await userWithToken(s);
    await phpSignIn(s, u);
    const id = sessionId(s);
    assert.equal((await s.app.get(PATHS.dashboard)).status, 200);

    const out = await s.legacy.get('/logout.php');
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), 'https://www.gov.uk/done/lasting-power-of-attorney');
    assert.equal(s.app.cookies.has(COOKIE), false, 'PHP expired the cookie');
    assert.equal(await stored(id), null, 'PHP deleted the session');

    // A tab that still holds the old cookie.
    s.app.cookies.set(COOKIE, id);
    const dash = await s.app.get(PATHS.dashboard);
    assert.equal(dash.status, 302);
    assert.match(dash.headers.get('location') ?? '', /^\/login/);
    const state = await s.app.get(PATHS.sessionState, { accept: 'application/json', 'x-sessionreadonly': 'true' });
    assert.equal(state.status, 204, 'no sign-in left');
  });

  test('lpa-front signs out → PHP sees no identity, even with the old cookie', async (t) => {
    const s = await sites(t);
    const u = await userWithToken(s);
    await appSignIn(s, u.email);
    const id = sessionId(s);
    assert.equal((await whoami(s)).signedIn, true);

    const dash = await s.app.get(PATHS.dashboard);
    const out = await s.app.post(PATHS.logout, { _csrf: csrfTokenFrom(dash.text) });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), 'https://www.gov.uk/done/lasting-power-of-attorney');
    assert.equal(s.app.cookies.has(COOKIE), false, 'lpa-front expired the cookie');
    assert.equal(await stored(id), null, 'lpa-front deleted the session');

    s.app.cookies.set(COOKIE, id);
    const who = await whoami(s);
    assert.equal(who.signedIn, false);
    assert.equal(who.identity, null);
    assert.notEqual(who.sessionId, id, 'strict mode: PHP refuses the dead id');
  });
});

describe('sessions of every shape', () => {
  test(
    'PHP writes every shape; lpa-front reads them, and writing its own keys leaves PHP’s byte ' + 'for byte',
    async (t) => {
      const s = await sites(t);
      const wrote = await s.legacy.post('/write.php', { shapes: 'all' });
      assert.equal(wrote.status, 200, wrote.text);
      const { names } = JSON.parse(wrote.text) as { names: string[] };
      assert.ok(names.length >= 20);
      const id = sessionId(s);
      const before = await stored(id);
      assert.ok(before !== null);
      const dumpBefore = await dump(s);
      assert.equal(
        Buffer.from(dumpBefore.encoded ?? '', 'base64').equals(before),
        true,
        'control: PHP re-encodes its own session identically',
      );

      // lpa-front reads all of it (the store decodes every key on load).
      const data = await s.built.services.sessionStore.load(id);
      assert.ok(data !== null);
      assert.deepEqual([...data.keys()], names);
      assert.equal(
        data.get('unicode'),
        'h\u00e9llo w\u00f6rld \u2713 \u{1F600} e\u0301 \u4e2d\u6587 ' + '\u05e2\u05d1\u05e8\u05d9\u05ea \uFEFFbom',
      );
      assert.deepEqual(data.get('ints'), [0, -1, 42, 9223372036854775807n, -9223372036854775808n, 9007199254740993n]);
      assert.equal(data.get('nothing'), null);
      assert.deepEqual(data.get('bools'), [true, false]);
      assert.ok(data.get('binary') instanceof PhpBytes);
      const floats = data.get('floats') as PhpFloat[];
      assert.deepEqual(floats.map((f) => f.value).slice(0, 6), [0.1, 1, -0, 1e100, 1.5e-7, 0.30000000000000004]);
      assert.ok(Number.isNaN(floats[8]?.value));
      assert.ok(data.get('object') instanceof PhpObject);
      assert.equal((data.get('unicodeKeys') as Record<string, unknown>)['\u{1F600}'], 'emoji key');

      // A page that adds a key (__csrf: a form in a live session), then pages that add and change another (where to
      // resume after sign-in).
      const form = await s.app.get(PATHS.login);
      assert.equal(form.status, 200);
      const afterAdd = await stored(id);
      assert.ok(afterAdd !== null);
      assert.equal(
        afterAdd.subarray(0, before.length).equals(before),
        true,
        'PHP’s keys kept byte for byte, new keys appended',
      );
      const token = csrfTokenFrom(form.text);
      assert.ok(afterAdd.subarray(before.length).toString('utf8').includes(`__csrf|s:32:"${token}";`));

      await s.app.get(PATHS.dashboard);
      const afterResume = await stored(id);
      assert.ok(afterResume !== null);
      await s.app.get(PATHS.aboutYou); // rewrites the resume path only
      const afterChange = await stored(id);
      assert.ok(afterChange !== null);
      const decodedBefore = decodeSession(before);
      const decodedAfter = decodeSession(afterChange);
      for (const name of names) {
        assert.equal(
          decodedAfter.rawOf(name)?.equals(decodedBefore.rawOf(name) ?? Buffer.alloc(0)),
          true,
          `${name} byte for byte`,
        );
      }
      assert.notEqual(
        decodeSession(afterResume).rawOf(RESUME_KEY)?.toString(),
        decodedAfter.rawOf(RESUME_KEY)?.toString(),
        'control: the changed key did change',
      );

      // PHP still reads every one of its values as it wrote them, and lpa-front's as PHP would write them.
      const dumpAfter = await dump(s);
      const byName = dumpByName(dumpAfter);
      for (const k of dumpBefore.keys) {
        assert.deepEqual(
          byName.get(k.name),
          { export: k.export, serialized: k.serialized },
          `PHP reads ${k.name} unchanged`,
        );
      }
      assert.equal(
        Buffer.from(dumpAfter.encoded ?? '', 'base64').equals(afterChange),
        true,
        'PHP re-encodes the whole session to the stored bytes',
      );
      assert.equal(
        Buffer.from(byName.get(RESUME_KEY)?.serialized ?? '', 'base64').toString('utf8'),
        `s:${String(PATHS.aboutYou.length)}:"${PATHS.aboutYou}";`,
        'a string for PHP',
      );
    },
  );

  test(
    'signing in on lpa-front over a session PHP filled starts the new id empty, as the live ' +
      'LoginHandler does (ADR 0019)',
    async (t) => {
      const s = await sites(t);
      const u = await userWithToken(s);
      const wrote = await s.legacy.post('/write.php', { shapes: 'all' });
      const { names } = JSON.parse(wrote.text) as { names: string[] };
      assert.ok(names.length > 10);
      const oldId = sessionId(s);

      await appSignIn(s, u.email);
      const id = sessionId(s);
      assert.notEqual(id, oldId);
      assert.equal(await stored(oldId), null);
      const after = decodeSession((await stored(id)) ?? Buffer.alloc(0));
      assert.deepEqual([...after.names()], ['identity', 'lpaFrontUserHash'], 'only what sign-in wrote');
      const dumpAfter = dumpByName(await dump(s));
      for (const name of names) assert.equal(dumpAfter.has(name), false, `PHP no longer reads ${name}`);
      assert.equal((await whoami(s)).signedIn, true);
    },
  );

  test(
    'lpa-front writes values PHP reads back identically (JSON-shaped data written through PHP ' + 'and back)',
    async (t) => {
      const s = await sites(t);
      await s.app.get(PATHS.dashboard); // stores where to resume: a session
      const id = sessionId(s);
      const value = { list: [1, 2, 3], nested: { a: 'é✓😀', b: null, c: true }, n: -7, empty: [] };
      // lpa-front's store writes it (as a feature would), PHP serializes what it read: identical bytes.
      await s.built.services.sessionStore.commit(id, new Map([['fromLpaFront', value]]), 10800);
      const d = dumpByName(await dump(s));
      const bytes = decodeSession((await stored(id)) ?? Buffer.alloc(0)).rawOf('fromLpaFront');
      assert.ok(bytes !== undefined);
      assert.equal(
        Buffer.from(d.get('fromLpaFront')?.serialized ?? '', 'base64').toString('utf8'),
        bytes.toString('utf8'),
      );
      assert.equal(
        bytes.toString('utf8'),
        'a:4:{s:4:"list";a:3:{i:0;i:1;i:1;i:2;i:2;i:3;}s:6:"nested";a:3:{s:1:"a";s:9:"é✓😀";s:1:"b";N;s:1:"c";b:1;}s:1:"n";i:-7;s:5:"empty";a:0:{}}',
      );
      // And the reverse: PHP writes the same data from JSON; the bytes are the same as ours.
      await s.legacy.post('/write.php', { key: 'fromPhp', json: JSON.stringify(value) });
      const both = decodeSession((await stored(id)) ?? Buffer.alloc(0));
      assert.equal(both.rawOf('fromPhp')?.toString('utf8'), bytes.toString('utf8'));
      assert.equal(serialize(both.get('fromPhp') ?? null).toString('utf8'), bytes.toString('utf8'));
    },
  );
});

describe('X-SessionReadOnly', () => {
  test('both fronts skip the write (and the TTL slide) for exactly the same header values', async (t) => {
    const s = await sites(t);
    const results: { value: string | undefined; php: boolean; app: boolean }[] = [];
    for (const value of [undefined, '', '0', 'true', 'false', '1', 'yes']) {
      const headers: Record<string, string> = value === undefined ? {} : { 'x-sessionreadonly': value };
      // A fresh session made by PHP, with a short TTL so a write or a slide shows.
      s.app.cookies.clear();
      await s.legacy.post('/write.php', { key: 'marker', json: '1' });
      const id = sessionId(s);
      await raw.expire(PREFIX + id, 500);
      const start = await stored(id);

      await s.legacy.post('/write.php', { key: 'probe', json: '"php"' }, headers);
      const afterPhp = await stored(id);
      const phpWrote = afterPhp?.equals(start ?? Buffer.alloc(0)) === false;
      const phpSlid = (await raw.ttl(PREFIX + id)) > 600;
      await raw.set(PREFIX + id, start ?? '', 'EX', 500);

      const page = await s.app.get(PATHS.login, headers); // would add __csrf to the live session
      assert.equal(page.status, 200);
      const appWrote = (await stored(id))?.equals(start ?? Buffer.alloc(0)) === false;
      const appSlid = (await raw.ttl(PREFIX + id)) > 600;
      assert.equal(phpSlid, phpWrote, `PHP slides exactly when it writes (${String(value)})`);
      assert.equal(appSlid, appWrote, `lpa-front slides exactly when it writes (${String(value)})`);
      results.push({ value, php: phpWrote, app: appWrote });
    }
    t.diagnostic(JSON.stringify(results));
    for (const r of results)
      assert.equal(r.app, r.php, `same decision for X-SessionReadOnly: ${JSON.stringify(r.value)}`);
    assert.deepEqual(
      results.map((r) => r.php),
      [true, true, true, false, false, false, false],
      'writes only without a meaningful header',
    );
  });
});

describe('the legacy front itself', () => {
  test('PHP logged no warnings or errors', () => {
    const out = php.process.output();
    assert.doesNotMatch(out, /PHP (Warning|Fatal|Notice|Parse|Deprecated)|Uncaught/, out);
  });
});
