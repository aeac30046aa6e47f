/**
 * Issue 21 (ADR 0037) in Chromium. Every request to a Google host is intercepted, recorded and answered locally
 * (the machine has no internet): before a choice and after a rejection there are none and no `_ga` cookie; after
 * accepting, without JavaScript or with it, gtag.js is requested by a script carrying the response's nonce, and a
 * stand-in for it that uses the same sinks (a script URL through the Trusted Types default policy, a beacon, the
 * `_ga` cookies) runs with no CSP violation and no console error; withdrawing removes `_ga*`; axe finds nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite, watch } from './browser-helper.ts';
import { waitFor } from '../helpers/services.ts';

const GOOGLE_DOMAINS = ['googletagmanager.com', 'google-analytics.com', 'google.com', 'doubleclick.net', 'gstatic.com'];
const GOOGLE = (url: URL): boolean => GOOGLE_DOMAINS.some((d) => url.hostname === d || url.hostname.endsWith(`.${d}`));

/** What gtag.js does that matters here, through the same sinks: no eval, no HTML. */
const STAND_IN = `(function () {
  var config = (window.dataLayer || []).filter(function (a) { return a[0] === 'config'; })[0];
  var options = config ? config[2] : {};
  window.__gtagStandIn = { id: config && config[1], options: options };
  document.cookie = '_ga=GA1.1.123.456; path=/; max-age=63072000; domain=' + options.cookie_domain;
  document.cookie = '_ga_TEST1234=GS1.1.1; path=/; max-age=63072000; domain=' + options.cookie_domain;
  var s = document.createElement('script');
  s.src = 'https://www.googletagmanager.com/gtag/destination?id=G-TEST1234';
  document.head.appendChild(s);
  navigator.sendBeacon('https://region1.google-analytics.com/g/collect?v=2&tid=G-TEST1234&dl=' + encodeURIComponent(options.page_location));
})();`;

/** Intercepts every Google request of the context: recorded, answered locally. */
async function interceptGoogle(context: BrowserContext): Promise<string[]> {
  const seen: string[] = [];
  await context.route(GOOGLE, async (route) => {
    const url = route.request().url();
    seen.push(url);
    if (url.includes('/gtag/js')) await route.fulfill({ status: 200, contentType: 'text/javascript', body: STAND_IN });
    else if (url.includes('/gtag/destination'))
      await route.fulfill({ status: 200, contentType: 'text/javascript', body: '' });
    else await route.fulfill({ status: 204 });
  });
  return seen;
}

async function gaCookies(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name).filter((n) => n.startsWith('_ga'));
}

function cspNonce(header: string | undefined): string {
  return /'nonce-([^']+)'/.exec(header ?? '')?.[1] ?? 'none';
}

