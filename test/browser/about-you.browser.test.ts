/**
 * "Your details" in Chromium: the first sign-in variant, the errors, and the postcode finder, with JavaScript off and
 * on. Every state is clean (no CSP violation, console error or failed request) and has zero axe violations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const PASSWORD = 'correct horse battery staple 42';

async function signIn(page: Page, email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== PATHS.login), page.locator('[data-qa="sign-in"]').click()]);
}

/** The journey: errors, a postcode search, choosing an address, saving. Returns after the dashboard shows. */
async function journey(page: Page, js: boolean): Promise<void> {
  assert.equal(
    new URL(page.url()).pathname,
    PATHS.aboutYouNew,
    'an incomplete profile is sent to the first-sign-in page',
  );
  await Promise.all([page.waitForLoadState(), page.locator('[data-qa="save"]').click()]);
  await page.locator('[data-qa="error-summary"]').waitFor();
  await page.getByLabel('Title').fill('Dr');
  await page.getByLabel('First names').fill('Ada');
  await page.getByLabel('Last name').fill('Lovelace');
  await page.getByLabel('Day').fill('10');
  await page.getByLabel('Month').fill('12');
  await page.getByLabel('Year').fill('1815');
  await page.locator('#postcode-lookup').fill('SW1H 9AJ');
  // With JavaScript the finder works in place (assets/js/postcode-lookup.mjs): the page is never reloaded.
  await page.evaluate(() => {
    document.body.dataset.before = 'lookup';
  });
  await Promise.all([page.waitForLoadState(), page.locator('[data-qa="find-address"]').click()]);
  await page.locator('#address-choice').waitFor();
  assert.equal((await page.locator('#address-choice-hint').textContent())?.trim(), '3 addresses found');
  await page.locator('#address-choice').selectOption({ index: 1 });
  await Promise.all([page.waitForLoadState(), page.locator('[data-qa="use-address"]').click()]);
  await page.waitForFunction(() => (document.querySelector<HTMLInputElement>('#address-address1')?.value ?? '') !== '');
  assert.equal(await page.locator('#address-address1').inputValue(), 'MINISTRY OF JUSTICE');
  assert.equal(await page.evaluate(() => document.body.dataset.before ?? 'reloaded'), js ? 'lookup' : 'reloaded');
  assert.equal(await page.locator('#name-first').inputValue(), 'Ada', 'what was typed is kept');
  await Promise.all([page.waitForURL((u) => u.pathname === PATHS.dashboard), page.locator('[data-qa="save"]').click()]);
}

describe('your details in Chromium', () => {
  let suite: Suite;
  let noJs: BrowserContext;
  let users: LocalCredentials;
  before(async () => {
    suite = await startSuite();
    users = suite.app.services.credentials as LocalCredentials;
    noJs = await suite.newContext({ javaScriptEnabled: false });
  });
  after(async () => {
    await suite.close();
  });

  for (const [label, js] of [
    ['without JavaScript', false],
    ['with JavaScript', true],
  ] as const) {
    test(`${label}: first sign-in, errors, postcode finder, save; no CSP violation or page problem`, async () => {
      const email = `first-${String(js)}@example.com`;
      await users.addUser({ email, password: PASSWORD, name: null });
      const { page, problems } = await suite.open(PATHS.login, js ? await suite.newContext() : noJs);
      await signIn(page, email);
      await journey(page, js);
      await page.goto(suite.url(PATHS.aboutYou));
      assert.equal(await page.locator('#address-postcode').inputValue(), 'SW1H 9AJ');
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      await page.close();
    });
  }

  const states: [string, (page: Page) => Promise<void>][] = [
    ['the first-sign-in page', () => Promise.resolve()],
    [
      'the errors',
      async (page) => {
        await page.getByLabel('Day').fill('31');
        await page.getByLabel('Month').fill('2');
        await page.getByLabel('Year').fill('1990');
        await page.locator('#address-address1').fill('1 High Street');
        await Promise.all([page.waitForLoadState(), page.locator('[data-qa="save"]').click()]);
        await page.locator('[data-qa="error-summary"]').waitFor();
      },
    ],
    [
      'the list of addresses',
      async (page) => {
        await page.locator('#postcode-lookup').fill('B1 1TF');
        await Promise.all([page.waitForLoadState(), page.locator('[data-qa="find-address"]').click()]);
        await page.locator('#address-choice').waitFor();
      },
    ],
    [
      'no address found',
      async (page) => {
        await page.locator('#postcode-lookup').fill('ZZ9 9ZZ');
        await Promise.all([page.waitForLoadState(), page.locator('[data-qa="find-address"]').click()]);
        await page.locator('[data-qa="lookup-notice"]').waitFor();
      },
    ],
  ];
  // axe's context keeps its cookies from one run to the next: one user, signed in by the first run.
  const AXE_USER = 'axe@example.com';
  const toFirstSignInPage = async (page: Page) => {
    if (new URL(page.url()).pathname === PATHS.login) await signIn(page, AXE_USER);
    else await page.goto(suite.url(PATHS.aboutYouNew));
  };
  for (const [label, prepare] of states) {
    test(`axe finds no WCAG 2.2 A/AA violation on ${label}`, async () => {
      if (label === states[0]?.[0]) await users.addUser({ email: AXE_USER, password: PASSWORD, name: null });
      const violations = await suite.axe(PATHS.login, async (page) => {
        await toFirstSignInPage(page);
        assert.equal(new URL(page.url()).pathname, PATHS.aboutYouNew);
        await prepare(page);
      });
      assert.equal(violations.length, 0, `axe on ${label}:\n${describeViolations(violations)}`);
    });
  }

  test('axe finds no violation on /user/about-you of a complete profile (the account links)', async () => {
    const violations = await suite.axe(PATHS.login, async (page) => {
      await toFirstSignInPage(page);
      await page.getByLabel('Title').fill('Dr');
      await page.getByLabel('First names').fill('Ada');
      await page.getByLabel('Last name').fill('King');
      await Promise.all([
        page.waitForURL((u) => u.pathname === PATHS.dashboard),
        page.locator('[data-qa="save"]').click(),
      ]);
      await page.goto(suite.url(PATHS.aboutYou));
      await page.locator('[data-qa="change-password"]').waitFor();
    });
    assert.equal(violations.length, 0, describeViolations(violations));
  });
});
