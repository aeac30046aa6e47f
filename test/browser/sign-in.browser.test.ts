/**
 * Sign-in, the signed-in pages and sign-out in Chromium: each page is clean (no CSP violation, console error or
 * failed request; zero axe violations), GOV.UK Frontend runs, and the journey works with JavaScript on and off.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { PATHS, SIGNED_OUT_URL } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const EMAIL = 'ada.lovelace@example.com';
const PASSWORD = 'correct horse battery staple 42';

/**
 * Signs out and checks the app's answer: 303 to GOV.UK's "done" page, as on the live service. The browser then
 * fails to reach GOV.UK at once (the helper's resolver rules keep every test on this machine), so page problems
 * are counted before this step.
 */
async function signOut(page: Page): Promise<void> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.logout),
    page.locator('[data-qa="sign-out"]').click(),
  ]);
  assert.equal(response.status(), 303);
  assert.equal(response.headers().location, SIGNED_OUT_URL);
}

async function signIn(page: Page, origin: string): Promise<void> {
  if (new URL(page.url()).pathname !== PATHS.login) await page.goto(origin + PATHS.login);
  if (new URL(page.url()).pathname !== PATHS.login) return; // already signed in: /login moved on
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
}

describe('sign-in and signed-in pages in Chromium', () => {
  let suite: Suite;
  let noJs: BrowserContext;
  before(async () => {
    suite = await startSuite();
    const users = suite.app.services.credentials as LocalCredentials;
    await users.addUser({ email: EMAIL, password: PASSWORD, name: { first: 'Ada', last: 'Lovelace' } });
    noJs = await suite.newContext({ javaScriptEnabled: false });
  });
  after(async () => {
    await suite.close();
  });

  test('a protected page sends an anonymous visitor to sign in, and back after it', async () => {
    const { page, problems } = await suite.open(PATHS.aboutYou);
    assert.equal(new URL(page.url()).pathname, PATHS.login);
    await page.getByLabel('Email address').fill(EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === PATHS.aboutYou),
      page.locator('[data-qa="sign-in"]').click(),
    ]);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Your details');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('with JavaScript: sign in, dashboard, change name, sign out; no CSP violation anywhere', async () => {
    const ctx = await suite.newContext();
    const { page, problems } = await suite.open(PATHS.login, ctx);
    const bodyClass = (await page.locator('body').getAttribute('class')) ?? '';
    assert.match(
      bodyClass,
      /\bjs-enabled\b.*\bgovuk-frontend-supported\b|\bgovuk-frontend-supported\b.*\bjs-enabled\b/,
    );
    await signIn(page, suite.app.origin);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Your LPAs');

    await page.goto(suite.url(PATHS.aboutYou));
    assert.equal(await page.getByLabel('First names').inputValue(), 'Ada');
    await page.getByLabel('First names').fill('Augusta Ada');
    await Promise.all([
      page.waitForURL((u) => u.pathname === PATHS.dashboard),
      page.locator('[data-qa="save"]').click(),
    ]);
    await page.locator('[data-qa="success-notice"]').waitFor();
    await page.goto(suite.url(PATHS.aboutYou));
    assert.equal(await page.getByLabel('First names').inputValue(), 'Augusta Ada');

    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await signOut(page);
    const after = await ctx.cookies(suite.app.origin);
    assert.equal(
      after.filter((c) => c.name === suite.app.config.sessionCookieName).length,
      0,
      'session cookie removed on sign-out',
    );
    const again = await ctx.newPage();
    await again.goto(suite.url(PATHS.dashboard));
    assert.equal(new URL(again.url()).pathname, PATHS.login, 'signed out: the dashboard asks to sign in again');
    await again.close();
    await page.close();
  });

  test('without JavaScript: sign in and sign out work', async () => {
    const { page, problems } = await suite.open(PATHS.login, noJs);
    await signIn(page, suite.app.origin);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Your LPAs');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await signOut(page);
    const cookies = await noJs.cookies(suite.app.origin);
    assert.equal(cookies.filter((c) => c.name === suite.app.config.sessionCookieName).length, 0);
    await page.close();
  });

  test('a wrong password shows the error summary, focused, without saying whether the account exists', async () => {
    const fresh = await suite.newContext();
    const { page, problems } = await suite.open(PATHS.login, fresh);
    await page.getByLabel('Email address').fill('nobody@example.com');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.locator('[data-qa="sign-in"]').click();
    await page.locator('[data-qa="error-summary"]').waitFor();
    await page.waitForFunction(() => document.activeElement?.classList.contains('govuk-error-summary') === true);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  for (const path of [PATHS.login, PATHS.dashboard, PATHS.aboutYou]) {
    test(`axe finds no WCAG 2.2 A/AA violation on ${path}`, async () => {
      const violations = await suite.axe(PATHS.login, async (page) => {
        if (path !== PATHS.login) {
          await signIn(page, suite.app.origin);
          if (path !== PATHS.dashboard) await page.goto(suite.url(path));
        }
      });
      assert.equal(violations.length, 0, `axe on ${path}:\n${describeViolations(violations)}`);
    });
  }
});