describe('cookie consent and GA4 in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite({ GA_MEASUREMENT_ID: 'G-TEST1234', GA_COOKIE_DOMAIN: '127.0.0.1' });
  });
  after(async () => {
    await suite.close();
  });

  test('no choice, then rejected without JavaScript: not one request to Google, no _ga cookie', async () => {
    const ctx = await suite.newContext();
    const google = await interceptGoogle(ctx);
    const { page, problems } = await suite.open(PATHS.accessibility, ctx);
    assert.ok(await page.locator('[data-qa="cookie-banner-question"]').isVisible());
    await page.goto(suite.url(PATHS.terms));
    assert.equal(problemCount(problems), 0, describeProblems(problems));

    const noJs = await suite.newContext({ javaScriptEnabled: false });
    const noJsGoogle = await interceptGoogle(noJs);
    const p2 = await noJs.newPage();
    await p2.goto(suite.url(PATHS.accessibility));
    await p2.locator('[data-qa="cookie-banner-reject"]').click();
    await p2.waitForURL(suite.url(PATHS.accessibility));
    assert.ok(await p2.locator('[data-qa="cookie-banner-rejected"]').isVisible(), 'the confirmation, on the same page');
    await p2.locator('[data-qa="cookie-banner-hide"]').click();
    // Hide works without JavaScript: the link reloads the page, which no longer has the banner.
    await p2.locator('[data-qa="cookie-banner"]').waitFor({ state: 'detached', timeout: 5000 });
    await p2.waitForLoadState('load');
    // The rejected choice, now with JavaScript on.
    const js = await suite.newContext();
    const jsGoogle = await interceptGoogle(js);
    await js.addCookies(await noJs.cookies());
    const opened = await suite.open(PATHS.home, js);
    await opened.page.goto(suite.url(PATHS.terms));
    assert.equal(problemCount(opened.problems), 0, describeProblems(opened.problems));
    assert.deepEqual([...google, ...noJsGoogle, ...jsGoogle], []);
    for (const c of [ctx, noJs, js]) assert.deepEqual(await gaCookies(c), []);
  });

  /** The checks on a page that loads GA4: the loader carries the nonce, the stand-in ran, nothing was blocked. */
  async function assertGaLoaded(page: Page, google: string[], nonce: string): Promise<void> {
    await page.waitForFunction(() => (window as unknown as { __gtagStandIn?: unknown }).__gtagStandIn !== undefined);
    // The stand-in's script and beacon reach the route handler through Playwright, later on a loaded machine: wait
    // for both (with a deadline), and still 200 ms at least so a late violation is seen; the assertions below fail
    // if either request never comes.
    const both = (): boolean =>
      google.some((u) => u.includes('/gtag/destination')) && google.some((u) => u.includes('/g/collect'));
    await Promise.all([
      page.waitForTimeout(200),
      waitFor(both, { timeoutMs: 15_000, what: "the stand-in's script and beacon" }).catch(() => undefined),
    ]);
    const loader = page.locator('script[src^="https://www.googletagmanager.com/gtag/js"]');
    assert.equal(await loader.evaluate((s: HTMLScriptElement) => s.nonce), nonce);
    assert.ok(
      google.some((u) => u === 'https://www.googletagmanager.com/gtag/js?id=G-TEST1234'),
      google.join('\n'),
    );
    assert.ok(
      google.some((u) => u.startsWith('https://www.googletagmanager.com/gtag/destination')),
      'a script URL through the default policy',
    );
    const beacon = google.find((u) => u.includes('/g/collect'));
    assert.ok(beacon !== undefined, 'the beacon');
    assert.equal(
      new URL(beacon).searchParams.get('dl'),
      `${suite.app.origin}${PATHS.accessibility}`,
      'no query string sent',
    );
    const standIn = await page.evaluate(
      () => (window as unknown as { __gtagStandIn: { id: string; options: Record<string, unknown> } }).__gtagStandIn,
    );
    assert.equal(standIn.id, 'G-TEST1234');
    assert.equal(standIn.options.allow_google_signals, false);
    assert.equal(standIn.options.allow_ad_personalization_signals, false);
    assert.equal(standIn.options.cookie_domain, '127.0.0.1');
  }

  test(
    'accepted without JavaScript: GA4 loads on the next pages, with the nonce, no violation; ' +
      'withdrawing removes _ga*',
    async () => {
      const noJs = await suite.newContext({ javaScriptEnabled: false });
      const noJsGoogle = await interceptGoogle(noJs);
      const p = await noJs.newPage();
      await p.goto(suite.url(PATHS.home));
      await p.locator('[data-qa="cookie-banner-accept"]').click();
      await p.waitForURL(suite.url(PATHS.home));
      assert.ok(await p.locator('[data-qa="cookie-banner-accepted"]').isVisible());
      assert.deepEqual(noJsGoogle, [], 'no script runs without JavaScript');

      const js = await suite.newContext();
      const google = await interceptGoogle(js);
      await js.addCookies(await noJs.cookies());
      const page = await js.newPage();
      const problems = await watch(js, page);
      const response = await page.goto(`${suite.url(PATHS.accessibility)}?token=secret-in-query`);
      await assertGaLoaded(page, google, cspNonce(response?.headers()['content-security-policy']));
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      assert.ok(
        google.every((u) => !u.includes('secret-in-query')),
        'the query string never reaches Google',
      );
      assert.deepEqual((await gaCookies(js)).sort(), ['_ga', '_ga_TEST1234']);

      // Withdraw on /cookies, with the plain form.
      await page.goto(suite.url(PATHS.cookies));
      await page.locator('[data-qa="usage-no"]').check();
      await page.locator('[data-qa="cookie-settings-save"]').click();
      await page.waitForURL(suite.url(PATHS.cookies));
      assert.ok(await page.locator('[data-qa="cookies-saved"]').isVisible());
      assert.deepEqual(await gaCookies(js), [], 'withdrawing removes _ga*');
      const before = google.length;
      await page.goto(suite.url(PATHS.terms));
      await page.waitForTimeout(200);
      assert.equal(google.length, before, 'no more requests to Google');
      assert.equal(problemCount(problems), 0, describeProblems(problems));
    },
  );

  test('accepted with JavaScript: no reload, the confirmation focused, GA4 from the next page', async () => {
    const js = await suite.newContext();
    const google = await interceptGoogle(js);
    const { page, problems } = await suite.open(PATHS.accessibility, js);
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    await page.locator('[data-qa="cookie-banner-accept"]').click();
    await page.locator('[data-qa="cookie-banner-accepted"]').waitFor({ state: 'visible' });
    assert.equal(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
      true,
      'no reload',
    );
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-qa')), 'cookie-banner-accepted');
    assert.equal(await page.locator('[data-qa="cookie-banner-question"]').isVisible(), false);
    await page.locator('[data-qa="cookie-banner-accepted"] [data-qa="cookie-banner-hide"]').click();
    assert.equal(await page.locator('[data-qa="cookie-banner"]').isVisible(), false);
    assert.deepEqual(google, [], 'this response was not consented: nothing loaded');
    const response = await page.goto(suite.url(PATHS.accessibility));
    await assertGaLoaded(page, google, cspNonce(response?.headers()['content-security-policy']));
    assert.equal(await page.locator('[data-qa="cookie-banner"]').count(), 0, 'no banner, no confirmation again');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
  });

  test('axe: the banner, both confirmations and /cookies in every state', async () => {
    const states: [string, string, ((p: Page) => Promise<void>) | undefined][] = [
      ['/cookies, no choice', PATHS.cookies, undefined],
      ['banner', PATHS.home, undefined],
      [
        'rejected confirmation (JavaScript)',
        PATHS.home,
        async (p) => {
          await p.locator('[data-qa="cookie-banner-reject"]').click();
          await p.locator('[data-qa="cookie-banner-rejected"]').waitFor({ state: 'visible' });
        },
      ],
      [
        '/cookies, saved (no)',
        PATHS.cookies,
        async (p) => {
          await p.locator('[data-qa="cookie-settings-save"]').click();
          await p.locator('[data-qa="cookies-saved"]').waitFor();
        },
      ],
      [
        '/cookies, chosen yes, saved',
        PATHS.cookies,
        async (p) => {
          await p.locator('[data-qa="usage-yes"]').check();
          await p.locator('[data-qa="cookie-settings-save"]').click();
          await p.locator('[data-qa="cookies-saved"]').waitFor();
        },
      ],
    ];
    for (const [name, path, prepare] of states) {
      const violations = await suite.axe(path, prepare);
      assert.equal(violations.length, 0, `${name}:\n${describeViolations(violations)}`);
    }
    // The no-JavaScript confirmation, as the page after the POST shows it: form.submit() fires no submit event.
    const violations = await suite.axe(PATHS.terms, async (page) => {
      await page.context().clearCookies();
      await page.goto(suite.url(PATHS.terms));
      await page.evaluate(() => {
        const form = document.querySelector('form[data-app-cookie-form]');
        if (!(form instanceof HTMLFormElement)) throw new Error('no banner form');
        const field = document.createElement('input');
        field.type = 'hidden';
        field.name = 'analytics';
        field.value = 'accept';
        form.append(field);
        form.submit();
      });
      await page.waitForURL(suite.url(PATHS.terms));
      await page.locator('[data-qa="cookie-banner-accepted"]').waitFor();
    });
    assert.equal(violations.length, 0, `accepted confirmation:\n${describeViolations(violations)}`);
  });
});
