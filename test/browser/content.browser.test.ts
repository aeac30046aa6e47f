/**
 * Every public content page in Chromium: no CSP violation, no console or page error, GOV.UK Frontend's
 * JavaScript initialised (js-enabled, govuk-frontend-supported, the skip link enhanced and working), then
 * zero axe-core WCAG 2.2 A/AA violations. One browser for the file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTENT_PAGES } from '../../src/features/content/content-routes.ts';
import { PATHS } from '../../src/paths.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';
import { waitFor } from '../helpers/services.ts';

const SCREENSHOT = '/tmp/lpa-start-page.png';

describe('content pages in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite();
  });
  after(async () => {
    await suite.close();
  });

  test('the problem detectors see a deliberate CSP violation (so a clean page is really clean)', async () => {
    const { page, problems } = await suite.open(PATHS.cookies);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    // Run from the test harness, not the page: an image from another origin (img-src 'self') and an HTML
    // sink (Trusted Types). Both stay on loopback and are blocked before any request leaves.
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.src = 'http://127.0.0.1:9/csp-canary.png';
      document.body.append(img);
      try {
        // eslint-disable-next-line @microsoft/sdl/no-inner-html -- the deliberate Trusted Types violation under test
        document.body.insertAdjacentHTML('beforeend', '<b>canary</b>');
      } catch {
        // Trusted Types refuses the string: that is the violation we want to see.
      }
    });
    // Each detector hears on its own schedule (console, network, the Reporting API queue): wait until all four have,
    // with a deadline, rather than a fixed 200 ms that a loaded machine can overrun.
    const detected = (): Record<string, boolean> => ({
      'console img-src': problems.csp.some((p) => p.startsWith('console:') && p.includes('img-src')),
      'blocked request': problems.csp.some((p) => p.startsWith('blocked:') && p.includes('csp-canary')),
      'Reporting API report': problems.csp.some((p) => p.startsWith('report:') && p.includes('csp-canary')),
      'Trusted Types': problems.csp.some((p) => p.includes('TrustedHTML')),
    });
    await waitFor(() => Object.values(detected()).every(Boolean), {
      timeoutMs: 15_000,
      what: 'every detector to see the violations',
    }).catch(() => undefined);
    assert.deepEqual(
      detected(),
      {
        'console img-src': true,
        'blocked request': true,
        'Reporting API report': true,
        'Trusted Types': true,
      },
      describeProblems(problems),
    );
    await page.close();
  });

  test('axe reports a deliberate violation (so zero really means zero)', async () => {
    const violations = await suite.axe(PATHS.cookies, async (page) => {
      await page.evaluate(() => {
        const img = document.createElement('img');
        img.src = '/assets/no-such-image.png';
        document.querySelector('main')?.append(img);
      });
    });
    assert.deepEqual(
      violations.map((v) => v.id),
      ['image-alt'],
    );
    assert.match(
      describeViolations(violations),
      /\[critical\] image-alt: .*\n.*dequeuniversity.*\n {2}- .*img\n +Fix any of the following/,
    );
  });

  for (const path of [...new Set(CONTENT_PAGES.map((p) => p.path))]) {
    test(`${path}: no CSP violation or error, GOV.UK Frontend initialised, zero axe violations`, async () => {
      const { page, response, problems } = await suite.open(path);
      assert.equal(response?.status(), 200);
      assert.equal(await page.locator('h1').count(), 1);

      const bodyClass = (await page.locator('body').getAttribute('class')) ?? '';
      assert.match(bodyClass, /\bjs-enabled\b/);
      assert.match(bodyClass, /\bgovuk-frontend-supported\b/);
      // GOV.UK Frontend marks each component it initialised; the skip link is on every page.
      const skipLink = page.locator('a.govuk-skip-link');
      assert.equal(await skipLink.getAttribute('data-govuk-skip-link-init'), '');
      assert.equal(
        await page
          .locator('[data-module="govuk-service-navigation"]')
          .getAttribute('data-govuk-service-navigation-init'),
        '',
      );
      // ...and it works: the first Tab reaches it, Enter moves focus to the main content (the enhancement sets
      // tabindex).
      await page.keyboard.press('Tab');
      // Before a choice the cookie banner comes first, as GOV.UK places it (ADR 0037): Accept, Reject, View cookies.
      if ((await page.locator('[data-qa="cookie-banner"]').count()) > 0) {
        assert.equal(
          await page.evaluate(() => document.activeElement?.getAttribute('data-qa')),
          'cookie-banner-accept',
        );
        for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
      }
      assert.equal(await page.evaluate(() => document.activeElement?.className), 'govuk-skip-link');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.id === 'main-content');

      await page.waitForTimeout(50);
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      if (path === PATHS.home) {
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      }
      await page.close();

      // Only now, with CSP checked, axe (which trips CSP) in its own CSP-bypassing context.
      const violations = await suite.axe(path);
      assert.equal(
        violations.length,
        0,
        `axe found ${String(violations.length)} violation(s) ` + `on ${path}:\n${describeViolations(violations)}`,
      );
    });
  }

  test('the footer links to every content page, and each is reachable by clicking', async () => {
    const { page, problems } = await suite.open(PATHS.home);
    for (const [name, path] of [
      ['Accessibility statement', PATHS.accessibility],
      ['Cookies', PATHS.cookies],
      ['Privacy notice', PATHS.privacy],
      ['Terms of use', PATHS.terms],
      ['Contact us', PATHS.contact],
    ] as const) {
      await page.locator('.govuk-footer').getByRole('link', { name, exact: true }).click();
      await page.waitForURL(suite.url(path));
      assert.equal(await page.locator('h1').count(), 1);
    }
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('with JavaScript off, the pages still render and no script runs', async () => {
    const noJs = await suite.newContext({ javaScriptEnabled: false });
    for (const path of [PATHS.home, PATHS.cookies, PATHS.contact]) {
      const { page, response, problems } = await suite.open(path, noJs);
      assert.equal(response?.status(), 200);
      assert.doesNotMatch((await page.locator('body').getAttribute('class')) ?? '', /js-enabled/);
      assert.equal(await page.locator('h1').count(), 1);
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      await page.close();
    }
  });

  test('no page produced a CSP report other than the deliberate one', () => {
    const unexpected = suite.cspReportLines().filter((l) => !JSON.stringify(l).includes('csp-canary'));
    assert.deepEqual(unexpected, []);
  });
});
