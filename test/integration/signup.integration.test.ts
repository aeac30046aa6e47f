/**
 * Sign up end to end over real HTTP on the embedded backend (SQLite users, the file mail transport): the links are
 * read from DATA_DIR/mail.jsonl as a developer would follow them (issue 22).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PATHS, TOKEN_PATHS } from '../../src/paths.ts';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { SIGNUP_PASSWORD, mails, signupForm } from '../helpers/signup.ts';
import { ACCOUNT_TOKEN_LIFETIME_SECONDS } from '../../src/backends/accounts.ts';
import { LOCAL_ACCOUNTS_MIGRATIONS, createLocalAccounts } from '../../src/backends/local-accounts.ts';
import { openStore } from '../../src/backends/sqlite-store.ts';
import type { Store } from '../../src/backends/sqlite-store.ts';
import { createServices } from '../../src/services.ts';

const PASSWORD = SIGNUP_PASSWORD;

async function signUp(browser: Browser, email: string, extra: Record<string, string> = {}) {
  const form = await browser.get(PATHS.signup);
  return browser.post(PATHS.signup, signupForm(email, csrfTokenFrom(form.text), extra));
}

/** The path of the activation link in the last email to `to`. */
function activationPath(built: Built, to: string): string {
  const mail = mails(built)
    .filter((m) => m.to === to && m.template === 'accountActivate')
    .at(-1);
  assert.ok(mail, `an activation email to ${to}`);
  const url = new URL(mail.personalisation.activateAccountUrl ?? '');
  assert.equal(url.origin, built.config.publicOrigin.origin, 'absolute link on the public origin, as the PHP front');
  return url.pathname;
}

test('embedded backend: sign up, email in mail.jsonl, confirm, sign in', async (t) => {
  const built = await build(t, { env: { ACCOUNT_ANSWER_FLOOR_MS: '0' } });
  const email = 'ada.lovelace@example.com';
  const browser = new Browser(built.origin);

  const blank = await browser.get(PATHS.signup);
  assert.equal(blank.status, 200);
  const doc = html(blank.text);
  assert.equal(doc.querySelector('h1')?.textContent.trim(), 'Create an account');
  for (const name of ['email', 'email_confirm', 'password', 'password_confirm', 'terms'])
    assert.ok(doc.querySelector(`[name="${name}"]`), name);

  const sent = await browser.post(PATHS.signup, signupForm(' Ada.Lovelace@Example.com ', csrfTokenFrom(blank.text)));
  assert.equal(sent.status, 303);
  assert.equal(sent.headers.get('location'), PATHS.signupEmailSent);
  const page = await browser.get(PATHS.signupEmailSent);
  assert.equal(html(page.text).querySelector('h1')?.textContent.trim(), 'Please check your email');
  assert.equal(html(page.text).querySelector('[data-qa="signup-email"]')?.textContent, email);

  // Not active yet: sign-in says so.
  const login = await browser.get(PATHS.login);
  const early = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(login.text) });
  assert.equal(early.status, 400);

  const link = activationPath(built, email);
  const head = await browser.request('HEAD', link);
  assert.equal(head.status, 200, 'a HEAD (mail scanner) is answered');
  const confirmed = await browser.get(link);
  assert.equal(confirmed.status, 200);
  assert.equal(confirmed.headers.get('referrer-policy'), 'no-referrer');
  assert.ok(
    html(confirmed.text).querySelector('[data-qa="activated"]'),
    'activated (the HEAD before did not use the token up)',
  );

  const again = await browser.get(link);
  assert.ok(html(again.text).querySelector('[data-qa="activation-problem"]'), 'the token works once');
  assert.equal(again.headers.get('referrer-policy'), 'no-referrer');

  const form = await browser.get(PATHS.login);
  const signedIn = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
  assert.equal(signedIn.status, 303);
  assert.equal(signedIn.headers.get('location'), PATHS.dashboard);
  assert.equal(
    (await browser.get(PATHS.signup)).headers.get('location'),
    PATHS.dashboard,
    'signed in: /signup goes to the dashboard',
  );

  assert.ok(
    built.logs.some((l) => l.event === 'account.activation.success'),
    'audited',
  );
  const token = link.split('/').at(-1) ?? '';
  assert.ok(!built.logText().includes(token), 'the token is in no log line');
  assert.ok(
    built.logs.some((l) => l.path === `${TOKEN_PATHS.signupConfirm}[redacted]`),
    'the access line has the path, token redacted',
  );
  assert.ok(!built.logText().includes(email), 'the address is in no log line');
});

