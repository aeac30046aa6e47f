/**
 * Sign-in, sign-out and the first signed-in pages, through the whole app over HTTP: real app, memory
 * session store, local credentials in a temporary DATA_DIR.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import type { ServiceOverrides } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import { SESSION_KEYS } from '../../src/sessions/session-store.ts';
import { RESUME_KEY } from '../../src/platform/auth-guard.ts';
import { PATHS, SIGNED_OUT_URL } from '../../src/paths.ts';
import { AUTH_MESSAGES as AUTH_MESSAGE_KEYS } from '../../src/features/sign-in/sign-in-routes.ts';
import { english } from '../helpers/words.ts';
import type { SignInPolicy } from '../../src/features/sign-in/sign-in-routes.ts';
import { TEST_SECRET } from '../helpers/app.ts';

const AUTH_MESSAGES = english(AUTH_MESSAGE_KEYS);

const PASSWORD = 'correct horse battery staple';
// A named user: one without a name is sent to /user/about-you/new first, as on the live service.
const NAMED = { first: 'Sam', last: 'Tester' };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Setup extends Built {
  readonly users: LocalCredentials;
  readonly store: MemoryStore;
}

async function setup(
  t: TestContext,
  policy: Partial<SignInPolicy> = {},
  extra: ServiceOverrides & { env?: Record<string, string> } = {},
): Promise<Setup> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-sign-in-'));
  dirs.push(dataDir);
  const store = (extra.sessionStore as MemoryStore | undefined) ?? new MemoryStore();
  const built = await build(t, {
    env: { DATA_DIR: dataDir, ...extra.env },
    services: (config) =>
      createServices(config, {
        ...extra,
        sessionStore: store,
        signInPolicy: { failureDelayMs: 0, ...policy },
      }),
  });
  const users = built.services.credentials as LocalCredentials;
  assert.equal(users.kind, 'local');
  // Keep `logs` a live getter.
  return Object.assign(Object.create(built) as Built, { users, store });
}

function sessionIdOf(browser: Browser, built: Built): string {
  const value = browser.cookies.get(built.config.sessionCookieName);
  assert.ok(value !== undefined, 'session cookie present');
  return value.slice(0, 32);
}

async function signIn(browser: Browser, email: string, password: string, from = PATHS.login) {
  const form = await browser.get(from);
  return browser.post(PATHS.login, { email, password, _csrf: csrfTokenFrom(form.text) });
}

function errorSummary(text: string): string {
  return html(text).querySelector('.govuk-error-summary')?.textContent.replace(/\s+/g, ' ').trim() ?? '';
}

function auditEvents(built: Built): Record<string, unknown>[] {
  return built.logs.filter((l) => typeof l.event === 'string' && l.event.startsWith('auth.sign_in.'));
}

function signOutEvents(built: Built): Record<string, unknown>[] {
  return built.logs.filter((l) => l.event === 'auth.sign_out');
}

function expectedHash(email: string): string {
  const key = Buffer.from(
    hkdfSync('sha256', Buffer.from(TEST_SECRET), Buffer.alloc(0), 'lpa-front audit user hash v1', 32),
  );
  return createHmac('sha256', key).update(email.trim().toLowerCase()).digest('hex').slice(0, 32);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

describe('sign-in', () => {
  test('the form: email, password, CSRF token, novalidate, no-JS-friendly', async (t) => {
    const built = await setup(t);
    const page = await new Browser(built.origin).get(PATHS.login);
    assert.equal(page.status, 200);
    const doc = html(page.text);
    const form = doc.querySelector(`form[action="${PATHS.login}"]`);
    assert.ok(form);
    assert.equal(form.getAttribute('method'), 'post');
    assert.ok(form.hasAttribute('novalidate'));
    assert.equal(doc.querySelector('input#email')?.getAttribute('type'), 'email');
    const pw = doc.querySelector('input#password');
    assert.equal(pw?.getAttribute('type'), 'password');
    assert.equal(pw.getAttribute('autocomplete'), 'current-password');
    assert.match(
      csrfTokenFrom(page.text),
      /^[0-9a-f]{43}$/,
      'a form token: showing the form stores no session (ADR 0022)',
    );
    assert.match(doc.querySelector('button[data-qa="sign-in"]')?.textContent ?? '', /Sign in/);
  });

  test('empty fields: GOV.UK errors, 400, one failure event', async (t) => {
    const built = await setup(t);
    const browser = new Browser(built.origin);
    const page = await signIn(browser, '', '');
    assert.equal(page.status, 400);
    const summary = errorSummary(page.text);
    assert.match(summary, /Enter your email address/);
    assert.match(summary, /Enter your password/);
    assert.deepEqual(
      auditEvents(built).map((e) => [e.event, e.reason]),
      [['auth.sign_in.failure', 'incomplete']],
    );
  });

  test(
    'success: new session id, old one gone, PHP-shaped identity, 303 to the dashboard with ' + 'the details',
    async (t) => {
      const built = await setup(t);
      const userId = await built.users.addUser({
        email: 'ada@example.com',
        password: PASSWORD,
        name: { first: 'Ada', last: 'Lovelace' },
      });
      const browser = new Browser(built.origin);
      // An anonymous visit to a signed-in page stores where to resume: a session that sign-in must replace.
      await browser.get(PATHS.dashboard);
      const form = await browser.get(PATHS.login);
      const before = sessionIdOf(browser, built);
      assert.notEqual(await built.store.load(before), null, 'a session stored before sign-in (the resume path)');

      const res = await browser.post(PATHS.login, {
        email: '  Ada@Example.COM ',
        password: PASSWORD,
        _csrf: csrfTokenFrom(form.text),
      });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), PATHS.dashboard);
      const afterId = sessionIdOf(browser, built);
      assert.notEqual(afterId, before, 'session id regenerated');
      assert.equal(await built.store.load(before), null, 'old session deleted from the store');
      const data = await built.store.load(afterId);
      const identity = data?.get(SESSION_KEYS.identity) as Record<string, unknown>;
      assert.equal(identity.userId, userId);
      assert.match(identity.token as string, /^[A-Za-z0-9_-]{43}$/);
      assert.match(identity.tokenExpiresAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
      assert.equal(identity.lastLogin, null);
      assert.equal(identity.sharedSpaceId, null);
      assert.deepEqual(Object.keys(identity), ['userId', 'token', 'tokenExpiresAt', 'lastLogin', 'sharedSpaceId']);
      assert.equal(data?.has(SESSION_KEYS.csrf), false, 'the CSRF token is renewed after sign-in');

      const dash = await browser.get(PATHS.dashboard);
      assert.equal(dash.status, 200);
      assert.equal(
        html(dash.text).querySelector('[data-qa="last-signed-in"]'),
        null,
        'a first sign-in: no "last signed in" (as the live page)',
      );
      assert.match(html(dash.text).querySelector('h1')?.textContent ?? '', /Your LPAs/);
      assert.ok(html(dash.text).querySelector('[data-qa="empty-state"]'));
      // The dashboard makes one API call (the LPA list); the user's details are on their own page.
      const about = html((await browser.get(PATHS.aboutYou)).text);
      assert.deepEqual(
        [
          about.querySelector('#name-first')?.getAttribute('value'),
          about.querySelector('#name-last')?.getAttribute('value'),
        ],
        ['Ada', 'Lovelace'],
      );
      assert.match(
        dash.text,
        /\/assets\/js\/session-timeout-[0-9a-f]{10}\.mjs/,
        'the timeout warning is loaded on signed-in pages',
      );
      const warning = html(dash.text).querySelector('script[data-app-session-timeout]');
      assert.ok(warning, 'the timeout warning script carries its settings');
      assert.equal(
        warning.getAttribute('data-state-url'),
        PATHS.sessionState,
        'the warning is told where to ask, from PATHS',
      );
      assert.equal(warning.getAttribute('data-timed-out-url'), PATHS.loginTimeout, 'and where to go, from PATHS');
      assert.equal(warning.getAttribute('data-warning-seconds'), '300', 'and when to warn (SESSION_WARNING_SECONDS)');
      assert.ok(html(dash.text).querySelector('form.app-sign-out'));

      const event: Record<string, unknown> | undefined = auditEvents(built)[0];
      assert.ok(event);
      assert.equal(event.event, 'auth.sign_in.success');
      assert.equal(event.userHash, expectedHash('ada@example.com'));
      assert.equal(event.ip, '127.0.0.1');
      assert.match(String(event.reqId), /^[0-9A-HJKMNP-TV-Z]{8}$/);

      // The second sign-in shows when the first was.
      const again = new Browser(built.origin);
      assert.equal((await signIn(again, 'ada@example.com', PASSWORD)).status, 303);
      const dash2 = await again.get(PATHS.dashboard);
      assert.match(
        html(dash2.text).querySelector('[data-qa="last-signed-in"]')?.textContent ?? '',
        /^Last signed in: \d{1,2} \w+ \d{4} at \d{1,2}:\d\d[ap]m$/,
      );
    },
  );

  test('wrong password and unknown user: same status, same message, same time; nothing says which', async (t) => {
    const built = await setup(t, { failureDelayMs: 0 });
    const ACCOUNTS = [1, 2, 3, 4];
    for (const n of ACCOUNTS)
      await built.users.addUser({ email: `known${String(n)}@example.com`, password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    const token = csrfTokenFrom((await browser.get(PATHS.login)).text);
    const attempt = async (email: string) => {
      const started = performance.now();
      const page = await browser.post(PATHS.login, { email, password: 'wrong password 123', _csrf: token });
      return { ms: performance.now() - started, page };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    /**
     * Per pair (one of each, back to back): the difference as a share of the slower, so a machine that slows down or
     * speeds up between pairs moves both sides.
     */
    const pairGaps: number[] = [];
    const pages: { status: number; summary: string; body: string }[] = [];
    // 4 attempts per email (the lockout is 5), 16 pairs; alternate which of a pair goes first.
    for (let round = 0; round < 4; round++) {
      for (const n of ACCOUNTS) {
        const first = (round + n) % 2 === 0;
        const k = first ? await attempt(`known${String(n)}@example.com`) : undefined;
        const u = await attempt(`nobody${String(n)}@example.com`);
        const k2 = k ?? (await attempt(`known${String(n)}@example.com`));
        known.push(k2.ms);
        unknown.push(u.ms);
        pairGaps.push((k2.ms - u.ms) / Math.max(k2.ms, u.ms));
        for (const r of [k2, u])
          pages.push({
            status: r.page.status,
            summary: errorSummary(r.page.text),
            body:
              html(r.page.text)
                .querySelector('main')
                ?.textContent.replace(/\s+/g, ' ')
                .replace(/known\d|nobody\d/g, 'X') ?? '',
          });
      }
    }
    for (const p of pages) {
      assert.equal(p.status, 400);
      assert.match(p.summary, /Email and password combination not recognised/);
      assert.equal(p.summary, pages[0]?.summary);
      assert.equal(p.body, pages[0]?.body, 'the whole page is the same apart from the email typed');
    }
    const mk = median(known);
    const mu = median(unknown);
    const gap = median(pairGaps);
    t.diagnostic(
      `median ms: wrong password ${mk.toFixed(1)}, unknown user ${mu.toFixed(1)}; median pair ` +
        `gap ${(gap * 100).toFixed(0)} %`,
    );
    assert.ok(mk > 20, 'a password check costs real time (scrypt)');
    // Skipping the password check for unknown users would make them 2-10 times faster (a pair gap of 50-90 %); the
    // tolerance allows for a machine busy with other tests.
    assert.ok(
      Math.abs(gap) < 0.35,
      `wrong password and unknown user take different times: median pair ` +
        `gap ${(gap * 100).toFixed(0)} % (medians ${mk.toFixed(1)} and ${mu.toFixed(1)} ms)`,
    );
    assert.equal(
      auditEvents(built).filter((e) => e.event === 'auth.sign_in.failure' && e.reason === 'authentication-failed')
        .length,
      32,
    );
  });

  test('the failure delay floor pads failed attempts', async (t) => {
    const built = await setup(t, { failureDelayMs: 400 });
    const browser = new Browser(built.origin);
    const started = performance.now();
    const page = await signIn(browser, 'nobody@example.com', 'whatever whatever');
    const ms = performance.now() - started;
    assert.equal(page.status, 400);
    assert.ok(ms >= 400, `took ${ms.toFixed(0)} ms`);
  });

  test('5 failures lock the account, for known and unknown emails alike', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'lock@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    const token = csrfTokenFrom((await browser.get(PATHS.login)).text);
    const summaries: Record<string, string[]> = { 'lock@example.com': [], 'ghost@example.com': [] };
    for (let i = 0; i < 6; i++) {
      for (const email of Object.keys(summaries)) {
        const page = await browser.post(PATHS.login, { email, password: 'not the password!', _csrf: token });
        summaries[email]?.push(errorSummary(page.text).includes('locked') ? 'locked' : 'failed');
      }
    }
    assert.deepEqual(summaries['lock@example.com'], ['failed', 'failed', 'failed', 'failed', 'locked', 'locked']);
    assert.deepEqual(summaries['ghost@example.com'], summaries['lock@example.com']);
    // Even the right password is refused while locked.
    const right = await browser.post(PATHS.login, { email: 'lock@example.com', password: PASSWORD, _csrf: token });
    assert.equal(right.status, 400);
    assert.ok(errorSummary(right.text).includes(AUTH_MESSAGES.locked));
    assert.ok(
      auditEvents(built).some(
        (e) => e.event === 'auth.sign_in.locked' && e.userHash === expectedHash('lock@example.com'),
      ),
    );
  });

  test('7 concurrent wrong passwords after 2 failures: the 5th failure locks, as serial ones do', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'race@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    const token = csrfTokenFrom((await browser.get(PATHS.login)).text);
    const attempt = async () =>
      errorSummary(
        (await browser.post(PATHS.login, { email: 'race@example.com', password: 'not the password!', _csrf: token }))
          .text,
      ).includes('locked')
        ? 'locked'
        : 'failed';
    assert.deepEqual([await attempt(), await attempt()], ['failed', 'failed']);
    const together = await Promise.all(Array.from({ length: 7 }, attempt));
    assert.deepEqual(together.sort(), ['failed', 'failed', 'locked', 'locked', 'locked', 'locked', 'locked']);
    const right = await browser.post(PATHS.login, { email: 'race@example.com', password: PASSWORD, _csrf: token });
    assert.ok(errorSummary(right.text).includes(AUTH_MESSAGES.locked), 'locked, even with the right password');
  });

  test('CSRF is required on POST /login and POST /logout', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'csrf@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    await browser.get(PATHS.login);
    const noToken = await browser.post(PATHS.login, { email: 'csrf@example.com', password: PASSWORD });
    assert.equal(noToken.status, 403);
    const wrongToken = await browser.post(PATHS.login, {
      email: 'csrf@example.com',
      password: PASSWORD,
      _csrf: '0'.repeat(32),
    });
    assert.equal(wrongToken.status, 403);
    assert.equal(auditEvents(built).length, 0, 'refused before any attempt');

    assert.equal((await signIn(browser, 'csrf@example.com', PASSWORD)).status, 303);
    const id = sessionIdOf(browser, built);
    const logoutNoToken = await browser.post(PATHS.logout, {});
    assert.equal(logoutNoToken.status, 403);
    assert.notEqual(await built.store.load(id), null, 'still signed in');
    const crossSite = await browser.post(
      PATHS.logout,
      { _csrf: csrfTokenFrom((await browser.get(PATHS.dashboard)).text) },
      { 'sec-fetch-site': 'cross-site' },
    );
    assert.equal(crossSite.status, 403);
    assert.equal((await browser.get(PATHS.dashboard)).status, 200);
  });

  test('sign-out destroys the stored session, expires the cookie and goes to GOV.UK', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'out@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    await signIn(browser, 'out@example.com', PASSWORD);
    const id = sessionIdOf(browser, built);
    const dash = await browser.get(PATHS.dashboard);
    const cookieBefore = browser.cookieHeader();
    const res = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(dash.text) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
    // A browser follows a form's redirect only if the page's CSP form-action allows where it goes.
    const formAction =
      /(?:^|;)\s*form-action ([^;]*)/
        .exec(dash.headers.get('content-security-policy') ?? '')?.[1]
        ?.trim()
        .split(/\s+/) ?? [];
    assert.ok(
      formAction.includes(new URL(SIGNED_OUT_URL).origin),
      `form-action ${formAction.join(' ')} lets the browser reach ${SIGNED_OUT_URL}`,
    );
    const setCookie = res.headers.getSetCookie().join('\n');
    assert.ok(setCookie.includes(`${built.config.sessionCookieName}=;`) && setCookie.includes('Max-Age=0'), setCookie);
    assert.equal(await built.store.load(id), null);
    // The old cookie, replayed, is worth nothing.
    const replay = await fetch(built.origin + PATHS.dashboard, {
      headers: { cookie: cookieBefore },
      redirect: 'manual',
    });
    assert.equal(replay.status, 302);
    assert.equal(replay.headers.get('location'), PATHS.login);
  });

  test(
    'sign-out after the session has expired signs out; with a live session the token is still ' + 'required',
    async (t) => {
      const built = await setup(t);
      await built.users.addUser({ email: 'idle@example.com', password: PASSWORD, name: NAMED });
      const browser = new Browser(built.origin);
      await signIn(browser, 'idle@example.com', PASSWORD);
      const id = sessionIdOf(browser, built);
      const token = csrfTokenFrom((await browser.get(PATHS.dashboard)).text);
      // Idle expiry: the store no longer has the session, but the page (and its form) is still open.
      await built.store.destroy(id);
      const res = await browser.post(PATHS.logout, { _csrf: token });
      assert.equal(res.status, 303, 'not the "your form timed out" page');
      assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
      const setCookie = res.headers.getSetCookie().join('\n');
      assert.ok(
        setCookie.includes(`${built.config.sessionCookieName}=;`) && setCookie.includes('Max-Age=0'),
        setCookie,
      );
      // No cookie at all (lost, or the browser was restarted): the same.
      const none = await new Browser(built.origin).post(PATHS.logout, {});
      assert.equal(none.status, 303);
      assert.equal(none.headers.get('location'), SIGNED_OUT_URL);
      // Still refused cross-site, as every state-changing request is.
      assert.equal(
        (await new Browser(built.origin).post(PATHS.logout, {}, { 'sec-fetch-site': 'cross-site' })).status,
        403,
      );

      // A live session is never signed out without its token: not with a wrong one, nor when the session has no
      // token yet (just after sign-in, before any page was shown), where a forged form has none to send.
      const live = new Browser(built.origin);
      await signIn(live, 'idle@example.com', PASSWORD);
      const liveId = sessionIdOf(live, built);
      assert.equal((await built.store.load(liveId))?.has(SESSION_KEYS.csrf), false, 'no token in the session yet');
      assert.equal((await live.post(PATHS.logout, {})).status, 403);
      await live.get(PATHS.dashboard);
      assert.equal((await live.post(PATHS.logout, { _csrf: '0'.repeat(32) })).status, 403);
      assert.notEqual(await built.store.load(liveId), null, 'still signed in');
      assert.equal((await live.get(PATHS.dashboard)).status, 200);
    },
  );

  test('the page asked for before sign-in is resumed, but only a local path', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'resume@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    const denied = await browser.get(`${PATHS.aboutYou}?from=x`);
    assert.equal(denied.status, 302);
    assert.equal(denied.headers.get('location'), PATHS.login);
    const res = await signIn(browser, 'resume@example.com', PASSWORD);
    assert.equal(res.headers.get('location'), `${PATHS.aboutYou}?from=x`);
    const data = await built.store.load(sessionIdOf(browser, built));
    assert.equal(data?.has(RESUME_KEY), false, 'resume key removed');

    // A resume value planted in the session (say, by the PHP front) is still only ever a local path.
    for (const evil of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const b = new Browser(built.origin);
      await b.get(PATHS.dashboard); // a session to plant the value in (showing the form alone stores none)
      const form = await b.get(PATHS.login);
      await built.store.commit(sessionIdOf(b, built), new Map([[RESUME_KEY, evil]]), 600);
      const r = await b.post(PATHS.login, {
        email: 'resume@example.com',
        password: PASSWORD,
        _csrf: csrfTokenFrom(form.text),
      });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), PATHS.dashboard, evil);
    }
  });

  test('signed-in users visiting /login go to the dashboard', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'again@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    await signIn(browser, 'again@example.com', PASSWORD);
    const page = await browser.get(PATHS.login);
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), PATHS.dashboard);
  });

  test('an expired identity signs out and says so at /login/timeout', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'late@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    await signIn(browser, 'late@example.com', PASSWORD);
    const id = sessionIdOf(browser, built);
    const identity = (await built.store.load(id))?.get(SESSION_KEYS.identity) as Record<string, unknown>;
    await built.store.commit(
      id,
      new Map([[SESSION_KEYS.identity, { ...identity, tokenExpiresAt: '2020-01-01T00:00:00+00:00' }]]),
      600,
    );
    const page = await browser.get(PATHS.dashboard);
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), PATHS.loginTimeout);
    assert.equal((await built.store.load(id))?.has(SESSION_KEYS.identity), false, 'identity cleared');
    const timeout = await browser.get(PATHS.loginTimeout);
    assert.equal(timeout.status, 200);
    assert.match(
      html(timeout.text).querySelector('[data-qa="signed-out-notice"]')?.textContent ?? '',
      /We’ve signed you out/,
    );
    assert.ok(html(timeout.text).querySelector('input#password'));
    // Signing in again resumes the page.
    const again = await browser.post(PATHS.login, {
      email: 'late@example.com',
      password: PASSWORD,
      _csrf: csrfTokenFrom(timeout.text),
    });
    assert.equal(again.headers.get('location'), PATHS.dashboard);
  });

  test('a token the backend no longer accepts signs out too', async (t) => {
    const built = await setup(t);
    await built.users.addUser({ email: 'revoked@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    await signIn(browser, 'revoked@example.com', PASSWORD);
    const id = sessionIdOf(browser, built);
    const identity = (await built.store.load(id))?.get(SESSION_KEYS.identity) as Record<string, unknown>;
    await built.store.commit(id, new Map([[SESSION_KEYS.identity, { ...identity, token: 'A'.repeat(43) }]]), 600);
    const page = await browser.get(PATHS.dashboard);
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), PATHS.loginTimeout);
  });
});

