/**
 * The account pages in Chromium (issue 22, ADR 0049): the whole walk (change of address with its error state, email
 * sent, a bad link, the good link from mail.jsonl, sign-in with the new address, the delete warning, the confirm path
 * typed in, deletion, /deleted) with no CSP violation or page error under the enforced policy, then the same walk again
 * in axe's context (CSP bypassed for axe alone), with zero WCAG 2.2 A/AA violations in every state.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PATHS, TOKEN_PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { en } from '../helpers/words.ts';
import { fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, runAxe, startSuite, watch } from './browser-helper.ts';

const PASSWORD = 'Correct horse battery 42';

async function signIn(page: Page, origin: string, email: string): Promise<void> {
  await page.goto(origin + PATHS.login);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
}

function verifyLink(suite: Suite, to: string): string {
  const lines = readFileSync(join(suite.app.config.dataDir, 'mail.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const mail = lines
    .map((l) => JSON.parse(l) as { to: string; template: string; personalisation: Record<string, string> })
    .filter((m) => m.to === to && m.template === 'newEmailVerify')
    .at(-1);
  assert.ok(mail, `a verify email to ${to}`);
  return new URL(mail.personalisation.changeEmailAddressUrl ?? '').pathname;
}

/** Every page and error state of the account pages, in order; `check` is called in each. */
async function walk(
  suite: Suite,
  page: Page,
  old: string,
  next: string,
  check: (state: string) => Promise<void>,
): Promise<void> {
  const origin = suite.app.origin;
  await signIn(page, origin, old);
  await page.goto(origin + PATHS.changeEmail);
  await check('change email');

  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.changeEmail),
    page.locator('[data-qa="save-new-email"]').click(),
  ]);
  await page.locator('.govuk-error-summary').waitFor();
  await check('change email: errors');

  await page.getByLabel('Your account password').fill('Wrong password 99');
  await page.getByLabel('New email address', { exact: true }).fill(next);
  await page.getByLabel('Confirm new email address').fill(next);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.changeEmail),
    page.locator('[data-qa="save-new-email"]').click(),
  ]);
  assert.equal(
    (await page.locator('.govuk-error-summary a').first().textContent())?.trim(),
    en('account:changeEmail.password.incorrect'),
  );
  await check('change email: wrong password');

  await page.getByLabel('Your account password').fill(PASSWORD);
  await page.getByLabel('New email address', { exact: true }).fill(next);
  await page.getByLabel('Confirm new email address').fill(next);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.changeEmail),
    page.locator('[data-qa="save-new-email"]').click(),
  ]);
  await page.locator('[data-qa="email-sent"]').waitFor();
  await check('email sent');

  await page.goto(`${origin}${TOKEN_PATHS.changeEmailVerify}not-a-real-token-at-all`);
  assert.equal((await page.locator('h1').textContent())?.trim(), en('account:changeEmail.failed.title'));
  await check('verify: bad link');

  await page.goto(origin + verifyLink(suite, next));
  assert.equal(new URL(page.url()).pathname, PATHS.login);
  assert.equal(
    (await page.locator('.govuk-notification-banner__content').textContent())?.trim(),
    en('account:changeEmail.verified'),
  );
  await check('verified: sign in again');

  await signIn(page, origin, next);
  await page.goto(origin + PATHS.deleteAccount);
  await check('delete');

  // Typed in (Sec-Fetch-Site: none): the confirm path asks instead of deleting.
  await page.goto(origin + PATHS.deleteAccountConfirm);
  assert.equal(new URL(page.url()).pathname, PATHS.deleteAccountConfirm);
  await check('delete confirm: asks');

  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.deleted),
    page.locator('[data-qa="delete-confirm"]').click(),
  ]);
  assert.equal((await page.locator('h1').textContent())?.trim(), en('account:deleted.title'));
  await check('deleted');
}

