/**
 * The GOV.UK shape of lpa-front's pages in Chromium (issue 16, points 6, 7 and 9), at desktop width and at 375 px:
 * signed in, "Your LPAs", "Your details", "Help" and "Sign out" are in the service navigation and nothing else
 * sits above the back link; "Sign out" there is a POST form's button with the CSRF token, and it signs out with
 * JavaScript on and off; no phase banner; the accessibility statement does not scroll sideways; zero axe violations
 * on every page changed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { LEGACY_PATHS, PATHS, SIGNED_OUT_URL } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const EMAIL = 'mary.somerville@example.com';
const PASSWORD = 'correct horse battery staple 44';
const PHONE = { width: 375, height: 800 };

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
}

/** What sits between the header and <main>, in order, and what the navigation holds. */
function layout(page: Page): Promise<{
  beforeMain: string[];
  nav: string[];
  signOutForm: string | null;
  buttonsInMain: string[];
  phaseBanners: number;
}> {
  return page.evaluate(() => {
    const container = document.querySelector('main')?.parentElement;
    const beforeMain: string[] = [];
    for (const child of Array.from(container?.children ?? [])) {
      if (child.tagName === 'MAIN') break;
      beforeMain.push(child.className);
    }
    const button = document.querySelector<HTMLButtonElement>('.govuk-service-navigation [data-qa="sign-out"]');
    const form = button?.form ?? null;
    return {
      beforeMain,
      nav: Array.from(document.querySelectorAll('.govuk-service-navigation__item')).map((li) => li.textContent.trim()),
      signOutForm:
        form === null
          ? null
          : `${form.method} ${new URL(form.action).pathname} ${(form.querySelector<HTMLInputElement>('input[name="_csrf"]')?.value ?? '') === '' ? 'no-token' : 'token'}`,
      // The cookie banner (ADR 0037) is not the page's content: its buttons are left out.
      buttonsInMain: Array.from(
        document.querySelectorAll(
          'main .govuk-button, main ~ * .govuk-button, .govuk-width-container > * .govuk-button',
        ),
      )
        .filter((b) => b.closest('.govuk-cookie-banner') === null)
        .map((b) => b.textContent.trim()),
      phaseBanners: document.querySelectorAll('.govuk-phase-banner').length,
    };
  });
}

describe('signed-in layout, navigation and small fixes in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite();
    const users = suite.app.services.credentials as LocalCredentials;
    await users.addUser({ email: EMAIL, password: PASSWORD, name: { first: 'Mary', last: 'Somerville' } });
  });
  after(async () => {
    await suite.close();
  });

  test('no phase banner on the public pages (the live service shows none)', async () => {
    for (const path of [PATHS.home, PATHS.cookies, PATHS.accessibility]) {
      const { page } = await suite.open(path);
      assert.equal((await layout(page)).phaseBanners, 0, path);
      await page.close();
    }
  });

  test(
    'signed in: the service navigation has the four items, nothing between it and the ' +
      'content, no Sign out button in the content',
    async () => {
      const ctx = await suite.newContext();
      const { page, problems } = await suite.open(PATHS.login, ctx);
      await signIn(page);
      const dashboard = await layout(page);
      assert.deepEqual(dashboard.nav, ['Your LPAs', 'Your details', 'Help', 'Sign out']);
      assert.equal(dashboard.signOutForm, 'post /logout token', 'Sign out submits a POST form with the CSRF token');
      assert.deepEqual(
        dashboard.buttonsInMain,
        ['Start now'],
        'the dashboard (no LPAs yet) offers one primary action and no Sign out button',
      );
      assert.equal(await page.locator('[data-qa="make-a-new-lpa"]').getAttribute('href'), LEGACY_PATHS.createLpa);
      assert.equal(
        await page.locator('[data-qa="make-a-new-lpa"]').getAttribute('class'),
        'govuk-button',
        'primary, not secondary',
      );
      assert.equal(
        await page.locator('[data-qa="nav-help"]').getAttribute('href'),
        `${LEGACY_PATHS.guide}#topic-how-to-make-an-lpa-online`,
      );
      assert.equal(
        await page
          .locator('.govuk-service-navigation__item--active')
          .textContent()
          .then((t) => t?.trim()),
        'Your LPAs',
      );

      await page.goto(suite.url(PATHS.aboutYou));
      const aboutYou = await layout(page);
      // As the live page: no back link (the form ends with Cancel), so nothing stands between the navigation and the
      // content.
      assert.deepEqual(aboutYou.beforeMain, []);
      assert.deepEqual(aboutYou.buttonsInMain, ['Find UK address', 'Save and continue', 'Cancel']);
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      await ctx.close();
    },
  );

  test('at 375 px, Sign out is in the navigation menu and signs out, with JavaScript on and off', async () => {
    for (const javaScriptEnabled of [true, false]) {
      const ctx = await suite.newContext({ viewport: PHONE, javaScriptEnabled });
      const { page, problems } = await suite.open(PATHS.login, ctx);
      await signIn(page);
      const signOut = page.locator('[data-qa="sign-out"]');
      if (javaScriptEnabled) {
        assert.equal(await signOut.isVisible(), false, 'collapsed into the Menu button on a phone');
        await page.getByRole('button', { name: 'Menu' }).click();
      }
      assert.ok(await signOut.isVisible(), `Sign out visible (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`);
      const box = await signOut.boundingBox();
      assert.ok(box !== null && box.height < 40, 'styled as a link, not a full-width button');
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      const [response] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === PATHS.logout),
        signOut.click(),
      ]);
      assert.equal(response.status(), 303);
      assert.equal(response.headers().location, SIGNED_OUT_URL);
      const again = await ctx.newPage();
      await again.goto(suite.url(PATHS.dashboard));
      assert.equal(new URL(again.url()).pathname, PATHS.login, 'signed out');
      await ctx.close();
    }
  });

  test('at 375 px the accessibility statement does not scroll sideways', async () => {
    const ctx = await suite.newContext({ viewport: PHONE });
    const { page } = await suite.open(PATHS.accessibility, ctx);
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    assert.ok(
      widths.scroll <= widths.client,
      `page is ${String(widths.scroll)} px wide in a ${String(widths.client)} px window`,
    );
    await ctx.close();
  });

  test('zero axe violations on every changed page, signed out and signed in, desktop and 375 px', async () => {
    const pages = [PATHS.home, PATHS.cookies, PATHS.accessibility, PATHS.signup];
    for (const path of pages) {
      const violations = await suite.axe(path);
      assert.equal(violations.length, 0, `${path}:\n${describeViolations(violations)}`);
    }
    for (const path of [PATHS.dashboard, PATHS.aboutYou, PATHS.home]) {
      const violations = await suite.axe(PATHS.login, async (page) => {
        if (new URL(page.url()).pathname === PATHS.login) await signIn(page);
        await page.goto(suite.url(path));
        await page.setViewportSize(PHONE);
      });
      assert.equal(violations.length, 0, `${path} signed in at 375 px:\n${describeViolations(violations)}`);
    }
  });
});
