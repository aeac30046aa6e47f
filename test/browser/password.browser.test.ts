/**
 * The password pages in Chromium (issue 22): every page and error state with no CSP violation or console error and
 * zero axe violations: /forgot-password (blank, errors, "Thank you"), the reset page (blank, errors, a link that does
 * not work) and /user/change-password signed in (blank, errors); and the journey to "Password successfully reset".
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { MAIL_FILE } from '../../src/backends/mail.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const EMAIL = 'ada.lovelace@example.com';
let PASSWORD = 'Analytical-Engine-1843';
const SUBMIT = '[data-qa="kit-submit"]';

async function submit(page: Page): Promise<void> {
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.locator(SUBMIT).click()]);
  await page.waitForLoadState('load');
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
}

describe('password pages in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite({ ACCOUNT_ANSWER_FLOOR_MS: '0' });
    await (suite.app.services.credentials as LocalCredentials).addUser({
      email: EMAIL,
      password: PASSWORD,
      name: { first: 'Ada', last: 'Lovelace' },
    });
  });
  after(async () => {
    await suite.close();
  });

  /** The page at path, brought into a state by `prepare`, is clean under the CSP and then under axe. */
  async function clean(path: string, prepare: (page: Page) => Promise<void>, what: string): Promise<void> {
    const { page, problems } = await suite.open(path);
    await prepare(page);
    await page.waitForTimeout(50);
    assert.equal(problemCount(problems), 0, `${what}: ${describeProblems(problems)}`);
    await page.close();
    const violations = await suite.axe(path, prepare);
    assert.equal(violations.length, 0, `axe on ${what}:\n${describeViolations(violations)}`);
  }

  test('/forgot-password: blank, with errors, and "Thank you"', async () => {
    await clean(PATHS.forgotPassword, () => Promise.resolve(), 'forgot blank');
    await clean(
      PATHS.forgotPassword,
      async (page) => {
        await page.getByLabel('Email address', { exact: true }).fill('a@example.com');
        await page.getByLabel('Confirm your email address').fill('b@example.com');
        await submit(page);
        await page.locator('.govuk-error-summary').waitFor();
      },
      'forgot errors',
    );
    await clean(
      PATHS.forgotPassword,
      async (page) => {
        await page.getByLabel('Email address', { exact: true }).fill(EMAIL);
        await page.getByLabel('Confirm your email address').fill(EMAIL);
        await submit(page);
        await page.locator('[data-qa="email-sent"]').waitFor();
      },
      'forgot thank you',
    );
  });

  test(
    'the reset page: blank, errors, a link that does not work; the journey ends signed out ' + 'with the message',
    async () => {
      const mails = readFileSync(join(suite.app.config.dataDir, MAIL_FILE), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { to: string; personalisation: Record<string, string> });
      const link = mails.filter((m) => m.to === EMAIL).at(-1)?.personalisation.forgotPasswordUrl ?? '';
      const path = new URL(link).pathname;
      await clean(path, () => Promise.resolve(), 'reset blank');
      await clean(
        path,
        async (page) => {
          await page.getByLabel('Password', { exact: true }).fill('short');
          await submit(page);
          await page.locator('.govuk-error-summary').waitFor();
        },
        'reset errors',
      );
      await clean(
        '/forgot-password/reset/not-a-real-token-at-all',
        () => Promise.resolve(),
        'reset link that does not work',
      );

      const { page, problems } = await suite.open(path);
      await page.getByLabel('Password', { exact: true }).fill('Difference-Engine-1822');
      await page.getByLabel('Confirm password').fill('Difference-Engine-1822');
      await Promise.all([page.waitForURL((u) => u.pathname === PATHS.login), page.locator(SUBMIT).click()]);
      assert.match(
        (await page.locator('.govuk-notification-banner').textContent()) ?? '',
        /Password successfully reset/,
      );
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      await page.close();
      PASSWORD = 'Difference-Engine-1822';
    },
  );

  test('/user/change-password signed in: blank and with errors', async () => {
    const reachChange = async (page: Page) => {
      if (new URL(page.url()).pathname === PATHS.login) await signIn(page);
      await page.goto(suite.url(PATHS.changePassword));
      assert.equal(new URL(page.url()).pathname, PATHS.changePassword);
    };
    for (const [what, extra] of [
      ['change blank', () => Promise.resolve()],
      [
        'change errors',
        async (page: Page) => {
          await submit(page);
          await page.locator('.govuk-error-summary').waitFor();
        },
      ],
    ] as const) {
      const { page, problems } = await suite.open(PATHS.login);
      await reachChange(page);
      await extra(page);
      await page.waitForTimeout(50);
      assert.equal(problemCount(problems), 0, `${what}: ${describeProblems(problems)}`);
      await page.close();
      const violations = await suite.axe(PATHS.login, async (p) => {
        await reachChange(p);
        await extra(p);
      });
      assert.equal(violations.length, 0, `axe on ${what}:\n${describeViolations(violations)}`);
    }
  });
});