describe('the account pages in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite();
    const credentials = suite.app.services.credentials as LocalCredentials;
    for (const email of ['csp.old@example.com', 'axe.old@example.com'])
      await credentials.addUser({ email, password: PASSWORD, name: { first: 'Pat', last: 'Smith' } });
  });
  after(async () => {
    await suite.close();
  });

  test('every page and error state: no CSP violation, console error or failed request', async () => {
    const ctx = await suite.newContext();
    const page = await ctx.newPage();
    const problems = await watch(ctx, page);
    const states: string[] = [];
    await walk(suite, page, 'csp.old@example.com', 'csp.new@example.com', async (state) => {
      await page.waitForTimeout(50);
      assert.equal(problemCount(problems), 0, `${state}: ${describeProblems(problems)}`);
      states.push(state);
    });
    assert.equal(states.length, 9);
    assert.deepEqual(suite.cspReportLines(), []);
  });

  test('every page and error state: zero axe violations', async () => {
    const ctx = await suite.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await walk(suite, page, 'axe.old@example.com', 'axe.new@example.com', async (state) => {
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, `axe on ${state}:\n${describeViolations(violations)}`);
    });
  });
});

describe('the delete page when the API fails, in Chromium', () => {
  let suite: Suite;
  let fake: FakeLpaApi;
  before(async () => {
    fake = await fakeLpaApi();
    suite = await startSuite({ API_BASE_URL: fake.origin, EGRESS_ALLOW_PRIVATE: '127.0.0.1' });
    for (const email of ['csp.outage@example.com', 'axe.outage@example.com']) {
      const created = await suite.app.services.accounts.register(email, PASSWORD);
      assert.ok(created.outcome === 'created');
      assert.equal(await suite.app.services.accounts.activate(created.activationToken), 'activated');
      // Named: a user with no name is sent to /user/about-you/new from every signed-in page (profile-gate.ts).
      const signedIn = await suite.app.services.credentials.authenticate(email, PASSWORD, 'test');
      assert.ok(signedIn.ok);
      assert.ok(
        await suite.app.services.accounts.updateDetails(signedIn.userId, signedIn.token, {
          name: { first: 'Pat', last: 'Smith' },
          dob: null,
          address: null,
        }),
      );
    }
  });
  after(async () => {
    await suite.close();
    await fake.close();
  });

  async function failedDelete(page: Page, email: string): Promise<void> {
    await signIn(page, suite.app.origin, email);
    await page.goto(suite.url(PATHS.deleteAccount));
    fake.outage = 503;
    try {
      await Promise.all([
        page.waitForURL((u) => u.pathname === PATHS.deleteAccountConfirm),
        page.locator('[data-qa="delete-confirm"]').click(),
      ]);
      await page.locator('[data-qa="error-summary"]').waitFor();
    } finally {
      fake.outage = undefined;
    }
  }

  test('the error state: no CSP violation or page error (the 500 itself aside), zero axe violations', async () => {
    const ctx = await suite.newContext();
    const page = await ctx.newPage();
    const problems = await watch(ctx, page);
    await failedDelete(page, 'csp.outage@example.com');
    await page.waitForTimeout(50);
    // The document's own 500 is the state under test: Chromium reports it as a console error, nothing else may appear.
    const others = {
      ...problems,
      consoleErrors: problems.consoleErrors.filter((m) => !m.includes('status of 500')),
      failedRequests: problems.failedRequests.filter((r) => !r.includes(PATHS.deleteAccountConfirm)),
    };
    assert.equal(problems.consoleErrors.length, 1);
    assert.equal(problemCount(others), 0, describeProblems(others));

    const axeCtx = await suite.newContext({ bypassCSP: true });
    const axePage = await axeCtx.newPage();
    await failedDelete(axePage, 'axe.outage@example.com');
    const violations = await runAxe(axePage);
    assert.equal(violations.length, 0, `axe on the failed deletion:\n${describeViolations(violations)}`);
  });
});
