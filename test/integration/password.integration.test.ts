/**
 * The password pages end to end over real HTTP on the embedded backend (issue 22): forgot → email (read from
 * DATA_DIR/mail.jsonl) → reset → sign in; change password; other sessions signed out (two real sessions); no
 * enumeration (same page and status); single-use, tamper-proof tokens; CSRF; throttles of their own; audit lines.
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { MAIL_FILE } from '../../src/backends/mail.ts';
import { PATHS } from '../../src/paths.ts';

const OLD = 'Old-password-2024x';
const NEW = 'Brand-new-Passw0rd-x';

async function app(t: TestContext, env: Record<string, string> = {}): Promise<Built> {
  return build(t, {
    env: { ACCOUNT_ANSWER_FLOOR_MS: '0', ...env },
    services: (config, logger) => createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } }),
  });
}

interface Mail {
  to: string;
  template: string;
  personalisation: Record<string, string>;
}

function mails(built: Built): Mail[] {
  const file = join(built.config.dataDir, MAIL_FILE);
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Mail)
    : [];
}

function lastMail(built: Built, to: string): Mail {
  const found = mails(built)
    .filter((m) => m.to === to)
    .at(-1);
  assert.ok(found !== undefined, `an email to ${to}`);
  return found;
}

async function addUser(built: Built, email: string, password = OLD): Promise<void> {
  // Named: a user with no name is sent to /user/about-you/new from every signed-in page (profile-gate.ts).
  await (built.services.credentials as LocalCredentials).addUser({
    email,
    password,
    name: { first: 'Pat', last: 'Smith' },
  });
}

async function forgot(browser: Browser, email: string, confirm = email) {
  const form = await browser.get(PATHS.forgotPassword);
  assert.equal(form.status, 200);
  return browser.post(PATHS.forgotPassword, { email, email_confirm: confirm, _csrf: csrfTokenFrom(form.text) });
}

async function signIn(built: Built, email: string, password: string): Promise<Browser> {
  const browser = new Browser(built.origin);
  const form = await browser.get(PATHS.login);
  const res = await browser.post(PATHS.login, { email, password, _csrf: csrfTokenFrom(form.text) });
  assert.equal(res.status, 303, `signed in as ${email}`);
  return browser;
}

async function resetWith(browser: Browser, path: string, password: string, confirm = password) {
  const form = await browser.get(path);
  assert.equal(form.status, 200);
  return browser.post(path, { password, password_confirm: confirm, _csrf: csrfTokenFrom(form.text) });
}

const pathOf = (url: string) => new URL(url).pathname;
const main = (text: string) => html(text).querySelector('main')?.textContent.replace(/\s+/g, ' ').trim() ?? '';

describe('forgotten password: the embedded journey', () => {
  test('forgot → email → reset → sign in with the new password; the old one no longer works', async (t) => {
    const built = await app(t);
    await addUser(built, 'reset@example.com');
    const browser = new Browser(built.origin);
    const sent = await forgot(browser, 'Reset@Example.com');
    assert.equal(sent.status, 200);
    assert.match(
      main(sent.text),
      /Thank you We've emailed a link to reset@example\.com so that you can reset your password\./,
    );

    const mail = lastMail(built, 'reset@example.com');
    assert.equal(mail.template, 'passwordReset');
    const link = mail.personalisation.forgotPasswordUrl ?? '';
    assert.ok(link.startsWith(`${built.config.publicOrigin.origin}/forgot-password/reset/`), link);
    const path = pathOf(link);

    const page = await browser.get(path);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.ok(html(page.text).querySelector(`form[action="${path}"]`), 'the form posts back to the link');
    const done = await resetWith(browser, path, NEW);
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), PATHS.login);
    const login = await browser.get(PATHS.login);
    assert.match(main(login.text), /Password successfully reset/);

    await signIn(built, 'reset@example.com', NEW);
    const old = new Browser(built.origin);
    const form = await old.get(PATHS.login);
    assert.equal(
      (await old.post(PATHS.login, { email: 'reset@example.com', password: OLD, _csrf: csrfTokenFrom(form.text) }))
        .status,
      400,
    );

    // Single use: the same link again is the "does not work" page, as is a tampered one; no hint which.
    for (const used of [
      path,
      `${path.slice(0, -1)}${path.endsWith('A') ? 'B' : 'A'}`,
      '/forgot-password/reset/short',
      '/forgot-password/reset/has.dot.in.it.xxxxxxxxxxxx',
    ]) {
      const again = await browser.get(used);
      if (again.status === 200 && html(again.text).querySelector(`form[action="${used}"]`) !== null) {
        const res = await resetWith(browser, used, 'Another-passw0rd-x');
        assert.equal(res.status, 200, used);
        assert.match(main(res.text), /That password link does not work/, used);
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      } else {
        assert.equal(again.status, 200, used);
        assert.match(main(again.text), /That password link does not work/, used);
      }
    }
    const events = built.logs
      .filter((l) => typeof l.event === 'string' && l.event.startsWith('account.password_reset'))
      .map((l) => l.event);
    assert.deepEqual(events.slice(0, 2), ['account.password_reset.requested', 'account.password_reset.completed']);
    assert.ok(!built.logText().includes('reset@example.com'), 'no raw email in the logs');
    const token = path.split('/').at(-1) ?? '-';
    // The access log's path redaction is the signup branch's (issue 22: "redact them … in the app's logs"); until it
    // merges, only the lines this feature writes are held to it here, the whole log in the todo test below.
    assert.ok(
      !built.logs.filter((l) => l.audit === true).some((l) => JSON.stringify(l).includes(token)),
      'no token in the audit lines',
    );
    await t.test(
      'no token anywhere in the logs',
      { todo: 'access-log path redaction lands with the signup branch' },
      () => {
        assert.ok(!built.logText().includes(token));
      },
    );
  });

  test(
    'the same page and status for an account, an unactivated one and no account; each email ' + 'says what happened',
    async (t) => {
      const built = await app(t);
      await addUser(built, 'known@example.com');
      await built.services.accounts.register('inactive@example.com', OLD);
      const pages: string[] = [];
      for (const email of ['known@example.com', 'inactive@example.com', 'nobody@example.com']) {
        const res = await forgot(new Browser(built.origin), email);
        assert.equal(res.status, 200, email);
        pages.push(main(res.text).replace(email, 'EMAIL'));
      }
      assert.equal(new Set(pages).size, 1, 'one page for all three');
      assert.equal(lastMail(built, 'known@example.com').template, 'passwordReset');
      const activation = lastMail(built, 'inactive@example.com');
      assert.equal(activation.template, 'accountActivate');
      assert.match(activation.personalisation.activateAccountUrl ?? '', /\/signup\/confirm\/[A-Za-z0-9_-]{16,}$/);
      const none = lastMail(built, 'nobody@example.com');
      assert.equal(none.template, 'passwordResetNoAccount');
      assert.equal(none.personalisation.signUpUrl, `${built.config.publicOrigin.origin}/signup`);
    },
  );

  test(
    'form errors as live: empty, not an email, not matching; a POST without the CSRF token is ' + 'refused',
    async (t) => {
      const built = await app(t);
      const browser = new Browser(built.origin);
      const form = await browser.get(PATHS.forgotPassword);
      const csrf = csrfTokenFrom(form.text);
      const cases: [Record<string, string>, string[]][] = [
        [{ email: '', email_confirm: '' }, ['Enter your email address', 'Confirm your email address']],
        [{ email: 'not-an-email', email_confirm: 'not-an-email' }, ['Enter a valid email address']],
        [{ email: 'a@example.com', email_confirm: 'b@example.com' }, ['Enter matching email addresses']],
      ];
      for (const [body, messages] of cases) {
        const res = await browser.post(PATHS.forgotPassword, { ...body, _csrf: csrf });
        assert.equal(res.status, 400);
        const summary = html(res.text)
          .querySelectorAll('.govuk-error-summary__list a')
          .map((a) => a.textContent.trim());
        assert.deepEqual(summary, messages);
      }
      assert.equal(
        (await browser.post(PATHS.forgotPassword, { email: 'a@example.com', email_confirm: 'a@example.com' })).status,
        403,
      );
      assert.equal(mails(built).length, 0);
      const reset = '/forgot-password/reset/AAAAAAAAAAAAAAAAAAAAAAAA';
      assert.equal((await browser.post(reset, { password: NEW, password_confirm: NEW })).status, 403);
      const change = await signIn(
        built,
        await (async () => {
          await addUser(built, 'csrf@example.com');
          return 'csrf@example.com';
        })(),
        OLD,
      );
      assert.equal(
        (await change.post(PATHS.changePassword, { password_current: OLD, password: NEW, password_confirm: NEW }))
          .status,
        403,
      );
    },
  );

  test(
    'signed in: /forgot-password goes to the dashboard; a reset link ends that sign-in first, ' + 'as live',
    async (t) => {
      const built = await app(t);
      await addUser(built, 'signed@example.com');
      const browser = await signIn(built, 'signed@example.com', OLD);
      const res = await browser.get(PATHS.forgotPassword);
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), PATHS.dashboard);
      const link = '/forgot-password/reset/AAAAAAAAAAAAAAAAAAAAAAAA';
      const away = await browser.get(link);
      assert.equal(away.status, 302);
      assert.equal(away.headers.get('location'), link);
      assert.equal((await browser.get(PATHS.dashboard)).status, 302, 'signed out');
    },
  );
});

describe('change password and other sessions', () => {
  test(
    'change: current password required, the live messages; success keeps this session, signs ' +
      'out the other one at once',
    async (t) => {
      const built = await app(t);
      await addUser(built, 'change@example.com');
      const here = await signIn(built, 'change@example.com', OLD);
      const elsewhere = await signIn(built, 'change@example.com', OLD);
      assert.equal((await elsewhere.get(PATHS.dashboard)).status, 200);

      const form = await here.get(PATHS.changePassword);
      assert.equal(form.status, 200);
      assert.ok(html(form.text).querySelector(`a[href="${PATHS.aboutYou}"]`), 'Cancel goes back to your details');
      const csrf = csrfTokenFrom(form.text);
      const wrong = await here.post(PATHS.changePassword, {
        password_current: 'Not-the-passw0rd',
        password: NEW,
        password_confirm: NEW,
        _csrf: csrf,
      });
      assert.equal(wrong.status, 400);
      assert.match(main(wrong.text), /Your password is incorrect/);
      const mismatch = await here.post(PATHS.changePassword, {
        password_current: OLD,
        password: NEW,
        password_confirm: `${NEW}y`,
        _csrf: csrf,
      });
      assert.equal(mismatch.status, 400);
      assert.match(main(mismatch.text), /Enter matching passwords/);
      const empty = await here.post(PATHS.changePassword, {
        password_current: '',
        password: '',
        password_confirm: '',
        _csrf: csrf,
      });
      assert.deepEqual(
        html(empty.text)
          .querySelectorAll('.govuk-error-summary__list a')
          .map((a) => a.textContent.trim()),
        ['Enter your current password', 'Enter your new password', 'Confirm your new password'],
      );

      const ok = await here.post(PATHS.changePassword, {
        password_current: OLD,
        password: NEW,
        password_confirm: NEW,
        _csrf: csrf,
      });
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.get('location'), PATHS.aboutYou);
      const details = await here.get(PATHS.aboutYou);
      assert.match(
        html(details.text).querySelector('[data-qa="flash"]')?.textContent ?? '',
        /Your new password has been saved/,
        'the success, on your details as live',
      );
      assert.equal(html((await here.get(PATHS.aboutYou)).text).querySelector('[data-qa="flash"]'), null, 'once');
      assert.equal((await here.get(PATHS.dashboard)).status, 200, 'this session carries on');
      const other = await elsewhere.get(PATHS.dashboard);
      assert.equal(other.status, 302, 'the other session is signed out at its very next request');
      const changed = lastMail(built, 'change@example.com');
      assert.equal(changed.template, 'passwordChanged');
      assert.deepEqual(changed.personalisation, { email: 'change@example.com' });
      const audit = built.logs.find((l) => l.event === 'account.password_change.completed');
      assert.ok(audit !== undefined && typeof audit.userHash === 'string' && audit.userHash.length === 32);
      assert.ok(!built.logText().includes('change@example.com'));
      await signIn(built, 'change@example.com', NEW);
    },
  );

  test('a reset signs out every session of the account', async (t) => {
    const built = await app(t);
    await addUser(built, 'victim@example.com');
    const one = await signIn(built, 'victim@example.com', OLD);
    const two = await signIn(built, 'victim@example.com', OLD);
    await forgot(new Browser(built.origin), 'victim@example.com');
    const path = pathOf(lastMail(built, 'victim@example.com').personalisation.forgotPasswordUrl ?? '');
    assert.equal((await resetWith(new Browser(built.origin), path, NEW)).status, 303);
    assert.equal((await one.get(PATHS.dashboard)).status, 302);
    assert.equal((await two.get(PATHS.dashboard)).status, 302);
  });
});

describe('throttles of their own', () => {
  test(
    'a reset flood for an address sends at most the limit, answers the same page, and does ' + 'not lock its sign-in',
    async (t) => {
      const built = await app(t);
      await addUser(built, 'flooded@example.com');
      for (let i = 0; i < 8; i++)
        assert.equal((await forgot(new Browser(built.origin), 'flooded@example.com')).status, 200);
      assert.equal(mails(built).filter((m) => m.to === 'flooded@example.com').length, 5);
      assert.equal(built.logs.filter((l) => l.event === 'account.password_reset.throttled').length, 3);
      await signIn(built, 'flooded@example.com', OLD);
    },
  );

  test(
    'one source asking for many addresses is throttled too (30 an hour), answered alike, ' + 'sending nothing more',
    async (t) => {
      const built = await app(t);
      for (let i = 0; i < 32; i++)
        assert.equal((await forgot(new Browser(built.origin), `spray-${String(i)}@example.com`)).status, 200);
      assert.equal(mails(built).length, 30);
      assert.deepEqual(
        built.logs.filter((l) => l.event === 'account.password_reset.throttled').map((l) => l.by),
        ['source', 'source'],
      );
    },
  );
});
