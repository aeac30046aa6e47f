/**
 * GET /logout in Chromium (issue 16.1, ADR 0020), with the fetch metadata the browser itself sends: the legacy
 * pages' "Sign Out" link (its exact markup, put on a page of this origin) signs out; the same link on another site
 * shows the confirm page, which axe finds clean, and its button signs out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { PATHS, SIGNED_OUT_URL } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { Suite } from './browser-helper.ts';
import { describeViolations, startSuite } from './browser-helper.ts';

const EMAIL = 'sign.out@example.com';
const PASSWORD = 'correct horse battery staple 42';
// A named user: one without a name is sent to /user/about-you/new first, as on the live service.
const NAMED = { first: 'Sam', last: 'Tester' };

async function signIn(page: Page, origin: string): Promise<void> {
  await page.goto(origin + PATHS.login);
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
}

/**
 * The legacy nav's link (service-front nav.twig: `<a class="govuk-service-navigation__link" href="/logout"
 * data-cy="sign-out">Sign Out</a>`), added to the page the browser shows, so that following it is a real click.
 */
async function addLegacyLink(page: Page, href: string): Promise<void> {
  await page.evaluate((target) => {
    const a = document.createElement('a');
    a.className = 'govuk-service-navigation__link';
    a.setAttribute('href', target);
    a.setAttribute('data-cy', 'sign-out');
    a.textContent = 'Sign Out';
    document.body.prepend(a);
  }, href);
}

/** A page of another site: the same app reached as `localhost` (PUBLIC_ORIGIN is 127.0.0.1), with the link on it. */
async function onAnotherSite(page: Page, suite: Suite): Promise<void> {
  const other = new URL(suite.app.origin);
  other.hostname = 'localhost';
  await page.goto(new URL(PATHS.accessibility, other).href);
  await addLegacyLink(page, suite.url(PATHS.logout));
  await Promise.all([
    page.waitForURL((u) => u.origin === suite.app.origin && u.pathname === PATHS.logout),
    page.locator('[data-cy="sign-out"]').click(),
  ]);
}

describe('GET /logout in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite();
    await (suite.app.services.credentials as LocalCredentials).addUser({
      email: EMAIL,
      password: PASSWORD,
      name: NAMED,
    });
  });
  after(async () => {
    await suite.close();
  });

  test('the legacy "Sign Out" link on a page of this origin signs out', async () => {
    const ctx = await suite.newContext();
    const page = await ctx.newPage();
    await signIn(page, suite.app.origin);
    await addLegacyLink(page, PATHS.logout);
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.logout),
      page.locator('[data-cy="sign-out"]').click(),
    ]);
    assert.equal(
      await response.request().headerValue('sec-fetch-site'),
      'same-origin',
      'what Chromium sends for this link',
    );
    assert.equal(response.status(), 302);
    assert.equal(response.headers().location, SIGNED_OUT_URL);
    const cookies = await ctx.cookies(suite.app.origin);
    assert.equal(
      cookies.filter((c) => c.name === suite.app.config.sessionCookieName).length,
      0,
      'session cookie removed',
    );
    const again = await ctx.newPage();
    await again.goto(suite.url(PATHS.dashboard));
    assert.equal(new URL(again.url()).pathname, PATHS.login, 'signed out');
  });

  test('the same link on another site asks first; the user stays signed in until they press the button', async () => {
    const ctx = await suite.newContext();
    const page = await ctx.newPage();
    await signIn(page, suite.app.origin);
    const requested = page.waitForRequest((r) => new URL(r.url()).pathname === PATHS.logout);
    await onAnotherSite(page, suite);
    assert.equal(await (await requested).headerValue('sec-fetch-site'), 'cross-site');
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Do you want to sign out?');

    const check = await ctx.newPage();
    await check.goto(suite.url(PATHS.dashboard));
    assert.equal(new URL(check.url()).pathname, PATHS.dashboard, 'still signed in');
    await check.close();

    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.logout && r.request().method() === 'POST'),
      page.locator('[data-qa="confirm-sign-out"]').click(),
    ]);
    assert.equal(response.status(), 303);
    assert.equal(response.headers().location, SIGNED_OUT_URL);
    const cookies = await ctx.cookies(suite.app.origin);
    assert.equal(cookies.filter((c) => c.name === suite.app.config.sessionCookieName).length, 0);
  });

  test('axe finds no WCAG 2.2 A/AA violation on the confirm page', async () => {
    const violations = await suite.axe(PATHS.login, async (page) => {
      await signIn(page, suite.app.origin);
      await onAnotherSite(page, suite);
      assert.equal((await page.locator('h1').textContent())?.trim(), 'Do you want to sign out?');
    });
    assert.equal(violations.length, 0, `axe on the confirm page:\n${describeViolations(violations)}`);
  });
});