test('embedded backend: the form refuses mistakes with the live messages, and a POST without CSRF token', async (t) => {
  const built = await build(t, { env: { ACCOUNT_ANSWER_FLOOR_MS: '0' } });
  const browser = new Browser(built.origin);
  const csrf = csrfTokenFrom((await browser.get(PATHS.signup)).text);
  const errorsOf = (text: string) =>
    html(text)
      .querySelectorAll('.govuk-error-summary__list a')
      .map((a) => [a.getAttribute('href'), a.textContent.trim()]);

  const empty = await browser.post(PATHS.signup, { _csrf: csrf });
  assert.equal(empty.status, 400);
  assert.deepEqual(errorsOf(empty.text), [
    ['#email', 'Enter your email address'],
    ['#email_confirm', 'Confirm your email address'],
    ['#password', 'Enter your password'],
    ['#password_confirm', 'Confirm your password'],
    ['#terms', 'You must accept the terms of use'],
  ]);
  const mismatch = await browser.post(
    PATHS.signup,
    signupForm('a@example.com', csrf, {
      email_confirm: 'b@example.com',
      password_confirm: 'Other-password-99',
      terms: '',
    }),
  );
  assert.deepEqual(errorsOf(mismatch.text), [
    ['#email_confirm', 'Enter matching email addresses'],
    ['#password_confirm', 'Enter matching passwords'],
    ['#terms', 'You must accept the terms of use'],
  ]);
  assert.equal(
    html(mismatch.text).querySelector('#email')?.getAttribute('value'),
    'a@example.com',
    'the address is shown again',
  );
  assert.equal(html(mismatch.text).querySelector('#password')?.getAttribute('value') ?? '', '', 'never the password');
  const weak = await browser.post(
    PATHS.signup,
    signupForm('a@example.com', csrf, { password: 'short', password_confirm: 'short' }),
  );
  assert.deepEqual(errorsOf(weak.text), [['#password', 'Your password must be at least twelve characters long']]);
  const bad = await browser.post(PATHS.signup, signupForm('not-an-address', csrf));
  assert.deepEqual(errorsOf(bad.text), [
    ['#email', 'Enter an email address in the correct format, like name@example.com'],
  ]);

  for (const path of [PATHS.signup, PATHS.signupResend]) {
    const noToken = Object.fromEntries(
      Object.entries(signupForm('c@example.com', csrf)).filter(([k]) => k !== '_csrf'),
    );
    const refused = await browser.post(
      path,
      path === PATHS.signup ? noToken : { email: 'c@example.com', email_confirm: 'c@example.com' },
    );
    assert.equal(refused.status, 403, `${path} without a CSRF token`);
  }
  assert.deepEqual(mails(built), [], 'no email for a refused form');
});

test(
  'embedded backend: an existing address gets the same answer and a warning email; resend ' + 'sends a new link',
  async (t) => {
    const built = await build(t, { env: { ACCOUNT_ANSWER_FLOOR_MS: '0' } });
    const browser = new Browser(built.origin);
    const email = 'mary.somerville@example.com';
    const first = await signUp(browser, email);
    const second = await signUp(browser, email);
    assert.equal(first.status, second.status);
    assert.equal(first.headers.get('location'), second.headers.get('location'));
    assert.deepEqual(
      mails(built).map((m) => m.template),
      ['accountActivate', 'accountDuplicationWarning'],
    );
    assert.deepEqual(mails(built).at(-1)?.personalisation, {});

    const resendForm = await browser.get(PATHS.signupResend);
    assert.equal(html(resendForm.text).querySelector('h1')?.textContent.trim(), 'Resend your activation email');
    const csrf = csrfTokenFrom(resendForm.text);
    const resent = await browser.post(PATHS.signupResend, { email, email_confirm: email, _csrf: csrf });
    assert.equal(resent.status, 303);
    assert.equal(resent.headers.get('location'), PATHS.signupEmailSent);
    const unknown = await browser.post(PATHS.signupResend, {
      email: 'nobody@example.com',
      email_confirm: 'nobody@example.com',
      _csrf: csrf,
    });
    assert.equal(unknown.status, 303, 'an unknown address gets the same answer');
    assert.equal(unknown.headers.get('location'), PATHS.signupEmailSent);
    assert.deepEqual(
      mails(built).map((m) => m.template),
      ['accountActivate', 'accountDuplicationWarning', 'accountActivate'],
      'nothing to an address with no account',
    );

    // Only the newest link works (local backend: a new token replaces the old one).
    const [oldLink, newLink] = mails(built)
      .filter((m) => m.template === 'accountActivate')
      .map((m) => new URL(m.personalisation.activateAccountUrl ?? '').pathname);
    assert.ok(oldLink !== undefined && newLink !== undefined);
    assert.ok(
      html((await browser.get(oldLink)).text).querySelector('[data-qa="activation-problem"]'),
      'the replaced link',
    );
    const tampered = `${newLink.slice(0, -2)}${newLink.endsWith('AA') ? 'BB' : 'AA'}`;
    assert.ok(
      html((await browser.get(tampered)).text).querySelector('[data-qa="activation-problem"]'),
      'a tampered link',
    );
    assert.ok(
      html((await browser.get(`${TOKEN_PATHS.signupConfirm}short`)).text).querySelector(
        '[data-qa="activation-problem"]',
      ),
      'a malformed link',
    );
    assert.ok(html((await browser.get(newLink)).text).querySelector('[data-qa="activated"]'));

    // Active now: a resend tells the owner the account exists, and sends no link. (Activation emptied the session, as
    // live, so the form's token is a new one.)
    const fresh = csrfTokenFrom((await browser.get(PATHS.signupResend)).text);
    assert.equal((await browser.post(PATHS.signupResend, { email, email_confirm: email, _csrf: fresh })).status, 303);
    assert.equal(mails(built).at(-1)?.template, 'accountDuplicationWarning');
  },
);

