/**
 * Sign up in Chromium (issue 22): every page and error state has no CSP violation or console error and zero axe
 * violations, and the journey works with JavaScript on (sign up, email sent, activate from the emailed link).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { PATHS, TOKEN_PATHS } from '../../src/paths.ts';
import { SIGNUP_PASSWORD, mails } from '../helpers/signup.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

let n = 0;
const nextEmail = () => `browser${String(++n)}@example.com`;

async function fillSignup(page: Page, email: string): Promise<void> {
  await page.getByLabel('Enter your email address').fill(email);
  await page.getByLabel('Confirm your email address').fill(email);
  await page.getByLabel('Create a password').fill(SIGNUP_PASSWORD);
  await page.getByLabel('Confirm your password').fill(SIGNUP_PASSWORD);
  await page.locator('#terms').check();
}

/** Sends the page's form and waits for the page that answers it (at `path`). */
async function submit(page: Page, path: string): Promise<void> {
  const button = page.locator('[data-qa="signup-submit"], [data-qa="kit-submit"]').first();
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), button.click()]);
  await page.waitForURL((u) => u.pathname === path);
  await page.waitForLoadState('load');
}

describe('sign up in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite({ ACCOUNT_ANSWER_FLOOR_MS: '0' });
  });
  after(async () => {
    await suite.close();
  });

  const lastLink = (email: string) =>
    new URL(
      mails(suite.app)
        .filter((m) => m.to === email)
        .at(-1)?.personalisation.activateAccountUrl ?? '',
    ).pathname;

  test('the journey with JavaScript on: no CSP violation or error on any page', async () => {
    const { page, response, problems } = await suite.open(PATHS.signup);
    assert.equal(response?.status(), 200);
    await submit(page, PATHS.signup);
    assert.ok(await page.locator('.govuk-error-summary').isVisible(), 'errors shown');
    const email = nextEmail();
    await fillSignup(page, email);
    await submit(page, PATHS.signupEmailSent);
    assert.equal(await page.locator('[data-qa="signup-email"]').textContent(), email);
    await Promise.all([
      page.waitForURL((u) => u.pathname === PATHS.signupEmailSent),
      page.locator('[data-qa="signup-resend"]').click(),
    ]);
    await page.goto(suite.url(lastLink(email)));
    assert.ok(await page.locator('[data-qa="activated"]').isVisible());
    await page.goto(suite.url(lastLink(email)));
    assert.ok(await page.locator('[data-qa="activation-problem"]').isVisible(), 'used link');
    await page.goto(suite.url(PATHS.signupResend));
    await submit(page, PATHS.signupResend);
    assert.ok(await page.locator('.govuk-error-summary').isVisible());
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    assert.deepEqual(suite.cspReportLines(), []);
    await page.close();
  });

  test('zero axe violations on every page and error state', async () => {
    const cases: [string, string, ((page: Page) => Promise<void>) | undefined][] = [
      ['sign up', PATHS.signup, undefined],
      ['sign up with errors', PATHS.signup, (page) => submit(page, PATHS.signup)],
      [
        'email sent',
        PATHS.signup,
        async (page) => {
          await fillSignup(page, nextEmail());
          await submit(page, PATHS.signupEmailSent);
        },
      ],
      ['email sent, no address in the session', PATHS.signupEmailSent, undefined],
      ['resend', PATHS.signupResend, undefined],
      ['resend with errors', PATHS.signupResend, (page) => submit(page, PATHS.signupResend)],
      ['activation problem', `${TOKEN_PATHS.signupConfirm}not-a-token-of-anyone-0000`, undefined],
    ];
    for (const [name, path, prepare] of cases) {
      const violations = await suite.axe(path, prepare);
      assert.equal(violations.length, 0, `${name}:\n${describeViolations(violations)}`);
    }
    const email = nextEmail();
    const signedUp = await suite.axe(PATHS.signup, async (page) => {
      await fillSignup(page, email);
      await submit(page, PATHS.signupEmailSent);
    });
    assert.equal(signedUp.length, 0);
    const activated = await suite.axe(lastLink(email), async (page) => {
      assert.ok(await page.locator('[data-qa="activated"]').isVisible());
    });
    assert.equal(activated.length, 0, `activated:\n${describeViolations(activated)}`);
  });
});
