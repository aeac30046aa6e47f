/**
 * The feedback form in Chromium: the page is clean (CSP, console, axe), GOV.UK Frontend's character count
 * is live, and the journey works with JavaScript on and off: a valid submission reaches the thanks page,
 * an empty one shows the error summary (focused, with JavaScript) whose links lead to the fields, and an otherwise
 * valid one sent too soon is answered with guidance whose link focuses the Send feedback button (issue 16 point 8).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import { MESSAGES as MESSAGE_KEYS } from '../../src/features/feedback/feedback-schema.ts';
import { english } from '../helpers/words.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const MESSAGES = english(MESSAGE_KEYS);

const SEND = '[data-qa="send-feedback"]';
const SUMMARY = '.govuk-error-summary';

async function fillValid(page: Page): Promise<void> {
  await page.getByRole('radio', { name: 'Very satisfied', exact: true }).check();
  await page
    .getByRole('textbox', { name: 'How could we improve this service?' })
    .fill('The start page was clear. <script>alert(1)</script>');
}

async function sendEmpty(page: Page): Promise<void> {
  await Promise.all([page.waitForURL(/\/send-feedback$/), page.locator(SEND).click()]);
  await page.locator(SUMMARY).waitFor();
}

describe('the feedback form in Chromium', () => {
  let suite: Suite;
  let noJs: BrowserContext;
  before(async () => {
    suite = await startSuite();
    noJs = await suite.newContext({ javaScriptEnabled: false });
  });
  after(async () => {
    await suite.close();
  });

  test('/send-feedback: no CSP violation or error, the character count is live, zero axe violations', async () => {
    const { page, response, problems } = await suite.open(PATHS.feedback);
    assert.equal(response?.status(), 200);
    const bodyClass = (await page.locator('body').getAttribute('class')) ?? '';
    assert.match(bodyClass, /\bjs-enabled\b/);
    assert.match(bodyClass, /\bgovuk-frontend-supported\b/);
    assert.equal(
      await page.locator('[data-module="govuk-character-count"]').getAttribute('data-govuk-character-count-init'),
      '',
    );
    // The enhancement adds a live status; typing updates it.
    const status = page.locator('.govuk-character-count__status');
    await status.waitFor();
    assert.match((await status.textContent()) ?? '', /You have 2,000 characters remaining/);
    await page.locator('#details').fill('Hello');
    await page.waitForFunction(() =>
      (document.querySelector('.govuk-character-count__status')?.textContent ?? '').includes(
        'You have 1,995 characters remaining',
      ),
    );
    assert.equal(await page.locator('.govuk-character-count__sr-status').getAttribute('aria-live'), 'polite');
    await page.waitForTimeout(50);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();

    const violations = await suite.axe(PATHS.feedback);
    assert.equal(violations.length, 0, `axe on ${PATHS.feedback}:\n${describeViolations(violations)}`);
  });

  test('with JavaScript: a valid submission reaches the thanks page', async () => {
    const { page, problems } = await suite.open(PATHS.feedback);
    await fillValid(page);
    await Promise.all([page.waitForURL((url) => url.pathname === PATHS.feedbackThanks), page.locator(SEND).click()]);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Thank you for your feedback');
    const continueHref = await page.locator('[data-qa="continue"]').getAttribute('href');
    assert.match(continueHref ?? '', /^\/(?!\/)/, 'Continue points to a path on this site');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('with JavaScript: an empty submission focuses the error summary, whose links move to the fields', async () => {
    const { page, problems } = await suite.open(PATHS.feedback);
    await sendEmpty(page);
    assert.match(await page.title(), /^Error: /);
    await page.waitForFunction(() => document.activeElement?.classList.contains('govuk-error-summary') === true);
    const links = page.locator(`${SUMMARY} a`);
    const texts = (await links.allTextContents()).map((t) => t.trim());
    assert.deepEqual(texts, [MESSAGES.rating, MESSAGES.detailsRequired]);
    // Each link leads to its field: GOV.UK Frontend moves focus to the input itself.
    await links.nth(0).click();
    await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.name === 'rating');
    await links.nth(1).click();
    await page.waitForFunction(() => document.activeElement?.id === 'details');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('without JavaScript: a valid submission reaches the thanks page', async () => {
    const { page, problems } = await suite.open(PATHS.feedback, noJs);
    assert.doesNotMatch((await page.locator('body').getAttribute('class')) ?? '', /js-enabled/);
    await fillValid(page);
    await Promise.all([page.waitForURL((url) => url.pathname === PATHS.feedbackThanks), page.locator(SEND).click()]);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Thank you for your feedback');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('without JavaScript: an empty submission shows the error summary with links to the fields', async () => {
    const { page, problems } = await suite.open(PATHS.feedback, noJs);
    await sendEmpty(page);
    assert.match(await page.title(), /^Error: /);
    const hrefs = await page.locator(`${SUMMARY} a`).evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    assert.equal(hrefs.length, 2);
    for (const href of hrefs) {
      assert.match(href, /^#[\w-]+$/);
      const target = page.locator(href);
      assert.equal(await target.count(), 1, `${href} points at nothing`);
      assert.match(await target.evaluate((el) => el.tagName), /^(INPUT|TEXTAREA)$/);
    }
    // Inline errors beside the fields too.
    assert.equal(await page.locator('.govuk-error-message').count(), 2);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('what a person typed comes back escaped, never run', async () => {
    const { page, problems } = await suite.open(PATHS.feedback);
    await page.locator('#details').fill('"><img src=x id=xss-probe><script>window.__xss=1</script>');
    await sendEmpty(page); // no rating: the form comes back with the text
    assert.equal(await page.locator('#xss-probe').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.match(await page.locator('#details').inputValue(), /<script>window.__xss=1<\/script>/);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('axe: the error state and the thanks page have zero violations', async () => {
    const errors = await suite.axe(PATHS.feedback, sendEmpty);
    assert.equal(errors.length, 0, `axe on the feedback errors:\n${describeViolations(errors)}`);
    const thanks = await suite.axe(PATHS.feedback, async (page) => {
      await fillValid(page);
      await Promise.all([page.waitForURL((url) => url.pathname === PATHS.feedbackThanks), page.locator(SEND).click()]);
    });
    assert.equal(thanks.length, 0, `axe on ${PATHS.feedbackThanks}:\n${describeViolations(thanks)}`);
  });

  test('no CSP report reached the app', () => {
    assert.deepEqual(suite.cspReportLines(), []);
  });
});

describe('the feedback bot check in Chromium (FEEDBACK_MIN_SECONDS=30)', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite({ FEEDBACK_MIN_SECONDS: '30' });
  });
  after(async () => {
    await suite.close();
  });

  test('an empty form sent at once gets only its own errors', async () => {
    const { page, problems } = await suite.open(PATHS.feedback);
    await sendEmpty(page);
    assert.deepEqual(
      (await page.locator(`${SUMMARY} a`).allTextContents()).map((t) => t.trim()),
      [MESSAGES.rating, MESSAGES.detailsRequired],
    );
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test(
    'a valid form sent too soon: guidance in the focused summary, its link focuses the Send ' + 'feedback button',
    async () => {
      const { page, problems } = await suite.open(PATHS.feedback);
      await fillValid(page);
      await Promise.all([page.waitForURL(/\/send-feedback$/), page.locator(SEND).click()]);
      await page.locator(SUMMARY).waitFor();
      await page.waitForFunction(() => document.activeElement?.classList.contains('govuk-error-summary') === true);
      const links = page.locator(`${SUMMARY} a`);
      assert.deepEqual(
        (await links.allTextContents()).map((t) => t.trim()),
        [MESSAGES.tooFast],
      );
      assert.equal(
        await page.locator('#details').inputValue(),
        'The start page was clear. <script>alert(1)</script>',
        'the answers are kept',
      );
      await links.nth(0).click();
      await page.waitForFunction(() => document.activeElement?.id === 'send');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent.trim()), 'Send feedback');
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      await page.close();
    },
  );

  test('axe: the "too soon" state has zero violations', async () => {
    const violations = await suite.axe(PATHS.feedback, async (page) => {
      await fillValid(page);
      await Promise.all([page.waitForURL(/\/send-feedback$/), page.locator(SEND).click()]);
      await page.locator(SUMMARY).waitFor();
    });
    assert.equal(violations.length, 0, `axe on the "too soon" state:\n${describeViolations(violations)}`);
  });
});