test(
  'throttles: per address and per recipient, with counters of their own (the victim can ' +
    'still sign in); the hourly email cap',
  async (t) => {
    await t.test(
      'per recipient: the sixth request naming one address in an hour is refused, and its owner ' + 'still signs in',
      async (st) => {
        const built = await build(st, { env: { ACCOUNT_ANSWER_FLOOR_MS: '0' } });
        const browser = new Browser(built.origin);
        const email = 'victim@example.com';
        const csrf = csrfTokenFrom((await browser.get(PATHS.signup)).text);
        assert.equal((await browser.post(PATHS.signup, signupForm(email, csrf))).status, 303);
        const link = new URL(mails(built).at(-1)?.personalisation.activateAccountUrl ?? '').pathname;
        assert.ok(html((await browser.get(link)).text).querySelector('[data-qa="activated"]'));
        const attacker = new Browser(built.origin);
        const token = csrfTokenFrom((await attacker.get(PATHS.signupResend)).text);
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++)
          statuses.push(
            (await attacker.post(PATHS.signupResend, { email, email_confirm: email, _csrf: token })).status,
          );
        assert.deepEqual(statuses, [303, 303, 303, 303, 429], 'one sign-up and four resends, the fifth refused');
        const refused = await attacker.post(PATHS.signup, signupForm(email, token));
        assert.equal(refused.status, 429);
        assert.ok(refused.headers.get('retry-after'));
        assert.ok(built.logs.some((l) => l.event === 'account.activation.resend_throttled' && l.by === 'recipient'));
        // Another address from the same source is still served.
        assert.equal(
          (
            await attacker.post(PATHS.signupResend, {
              email: 'other@example.com',
              email_confirm: 'other@example.com',
              _csrf: token,
            })
          ).status,
          303,
        );
        const victim = new Browser(built.origin);
        const login = await victim.get(PATHS.login);
        assert.equal(
          (await victim.post(PATHS.login, { email, password: SIGNUP_PASSWORD, _csrf: csrfTokenFrom(login.text) }))
            .status,
          303,
          'sign-in has its own counters',
        );
      },
    );

    await t.test('per source address: the 21st request in an hour is refused whatever address it names', async (st) => {
      const built = await build(st, { env: { ACCOUNT_ANSWER_FLOOR_MS: '0' } });
      const browser = new Browser(built.origin);
      const csrf = csrfTokenFrom((await browser.get(PATHS.signupResend)).text);
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++)
        statuses.push(
          (
            await browser.post(PATHS.signupResend, {
              email: `a${String(i)}@example.com`,
              email_confirm: `a${String(i)}@example.com`,
              _csrf: csrf,
            })
          ).status,
        );
      assert.deepEqual(statuses.slice(-2), [303, 429]);
      assert.equal(statuses.filter((s) => s === 429).length, 1);
    });

    await t.test('the cap: no more than MAIL_HOURLY_CAP_PER_RECIPIENT emails to one address in an hour', async (st) => {
      const built = await build(st, { env: { ACCOUNT_ANSWER_FLOOR_MS: '0', MAIL_HOURLY_CAP_PER_RECIPIENT: '2' } });
      const browser = new Browser(built.origin);
      const email = 'flooded@example.com';
      const csrf = csrfTokenFrom((await browser.get(PATHS.signup)).text);
      assert.equal((await browser.post(PATHS.signup, signupForm(email, csrf))).status, 303);
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await browser.post(PATHS.signupResend, { email, email_confirm: email, _csrf: csrf })).status,
          303,
          'the page is the same when capped',
        );
      assert.equal(mails(built).filter((m) => m.to === email).length, 2);
      assert.equal(built.logs.filter((l) => l.msg === 'email dropped: hourly cap for its recipient reached').length, 2);
      assert.ok(!built.logText().includes(email));
    });
  },
);

test('embedded backend: an activation link expires after 24 hours', async (t) => {
  let clock = Date.now();
  let store: Store | undefined;
  const built = await build(t, {
    env: { ACCOUNT_ANSWER_FLOOR_MS: '0' },
    // The same SQLite file as the app's own store, read by an accounts backend with a clock the test moves.
    services: (config, logger) => {
      store = openStore(config.dataDir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
      const db = store.db;
      return createServices(config, { logger, accounts: createLocalAccounts({ db: () => db, now: () => clock }) });
    },
  });
  t.after(() => store?.close());
  const browser = new Browser(built.origin);
  const email = 'late@example.com';
  assert.equal((await signUp(browser, email)).status, 303);
  const link = activationPath(built, email);
  clock += ACCOUNT_TOKEN_LIFETIME_SECONDS * 1000 + 1000;
  assert.ok(html((await browser.get(link)).text).querySelector('[data-qa="activation-problem"]'), 'expired');
});