describe('throttling', () => {
  test('per source address: 429 with retry-after, and a throttled event', async (t) => {
    const built = await setup(t, { throttle: { perAddress: 3, perAccount: 100, windowSeconds: 600 } });
    const browser = new Browser(built.origin);
    const token = csrfTokenFrom((await browser.get(PATHS.login)).text);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (
          await browser.post(PATHS.login, {
            email: `spray${String(i)}@example.com`,
            password: 'guess guess guess',
            _csrf: token,
          })
        ).status,
      );
    assert.deepEqual(statuses, [400, 400, 400, 429, 429]);
    const last = await browser.post(PATHS.login, { email: 'x@example.com', password: 'y', _csrf: token });
    assert.equal(last.status, 429);
    assert.equal(last.headers.get('retry-after'), '600');
    assert.match(html(last.text).querySelector('h1')?.textContent ?? '', /too many attempts/);
    const events = auditEvents(built).map((e) => `${String(e.event)}:${String(e.reason)}`);
    assert.deepEqual(events, [
      'auth.sign_in.failure:authentication-failed',
      'auth.sign_in.failure:authentication-failed',
      'auth.sign_in.failure:authentication-failed',
      'auth.sign_in.throttled:address',
      'auth.sign_in.throttled:address',
      'auth.sign_in.throttled:address',
    ]);
  });

  test('per account, across addresses; success resets it', async (t) => {
    const built = await setup(t, { throttle: { perAddress: 100, perAccount: 2, windowSeconds: 600 } });
    await built.users.addUser({ email: 'target@example.com', password: PASSWORD, name: NAMED });
    const browser = new Browser(built.origin);
    const token = csrfTokenFrom((await browser.get(PATHS.login)).text);
    assert.equal(
      (await browser.post(PATHS.login, { email: 'target@example.com', password: 'bad bad bad 1', _csrf: token }))
        .status,
      400,
    );
    assert.equal(
      (await browser.post(PATHS.login, { email: 'TARGET@example.com', password: 'bad bad bad 2', _csrf: token }))
        .status,
      400,
    );
    const third = await browser.post(PATHS.login, { email: 'target@example.com', password: PASSWORD, _csrf: token });
    assert.equal(third.status, 429, 'even the right password waits');
    const other = await browser.post(PATHS.login, {
      email: 'someone-else@example.com',
      password: 'bad bad bad 3',
      _csrf: token,
    });
    assert.equal(other.status, 400, 'other accounts are not affected');
    const throttled = auditEvents(built).filter((e) => e.event === 'auth.sign_in.throttled');
    assert.deepEqual(
      throttled.map((e) => [e.reason, e.userHash]),
      [['account', expectedHash('target@example.com')]],
    );
  });
});

