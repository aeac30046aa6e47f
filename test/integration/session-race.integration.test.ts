/**
 * Issue 17 point 2: sign-out cannot be undone by a request in flight at the same moment (ADR 0021).
 *
 * A signed-in request whose token is due to slide writes the identity back at the end. If a sign-out deletes the
 * session between that request's load and its write, the write must not create the key again: a destroyed
 * session stays destroyed, whether lpa-front or the PHP front destroyed it. Proven three ways, all on a real
 * redis-server: deterministically (a store, passed in as a parameter, that holds one commit until the sign-out
 * has finished), with the real PHP front doing the sign-out, and with real concurrent requests, many times.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { phpRedisSessionIni, startPhpServer, startRedis } from '../helpers/services.ts';
import type { StartedPhpServer, StartedRedis } from '../helpers/services.ts';
import { createServices } from '../../src/services.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import type { SessionBase, SessionChanges, SessionData, SessionStore } from '../../src/sessions/session-store.ts';
import { SESSION_KEYS } from '../../src/sessions/session-store.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { TOKEN_LIFETIME_SECONDS, phpIsoDate } from '../../src/backends/credentials.ts';
import { PATHS } from '../../src/paths.ts';

const PREFIX = 'PHPREDIS_SESSION:';
const COOKIE = 'lpa3';
const PASSWORD = 'correct horse battery staple';
const DOCROOT = join(import.meta.dirname, '..', 'php', 'front');

let redis: StartedRedis;
let raw: Redis;
let php: StartedPhpServer;
const dirs: string[] = [];

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
  php = await startPhpServer(DOCROOT, { iniSettings: phpRedisSessionIni(redis.port, COOKIE) });
});
after(async () => {
  raw.disconnect();
  await php.stop();
  await redis.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The real Redis store, but a commit for an armed session id waits at a gate between the load and the write. */
class PausingStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly inner: RedisStore;
  #armed: { id: string | null; reached: () => void; gate: Promise<void> } | undefined;

  constructor(inner: RedisStore) {
    this.inner = inner;
  }

  /** The next commit for `id` (null: for any id) stops before writing; `reached` resolves when it has stopped there. */
  pauseNextCommit(id: string | null): { reached: Promise<void>; release: () => void } {
    let release = (): void => undefined;
    let reached = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    this.#armed = { id, reached, gate };
    return { reached: reachedPromise, release };
  }

  load(id: string): Promise<SessionData | null> {
    return this.inner.load(id);
  }

  async commit(id: string, changes: SessionChanges, ttlSeconds: number, base?: SessionBase): Promise<boolean> {
    const armed = this.#armed;
    if (armed !== undefined && (armed.id === null || armed.id === id)) {
      this.#armed = undefined;
      armed.reached();
      await armed.gate;
    }
    return this.inner.commit(id, changes, ttlSeconds, base);
  }

  touch(id: string, ttlSeconds: number): Promise<void> {
    return this.inner.touch(id, ttlSeconds);
  }

  destroy(id: string): Promise<void> {
    return this.inner.destroy(id);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Setup extends Built {
  readonly users: LocalCredentials;
  readonly store: PausingStore;
}

async function setup(t: TestContext): Promise<Setup> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-session-race-'));
  dirs.push(dataDir);
  const store = new PausingStore(new RedisStore({ url: new URL(redis.url), prefix: PREFIX }));
  const built = await build(t, {
    env: { REDIS_URL: redis.url, DATA_DIR: dataDir },
    services: (config, logger) => createServices(config, { logger, sessionStore: store }),
  });
  const users = built.services.credentials as LocalCredentials;
  assert.equal(users.kind, 'local');
  return Object.assign(Object.create(built) as Built, { users, store });
}

/** A new user signed in through the real form; the session's token is then made due to slide on the next page. */
async function signedInDueToSlide(s: Setup): Promise<{ browser: Browser; id: string; logoutToken: string }> {
  const email = `u${randomBytes(6).toString('hex')}@example.com`;
  await s.users.addUser({ email, password: PASSWORD, name: { title: 'Dr', first: 'Ada', last: 'Lovelace' } });
  const browser = new Browser(s.origin);
  const form = await browser.get(PATHS.login);
  const signedIn = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
  assert.equal(signedIn.status, 303, signedIn.text);
  const id = browser.cookies.get(COOKIE) ?? '';
  assert.match(id, /^[0-9a-f]{32}$/);
  const dashboard = await browser.get(PATHS.dashboard);
  assert.equal(dashboard.status, 200);
  // "About a minute idle": the token was last slid two minutes ago, so the next signed-in page slides it.
  const data = await s.store.inner.load(id);
  const identity = data?.get(SESSION_KEYS.identity) as Record<string, unknown> | undefined;
  assert.ok(identity !== undefined);
  const slid = new Date(Date.now() + (TOKEN_LIFETIME_SECONDS - 120) * 1000);
  assert.equal(
    await s.store.inner.commit(
      id,
      new Map([[SESSION_KEYS.identity, { ...identity, tokenExpiresAt: phpIsoDate(slid) }]]),
      10800,
    ),
    true,
  );
  return { browser, id, logoutToken: csrfTokenFrom(dashboard.text) };
}

