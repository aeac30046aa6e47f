/**
 * Sign-out is final (issue 17.3, ADR 0019): the token ends in the backend and goes on the deny-list, so a copy of a
 * signed-out session's identity (brought back by a request in flight at sign-out, or stolen) gets the sign-in page.
 * Through the whole app: memory stores and, with a real redis-server, two instances sharing the deny-list.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { encodeCookieValue, newSessionId } from '../../src/platform/session.ts';
import { REVOKED_KEY_PREFIX, tokenDigest } from '../../src/sessions/revocation-store.ts';
import { SESSION_KEYS } from '../../src/sessions/session-store.ts';
import { PATHS, SIGNED_OUT_URL } from '../../src/paths.ts';

const PASSWORD = 'correct horse battery staple';
// A named user: one without a name is sent to /user/about-you/new first, as on the live service.
const NAMED = { first: 'Sam', last: 'Tester' };
const dirs: string[] = [];
let redis: StartedRedis;
const clients: Redis[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-sign-out-'));
  dirs.push(dir);
  return dir;
}

async function app(t: TestContext, env: Record<string, string> = {}, dataDir = tempDir()): Promise<Built> {
  return build(t, {
    env: { DATA_DIR: dataDir, ...env },
    services: (config, logger) => createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } }),
  });
}

function sessionIdOf(browser: Browser, built: Built): string {
  const value = browser.cookies.get(built.config.sessionCookieName);
  assert.ok(value !== undefined, 'session cookie present');
  return value.slice(0, 32);
}

async function signedIn(
  built: Built,
  email: string,
  origin = built.origin,
): Promise<{ browser: Browser; identity: Record<string, unknown> }> {
  const browser = new Browser(origin);
  const form = await browser.get(PATHS.login);
  assert.equal(
    (await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) })).status,
    303,
  );
  const identity = (await built.services.sessionStore.load(sessionIdOf(browser, built)))?.get(SESSION_KEYS.identity);
  assert.ok(identity !== null && typeof identity === 'object');
  return { browser, identity: identity as Record<string, unknown> };
}

function signOutEvents(built: Built): Record<string, unknown>[] {
  return built.logs.filter((l) => l.event === 'auth.sign_out');
}

async function signOut(browser: Browser): Promise<void> {
  const page = await browser.get(PATHS.dashboard);
  assert.equal(page.status, 200);
  const res = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
}

/** A browser whose cookie leads to a session holding `identity`, planted in the store as a copy would be. */
async function withPlantedIdentity(
  built: Built,
  identity: Record<string, unknown>,
  origin = built.origin,
): Promise<Browser> {
  const id = newSessionId();
  await built.services.sessionStore.commit(id, new Map([[SESSION_KEYS.identity, identity]]), 600, 'new');
  const browser = new Browser(origin);
  // The cookie the app itself would give for that id (signed with the embedded store, bare with Redis).
  browser.cookies.set(built.config.sessionCookieName, encodeCookieValue(id, built.services.sessionCookie));
  return browser;
}

describe('sign-out ends the sign-in token', () => {
  test("a copy of a signed-out session's identity gets the sign-in page, not a signed-in one", async (t) => {
    const built = await app(t);
    await (built.services.credentials as LocalCredentials).addUser({
      email: 'copy@example.com',
      password: PASSWORD,
      name: NAMED,
    });
    const { browser, identity } = await signedIn(built, 'copy@example.com');
    // Before sign-out, the copy works: the test plants a real identity.
    assert.equal((await (await withPlantedIdentity(built, identity)).get(PATHS.dashboard)).status, 200);

    await signOut(browser);
    const copy = await withPlantedIdentity(built, identity);
    const res = await copy.get(PATHS.dashboard);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), PATHS.login);
    assert.equal(await built.services.revocations.isRevoked(String(identity.token)), true);
    // The backend refuses the token too (the local backend deleted it).
    assert.deepEqual(await built.services.credentials.refresh(String(identity.token), 't'), {
      ok: false,
      reason: 'invalid',
    });
  });

  test(
    'when the backend cannot be told, the deny-list still refuses the copy, and the failure ' + 'is logged',
    async (t) => {
      const built = await build(t, {
        env: { DATA_DIR: tempDir() },
        services: (config, logger) => {
          const services = createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } });
          // The API down at the moment of sign-out: revoke answers "could not tell".
          return { ...services, credentials: { ...services.credentials, revoke: () => Promise.resolve(false) } };
        },
      });
      await (built.services.credentials as LocalCredentials).addUser({
        email: 'outage@example.com',
        password: PASSWORD,
        name: NAMED,
      });
      const { browser, identity } = await signedIn(built, 'outage@example.com');
      await signOut(browser);
      assert.equal(built.logs.filter((l) => l.event === 'auth.sign_out.backend_revoke_failed').length, 1);
      const res = await (await withPlantedIdentity(built, identity)).get(PATHS.dashboard);
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), PATHS.login);
    },
  );

  test(
    'with Redis, a token signed out on one instance is refused by another at once, and only ' + 'its hash is kept',
    async (t) => {
      const dataDir = tempDir();
      const [a, b] = [await app(t, { REDIS_URL: redis.url }, dataDir), await app(t, { REDIS_URL: redis.url }, dataDir)];
      await (a.services.credentials as LocalCredentials).addUser({
        email: 'shared@example.com',
        password: PASSWORD,
        name: NAMED,
      });
      const { browser, identity } = await signedIn(a, 'shared@example.com');
      const token = String(identity.token);
      await signOut(browser);

      const raw = new Redis(redis.url);
      clients.push(raw);
      const ttl = await raw.ttl(REVOKED_KEY_PREFIX + tokenDigest(token));
      assert.ok(ttl > 4400 && ttl <= 4500, `deny-list entry lives as long as the token could: ${String(ttl)} s`);
      const keys = await raw.keys('*');
      for (const key of keys) {
        const value = (await raw.type(key)) === 'string' ? await raw.get(key) : '';
        assert.equal(`${key} ${value ?? ''}`.includes(token), false, 'the token itself is stored nowhere');
      }

      const copy = await withPlantedIdentity(b, identity, b.origin);
      const res = await copy.get(PATHS.dashboard);
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), PATHS.login);
    },
  );
});