describe('audit', () => {
  test('one event per attempt and per sign-out, with hashes, and no secret anywhere in the logs', async (t) => {
    const built = await setup(t);
    const email = 'Secret.Person@Example.com';
    await built.users.addUser({ email, password: PASSWORD, name: { first: 'Secret', last: 'Person' } });
    const browser = new Browser(built.origin);
    const ua = 'TestAgent/1.0 '.padEnd(400, 'x');
    const form = await browser.get(PATHS.login);
    const token = csrfTokenFrom(form.text);
    await browser.post(PATHS.login, { email, password: 'the wrong password', _csrf: token }, { 'user-agent': ua });
    await browser.post(
      PATHS.login,
      { email: 'unknown.person@example.com', password: 'another wrong one', _csrf: token },
      { 'user-agent': ua },
    );
    const ok = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: token }, { 'user-agent': ua });
    assert.equal(ok.status, 303);
    const id = sessionIdOf(browser, built);
    const identity = (await built.store.load(id))?.get(SESSION_KEYS.identity) as { token: string };
    const dash = await browser.get(PATHS.dashboard);
    assert.equal(
      (await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(dash.text) }, { 'user-agent': ua })).status,
      303,
    );

    const events = auditEvents(built);
    assert.deepEqual(
      events.map((e) => e.event),
      ['auth.sign_in.failure', 'auth.sign_in.failure', 'auth.sign_in.success'],
    );
    const requestIds = built.logs
      .filter((l) => l.msg === 'request' && l.path === PATHS.login && l.method === 'POST')
      .map((l) => l.reqId);
    for (const e of events) {
      assert.match(String(e.userHash), /^[0-9a-f]{32}$/);
      assert.equal(e.ip, '127.0.0.1');
      assert.equal(String(e.userAgent).length, 200);
      assert.ok(requestIds.includes(e.reqId), 'reqId is the request id on the access line');
    }
    assert.equal(events[0]?.userHash, expectedHash(email));
    assert.equal(events[2]?.userHash, expectedHash(email));
    assert.equal(events[1]?.userHash, expectedHash('unknown.person@example.com'));

    // Sign-out says who, as sign-in does: the same keyed hash, so one account's lines can be followed.
    const out = signOutEvents(built);
    assert.equal(out.length, 1);
    const [signedOut] = out;
    assert.ok(signedOut);
    assert.equal(signedOut.audit, true);
    assert.equal(signedOut.userHash, expectedHash(email));
    assert.equal(signedOut.signedIn, true);
    assert.equal(signedOut.ip, '127.0.0.1');
    assert.equal(String(signedOut.userAgent).length, 200);
    const logoutIds = built.logs.filter((l) => l.msg === 'request' && l.path === PATHS.logout).map((l) => l.reqId);
    assert.ok(logoutIds.includes(signedOut.reqId), 'reqId is the request id on the access line');
    // No one signed in: no one to name.
    assert.equal((await new Browser(built.origin).post(PATHS.logout, {})).status, 303);
    assert.deepEqual(
      signOutEvents(built)
        .slice(1)
        .map((e) => [e.userHash, e.signedIn]),
      [[null, false]],
    );

    const text = built.logText();
    for (const secret of [
      PASSWORD,
      'the wrong password',
      'another wrong one',
      identity.token,
      email,
      email.toLowerCase(),
      'unknown.person@example.com',
      token,
      id,
    ]) {
      assert.equal(text.includes(secret), false, `log text contains a secret (${secret.slice(0, 4)}…)`);
    }
  });
});