function withCookie(id: string): Record<string, string> {
  return { cookie: `${COOKIE}=${id}` };
}

/** The signed-out cookie does not get a signed-in page, and no key came back for it. */
async function assertStaysSignedOut(s: Setup, id: string, why: string): Promise<void> {
  assert.equal(await raw.exists(PREFIX + id), 0, `${why}: the session key came back`);
  const again = await new Browser(s.origin).get(PATHS.dashboard, withCookie(id));
  assert.equal(again.status, 302, `${why}: the signed-out cookie got ${String(again.status)}`);
  assert.match(again.headers.get('location') ?? '', /^\/login/);
}

describe('sign-out is final', () => {
  test('a request that loaded the session before the sign-out cannot write it back (deterministic)', async (t) => {
    const s = await setup(t);
    const { browser, id, logoutToken } = await signedInDueToSlide(s);
    const paused = s.store.pauseNextCommit(id);
    const page = browser.get(PATHS.aboutYou);
    await paused.reached; // loaded, token slid, now about to write the new identity

    const out = await new Browser(s.origin).post(PATHS.logout, { _csrf: logoutToken }, withCookie(id));
    assert.equal(out.status, 303);
    assert.match(out.headers.getSetCookie().join(' | '), /lpa3=;.*Max-Age=0/);
    assert.equal(await raw.exists(PREFIX + id), 0, 'control: the sign-out deleted the session');

    paused.release();
    assert.equal((await page).status, 200, 'the in-flight page is still served');
    await assertStaysSignedOut(s, id, 'after the in-flight write');
    assert.ok(
      s.logs.some((l) => l.event === 'session.gone_before_write'),
      'the dropped write is logged',
    );
  });

  test('the same when the PHP front signs out (real PHP, session_destroy)', async (t) => {
    const s = await setup(t);
    const { browser, id } = await signedInDueToSlide(s);
    const paused = s.store.pauseNextCommit(id);
    const page = browser.get(PATHS.aboutYou);
    await paused.reached;

    const legacy = new Browser(php.origin);
    const out = await legacy.get('/logout.php', withCookie(id));
    assert.equal(out.status, 302, out.text);
    assert.equal(await raw.exists(PREFIX + id), 0, 'control: PHP deleted the session');

    paused.release();
    assert.equal((await page).status, 200);
    await assertStaysSignedOut(s, id, 'after PHP signed out');
  });

  test('real concurrency: GET /user/about-you and POST /logout sent together, many times', async (t) => {
    const s = await setup(t);
    const rounds = 24;
    const comeback: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const { id, logoutToken } = await signedInDueToSlide(s);
      const [page, out] = await Promise.all([
        new Browser(s.origin).get(PATHS.aboutYou, withCookie(id)),
        new Browser(s.origin).post(PATHS.logout, { _csrf: logoutToken }, withCookie(id)),
      ]);
      assert.ok([200, 302].includes(page.status), `round ${String(round)}: page ${String(page.status)}`);
      assert.equal(out.status, 303, `round ${String(round)}: sign-out ${String(out.status)}`);
      if ((await raw.exists(PREFIX + id)) !== 0) comeback.push(round);
      else await assertStaysSignedOut(s, id, `round ${String(round)}`);
    }
    assert.deepEqual(comeback, [], `the session came back after sign-out in rounds ${comeback.join(', ')}`);
  });
});

describe('sign-in as another user starts empty', () => {
  test(
    'a key written to the old session while the sign-in is in flight is not carried to the ' + 'new one (ADR 0019)',
    async (t) => {
      const s = await setup(t);
      const { browser, id, logoutToken } = await signedInDueToSlide(s);
      const bob = `b${randomBytes(6).toString('hex')}@example.com`;
      await s.users.addUser({ email: bob, password: PASSWORD, name: { title: 'Mr', first: 'Bob', last: 'Example' } });

      const paused = s.store.pauseNextCommit(null);
      const signIn = browser.post(PATHS.login, { email: bob, password: PASSWORD, _csrf: logoutToken });
      await paused.reached;
      // A request of Alice's (or the PHP front) writes to her session after Bob's sign-in loaded it.
      assert.equal(await s.store.inner.commit(id, new Map([['lateAliceKey', 'hers']]), 10800), true);
      paused.release();

      const res = await signIn;
      assert.equal(res.status, 303, res.text);
      const bobId = browser.cookies.get(COOKIE) ?? '';
      assert.match(bobId, /^[0-9a-f]{32}$/);
      assert.notEqual(bobId, id);
      const data = await s.store.inner.load(bobId);
      assert.ok(data !== null);
      assert.equal(
        data.has('lateAliceKey'),
        false,
        "a key of the previous session was copied into the new identity's session",
      );
      assert.equal(await raw.exists(PREFIX + id), 0, 'the old id is deleted');
    },
  );
});
