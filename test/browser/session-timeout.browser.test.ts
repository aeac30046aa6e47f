/**
 * The session timeout warning (assets/js/session-timeout.mjs) in Chromium, against the real app and real time.
 *
 * The app is started with a 30-second sign-in (LOCAL_TOKEN_LIFETIME_SECONDS) and a 20-second warning
 * (SESSION_WARNING_SECONDS), so nothing is faked: the script asks /session-state, the dialog opens when less than
 * 20 seconds are left (the script's first answer says 30, and it asks again no sooner than 15 seconds later), and
 * the server really signs the user out at 30 seconds. Each test signs in its own browser context (its own session)
 * and the three run at once, so the file takes about as long as one sign-in lifetime.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page, Response } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const EMAIL = 'grace.hopper@example.com';
const PASSWORD = 'correct horse battery staple 43';
const LIFETIME_SECONDS = 30;
const WARNING_SECONDS = 20;

const DIALOG = '[data-qa="timeout-dialog"]';
const STAY = '[data-qa="stay-signed-in"]';

const isSessionState = (r: Response) => new URL(r.url()).pathname === PATHS.sessionState;

/** Signs in from the sign-in page; resolves with the timeout script's first answer on the dashboard. */
async function signIn(page: Page): Promise<{ remainingSeconds: number }> {
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  const [state] = await Promise.all([
    page.waitForResponse(isSessionState),
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
  return (await state.json()) as { remainingSeconds: number };
}

/** What the page says about the dialog and focus, read in one go. */
function dialogState(page: Page): Promise<{
  exists: boolean;
  open: boolean;
  modal: boolean;
  focusInside: boolean;
  focusQa: string | undefined;
  text: string;
  live: string;
}> {
  return page.evaluate((selector) => {
    const dialog = document.querySelector<HTMLDialogElement>(selector);
    const active = document.activeElement;
    return {
      exists: dialog !== null,
      open: dialog?.open === true,
      modal: dialog?.matches(':modal') === true,
      focusInside: dialog !== null && active !== null && dialog.contains(active),
      focusQa: active instanceof HTMLElement ? active.dataset.qa : undefined,
      text: dialog?.textContent ?? '',
      live: dialog?.querySelector('[aria-live]')?.textContent ?? '',
    };
  }, DIALOG);
}

describe('session timeout warning in Chromium', { concurrency: true }, () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite({
      LOCAL_TOKEN_LIFETIME_SECONDS: String(LIFETIME_SECONDS),
      SESSION_WARNING_SECONDS: String(WARNING_SECONDS),
    });
    const users = suite.app.services.credentials as LocalCredentials;
    await users.addUser({ email: EMAIL, password: PASSWORD, name: { first: 'Grace', last: 'Hopper' } });
  });
  after(async () => {
    await suite.close();
  });

  test(
    'near expiry the dialog opens and takes focus; "Stay signed in" extends the sign-in, ' +
      'closes it and gives focus back',
    async () => {
      const ctx = await suite.newContext();
      const { page, problems } = await suite.open(PATHS.login, ctx);
      const first = await signIn(page);
      assert.ok(
        first.remainingSeconds > WARNING_SECONDS && first.remainingSeconds <= LIFETIME_SECONDS,
        `first answer: ${String(first.remainingSeconds)} s`,
      );
      // Focus somewhere on the page, as a keyboard user would be: that is where focus must come back to.
      await page.locator('[data-qa="sign-out"]').focus();
      assert.equal(
        (await dialogState(page)).exists,
        false,
        `no warning with ${String(first.remainingSeconds)} s left (more ` + `than ${String(WARNING_SECONDS)})`,
      );

      await page.locator(DIALOG).waitFor({ state: 'visible', timeout: (LIFETIME_SECONDS - 2) * 1000 });
      const shown = await dialogState(page);
      assert.ok(shown.open && shown.modal, 'opened as a modal dialog');
      assert.ok(shown.focusInside, 'focus moved into the dialog');
      assert.equal(shown.focusQa, 'stay-signed-in', 'on its "Stay signed in" button');
      assert.match(shown.text, /You’re about to be signed out/);
      assert.match(shown.text, /we will sign you out in \d+ seconds\./);
      // The dialog's description is read as it opens; its live region must not say the same again (issue 16, point 9).
      assert.equal(shown.live, '', 'the live region is silent as the dialog opens');
      assert.equal(problemCount(problems), 0, describeProblems(problems));

      // The script's own follow-up question after "Stay signed in" tells what the server now says.
      const [afterStay] = await Promise.all([page.waitForResponse(isSessionState), page.locator(STAY).click()]);
      const extended = (await afterStay.json()) as { remainingSeconds: number };
      assert.ok(
        extended.remainingSeconds > WARNING_SECONDS,
        `the sign-in was extended: ${String(extended.remainingSeconds)} s left`,
      );
      await page.locator(DIALOG).waitFor({ state: 'hidden' });
      const closed = await dialogState(page);
      assert.equal(closed.open, false, 'the dialog closed');
      assert.equal(closed.focusQa, 'sign-out', 'focus went back where it was before the dialog opened');
      assert.equal(new URL(page.url()).pathname, PATHS.dashboard, 'still on the signed-in page');
      assert.equal(problemCount(problems), 0, describeProblems(problems));
      await page.close();
    },
  );

  test('when time runs out the page goes to the signed-out page, and the sign-in has really ended', async () => {
    const ctx = await suite.newContext();
    const { page, problems } = await suite.open(PATHS.login, ctx);
    const signedInAt = Date.now();
    await signIn(page);
    await page.locator(DIALOG).waitFor({ state: 'visible', timeout: LIFETIME_SECONDS * 1000 });
    await page.waitForURL((u) => u.pathname === PATHS.loginTimeout, { timeout: (LIFETIME_SECONDS + 10) * 1000 });
    const seconds = (Date.now() - signedInAt) / 1000;
    assert.ok(seconds >= LIFETIME_SECONDS - 2, `left after ${seconds.toFixed(1)} s, not before the sign-in ended`);
    await page.locator('[data-qa="signed-out-notice"]').waitFor();
    assert.equal(problemCount(problems), 0, describeProblems(problems));

    await page.goto(suite.url(PATHS.dashboard));
    assert.equal(new URL(page.url()).pathname, PATHS.login, 'signed out: the dashboard asks to sign in again');
    await page.close();
  });

  test('axe finds no WCAG 2.2 A/AA violation with the dialog open', async () => {
    let wasOpen = false;
    const violations = await suite.axe(PATHS.login, async (page) => {
      await signIn(page);
      await page.locator(DIALOG).waitFor({ state: 'visible', timeout: LIFETIME_SECONDS * 1000 });
      wasOpen = (await dialogState(page)).modal;
    });
    assert.ok(wasOpen, 'axe ran with the modal dialog open');
    assert.equal(violations.length, 0, `axe with the timeout dialog open:\n${describeViolations(violations)}`);
  });
});