/**
 * The legacy pages' sign-out controls, exactly as the live front renders them (ministryofjustice/opg-lpa 8139e773,
 * service-front/src/App/templates/application/partials/nav.twig and layout/partials/timeout.twig, with
 * `url('application.logout')` = /logout and the timeout form's canonical URL on PUBLIC_ORIGIN).
 */
const LEGACY_NAV_LINK = `<li class="govuk-service-navigation__item">
    <a class="govuk-service-navigation__link" href="/logout" data-cy="sign-out">
        Sign Out
    </a>
</li>`;
const legacyTimeoutForm = (
  origin: string,
) => `<form name="session-timeout-form" action="${origin}/logout" data-cy="session-timeout-form">
    <button type="button" name="continue" id="session-timeout-continue" class="govuk-button js-ok-button">OK</button>
    <button type="submit" name="submit" id="session-timeout-logout" class="button-secondary">Sign out</button>
</form>`;

/** What Chromium sends when the user follows a link (or submits a GET form) on a page of this origin. */
function navigationFrom(page: string, publicOrigin: string, site = 'same-origin'): Record<string, string> {
  return {
    'sec-fetch-site': site,
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
    'sec-fetch-user': '?1',
    referer: publicOrigin + page,
  };
}

describe('GET /logout (the legacy pages sign out with a link)', () => {
  async function signedInBrowser(t: TestContext, email: string) {
    const built = await app(t);
    await (built.services.credentials as LocalCredentials).addUser({ email, password: PASSWORD, name: NAMED });
    const { browser, identity } = await signedIn(built, email);
    return { built, browser, token: String(identity.token), id: sessionIdOf(browser, built) };
  }

  async function assertSignedOut(
    built: Built,
    res: { status: number; headers: Headers },
    id: string,
    token: string,
  ): Promise<void> {
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
    const setCookie = res.headers.getSetCookie().join('\n');
    assert.ok(setCookie.includes(`${built.config.sessionCookieName}=;`) && setCookie.includes('Max-Age=0'), setCookie);
    assert.equal(await built.services.sessionStore.load(id), null, 'session destroyed');
    assert.equal(await built.services.revocations.isRevoked(token), true, 'token on the deny-list');
    assert.deepEqual(
      await built.services.credentials.refresh(token, 't'),
      { ok: false, reason: 'invalid' },
      'token ended in the backend',
    );
  }

  test('the legacy nav\'s "Sign Out" link, followed from a legacy page, signs out', async (t) => {
    const { built, browser, token, id } = await signedInBrowser(t, 'nav@example.com');
    const href = html(LEGACY_NAV_LINK).querySelector('a[data-cy="sign-out"]')?.getAttribute('href');
    assert.equal(href, PATHS.logout);
    const res = await browser.get(
      new URL(href, built.config.publicOrigin).pathname,
      navigationFrom('/lpa/123/donor', built.config.publicOrigin.origin),
    );
    await assertSignedOut(built, res, id, token);
    assert.equal((await browser.get(PATHS.dashboard)).status, 302, 'signed out on the next page too');
    assert.equal(signOutEvents(built).length, 1);
  });

  test('the legacy timeout dialog\'s "Sign out" (a GET form to the canonical /logout) signs out', async (t) => {
    const { built, browser, token, id } = await signedInBrowser(t, 'timeout@example.com');
    const form = html(legacyTimeoutForm(built.config.publicOrigin.origin)).querySelector(
      'form[name="session-timeout-form"]',
    );
    assert.ok(form);
    assert.equal(form.getAttribute('method') ?? 'get', 'get', 'no method: the browser GETs');
    const action = new URL(form.getAttribute('action') ?? '');
    assert.equal(action.origin, built.config.publicOrigin.origin);
    // The submit button's name with its empty value, as the browser builds the query.
    const res = await browser.get(
      `${action.pathname}?submit=`,
      navigationFrom('/user/dashboard', built.config.publicOrigin.origin),
    );
    await assertSignedOut(built, res, id, token);
  });

  test(
    "from lpa-front's own pages: the layout's sign-out form (POST), and /logout typed or " + 'bookmarked',
    async (t) => {
      const { built, browser, token, id } = await signedInBrowser(t, 'own@example.com');
      const page = await browser.get(PATHS.dashboard);
      const form = html(page.text).querySelector('form.app-sign-out');
      assert.ok(form);
      assert.equal(form.getAttribute('action'), PATHS.logout);
      assert.equal(form.getAttribute('method'), 'post');
      const res = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
      assert.equal(await built.services.sessionStore.load(id), null);
      assert.equal(await built.services.revocations.isRevoked(token), true);

      const typed = await signedIn(built, 'own@example.com');
      const typedId = sessionIdOf(typed.browser, built);
      const res2 = await typed.browser.get(PATHS.logout, {
        'sec-fetch-site': 'none',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-user': '?1',
      });
      await assertSignedOut(built, res2, typedId, String(typed.identity.token));
    },
  );

  test('a GET from anywhere else gets a confirm page and stays signed in; its button signs out', async (t) => {
    const { built, browser, token, id } = await signedInBrowser(t, 'cross@example.com');
    const origin = built.config.publicOrigin.origin;
    const cases: [string, Record<string, string>][] = [
      ['cross-site link', navigationFrom('/', 'https://evil.example', 'cross-site')],
      [
        'same-site (a sibling subdomain) link',
        navigationFrom('/', 'https://other.lastingpowerofattorney.service.gov.uk', 'same-site'),
      ],
      [
        'an <img> from another site',
        { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      ],
      ['no fetch metadata, no Referer', {}],
      ["no fetch metadata, another site's Referer", { referer: 'https://evil.example/page' }],
      ['no fetch metadata, a look-alike Referer', { referer: `${origin}.evil.example/` }],
      ['no fetch metadata, a Referer that is no URL', { referer: 'not a url' }],
      ['a same-origin prefetch', { ...navigationFrom('/user/dashboard', origin), 'sec-purpose': 'prefetch' }],
      ['an old-style prefetch', { referer: `${origin}/user/dashboard`, purpose: 'prefetch' }],
    ];
    for (const [name, headers] of cases) {
      const res = await browser.get(PATHS.logout, headers);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('location'), null, name);
      assert.equal(
        res.headers.getSetCookie().some((c) => /max-age=0/i.test(c)),
        false,
        `${name}: cookie kept`,
      );
      const doc = html(res.text);
      assert.match(doc.querySelector('h1')?.textContent ?? '', /Do you want to sign out\?/, name);
      assert.equal(doc.querySelector('form[data-qa="confirm-sign-out-form"]')?.getAttribute('method'), 'post', name);
    }
    const head = await fetch(built.origin + PATHS.logout, {
      method: 'HEAD',
      headers: { cookie: browser.cookieHeader(), ...navigationFrom('/', origin) },
    });
    assert.equal(head.status, 200, 'HEAD never signs out');
    assert.notEqual(await built.services.sessionStore.load(id), null, 'still signed in');
    assert.equal(await built.services.revocations.isRevoked(token), false);
    assert.equal((await browser.get(PATHS.dashboard)).status, 200);
    assert.equal(signOutEvents(built).length, 0);

    // The confirm page's button: a POST with the session's CSRF token.
    const confirm = await browser.get(PATHS.logout, navigationFrom('/', 'https://evil.example', 'cross-site'));
    const form = html(confirm.text).querySelector('form[data-qa="confirm-sign-out-form"]');
    assert.equal(form?.getAttribute('action'), PATHS.logout);
    const res = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(confirm.text) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
    assert.equal(await built.services.sessionStore.load(id), null);
    assert.equal(await built.services.revocations.isRevoked(token), true);
  });

  test('with no live session, any GET just clears the dead cookie (nothing to protect, ADR 0018)', async (t) => {
    const built = await app(t);
    const res = await new Browser(built.origin).get(
      PATHS.logout,
      navigationFrom('/', 'https://evil.example', 'cross-site'),
    );
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
  });
});