describe('signed-in pages', () => {
  async function signedIn(t: TestContext) {
    const built = await setup(t);
    await built.users.addUser({
      email: 'me@example.com',
      password: PASSWORD,
      name: { title: 'Dr', first: 'Ada', last: 'Lovelace' },
    });
    const browser = new Browser(built.origin);
    await signIn(browser, 'me@example.com', PASSWORD);
    return { built, browser };
  }

  // /user/about-you: test/integration/about-you.integration.test.ts

  test('/session-state: remaining seconds, JSON, read-only', async (t) => {
    const { browser } = await signedIn(t);
    const res = await browser.get(PATHS.sessionState, { 'x-sessionreadonly': 'true', accept: 'application/json' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(res.headers.get('set-cookie'), null);
    const body = JSON.parse(res.text) as { remainingSeconds: number };
    assert.ok(body.remainingSeconds > 4400 && body.remainingSeconds <= 4500, String(body.remainingSeconds));
    assert.deepEqual(Object.keys(body), ['remainingSeconds']);
    // Not signed in: 204 and no body, as the live front (its legacy pages' dialog reloads on 204).
    const anonymous = await new Browser(browser.origin).get(PATHS.sessionState);
    assert.equal(anonymous.status, 204);
    assert.equal(anonymous.text, '');
    assert.equal(anonymous.headers.get('set-cookie'), null);
  });

  test('/session-state never slides the session, even without X-SessionReadOnly', async (t) => {
    let clock = Date.now();
    const store = new MemoryStore({ now: () => clock });
    const built = await setup(t, {}, { sessionStore: store, env: { SESSION_TTL_SECONDS: '600' } });
    await built.users.addUser({ email: 'idle@example.com', password: PASSWORD, name: NAMED });
    const poller = new Browser(built.origin);
    const active = new Browser(built.origin);
    await signIn(poller, 'idle@example.com', PASSWORD);
    await signIn(active, 'idle@example.com', PASSWORD);
    clock += 590_000;
    for (let i = 0; i < 3; i++) assert.equal((await poller.get(PATHS.sessionState)).status, 200);
    assert.equal((await active.get(PATHS.dashboard)).status, 200);
    clock += 20_000;
    assert.equal(await store.load(sessionIdOf(poller, built)), null, 'polling did not keep the session alive');
    assert.notEqual(await store.load(sessionIdOf(active, built)), null, 'a real page did');
    const gone = await poller.get(PATHS.dashboard);
    assert.equal(gone.status, 302);
  });
});
