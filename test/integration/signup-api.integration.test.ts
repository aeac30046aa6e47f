/**
 * Sign up on the API backend, against the fake LPA API that checks every request and answer against
 * docs/api/lpa-api.openapi.yaml; and the no-enumeration rule: the fake answers a create slowly and an existing
 * address fast, as the API does, and the pages answer every case the same, in the same time (issue 22).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PATHS, TOKEN_PATHS } from '../../src/paths.ts';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import type { Page } from '../helpers/http.ts';
import { SIGNUP_PASSWORD as PASSWORD, mails, signupForm } from '../helpers/signup.ts';

async function setup(
  t: { after(fn: () => unknown): void },
  env: Record<string, string> = {},
): Promise<{ fake: FakeLpaApi; built: Built; browser: Browser; csrf: string }> {
  const fake = await fakeLpaApi();
  t.after(() => fake.close());
  const built = await build(t, {
    env: { API_BASE_URL: fake.origin, EGRESS_ALLOW_PRIVATE: '127.0.0.1', ACCOUNT_ANSWER_FLOOR_MS: '0', ...env },
  });
  t.after(() => {
    assert.deepEqual(fake.violations, [], 'every call and answer kept to the contract');
  });
  const browser = new Browser(built.origin);
  return { fake, built, browser, csrf: csrfTokenFrom((await browser.get(PATHS.signup)).text) };
}

/** An active account in the fake, as if made long ago. */
function existing(fake: FakeLpaApi, email: string, active = true): void {
  const id = randomBytes(16).toString('hex');
  fake.users.set(id, {
    id,
    email,
    password: PASSWORD,
    active,
    activationToken: active ? null : randomBytes(24).toString('base64url'),
    reset: null,
    emailChange: null,
    profile: { id },
    lpas: [],
  });
}

test('API backend: sign up, email, confirm, sign in; an existing address gets a warning; resend', async (t) => {
  const { fake, built, browser, csrf } = await setup(t);
  const email = 'grace.hopper@example.com';
  const sent = await browser.post(PATHS.signup, signupForm(email, csrf));
  assert.equal(sent.status, 303);
  assert.equal(sent.headers.get('location'), PATHS.signupEmailSent);
  assert.ok(fake.calls.some((c) => c.request.operationId === 'createOrActivateUser' && c.answer.status === 200));

  // Resend before activating: the API's same activation token, in a new email.
  assert.equal((await browser.post(PATHS.signupResend, { email, email_confirm: email, _csrf: csrf })).status, 303);
  const links = mails(built)
    .filter((m) => m.template === 'accountActivate')
    .map((m) => new URL(m.personalisation.activateAccountUrl ?? '').pathname);
  assert.equal(links.length, 2);
  const link = links[0] ?? '';
  assert.ok(link.startsWith(TOKEN_PATHS.signupConfirm));

  const tampered = `${link.slice(0, -1)}${link.endsWith('A') ? 'B' : 'A'}`;
  assert.ok(
    html((await browser.get(tampered)).text).querySelector('[data-qa="activation-problem"]'),
    'a tampered token',
  );
  const confirmed = await browser.get(link);
  assert.equal(confirmed.headers.get('referrer-policy'), 'no-referrer');
  assert.ok(html(confirmed.text).querySelector('[data-qa="activated"]'));
  assert.ok(html((await browser.get(link)).text).querySelector('[data-qa="activation-problem"]'), 'used once');

  const login = await browser.get(PATHS.login);
  const signedIn = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(login.text) });
  assert.equal(signedIn.status, 303);
  assert.equal(signedIn.headers.get('location'), PATHS.dashboard);

  const other = new Browser(built.origin);
  const otherCsrf = csrfTokenFrom((await other.get(PATHS.signup)).text);
  assert.equal(
    (await other.post(PATHS.signup, signupForm(email, otherCsrf))).status,
    303,
    'an existing address: the same answer',
  );
  assert.equal((await other.post(PATHS.signupResend, { email, email_confirm: email, _csrf: otherCsrf })).status, 303);
  assert.deepEqual(
    mails(built).map((m) => m.template),
    ['accountActivate', 'accountActivate', 'accountDuplicationWarning', 'accountDuplicationWarning'],
  );
  assert.ok(!built.logText().includes(link.split('/').at(-1) ?? ''), 'no token in the logs');
});

test('API backend: an API outage is an error page, not a false "email sent"', async (t) => {
  const { fake, browser, csrf, built } = await setup(t);
  fake.outage = 500;
  const res = await browser.post(PATHS.signup, signupForm('ada@example.com', csrf));
  assert.ok(res.status >= 500, String(res.status));
  assert.deepEqual(mails(built), []);
});

/** The time one request takes (ms), with its answer. */
async function timed(fn: () => Promise<Page>): Promise<{ ms: number; page: Page }> {
  const start = performance.now();
  const page = await fn();
  return { ms: performance.now() - start, page };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return ((s[Math.floor((s.length - 1) / 2)] ?? 0) + (s[Math.ceil((s.length - 1) / 2)] ?? 0)) / 2;
};

/** Status, location and body of an answer: what a person (or a script) could tell apart. */
const visible = (p: Page) => ({
  status: p.status,
  location: p.headers.get('location'),
  body: p.text,
  headers: [...p.headers.keys()].filter((k) => k !== 'date').sort(),
});

test(
  'no enumeration: /signup and /signup/resend-email answer the same, in the same time, ' + 'whatever the address',
  async (t) => {
    const floor = 400;
    const { fake, built, browser, csrf } = await setup(t, {
      ACCOUNT_ANSWER_FLOOR_MS: String(floor),
      ACCOUNT_THROTTLE_PER_ADDRESS: '1000',
      ACCOUNT_THROTTLE_PER_RECIPIENT: '1000',
    });
    // As the API: creating a user is slow (a password hash, a write), finding an existing one fast.
    fake.delayOf = (req, answer) =>
      req.operationId === 'createOrActivateUser'
        ? answer.status === 200
          ? 300
          : 5
        : req.operationId === 'requestPasswordReset'
          ? answer.status === 404
            ? 5
            : 150
          : undefined;
    const pairs = 20;
    for (let i = 0; i < pairs; i++) existing(fake, `taken${String(i)}@example.com`);
    for (let i = 0; i < pairs; i++) existing(fake, `inactive${String(i)}@example.com`, false);

    // The session exists before the pairs, so both of a pair find the same session state (the first POST makes it).
    assert.equal(
      (
        await browser.post(PATHS.signupResend, {
          email: 'warm-up@example.com',
          email_confirm: 'warm-up@example.com',
          _csrf: csrf,
        })
      ).status,
      303,
    );
    const signupDiffs: number[] = [];
    const resendDiffs: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const fresh = await timed(() => browser.post(PATHS.signup, signupForm(`new${String(i)}@example.com`, csrf)));
      const taken = await timed(() => browser.post(PATHS.signup, signupForm(`taken${String(i)}@example.com`, csrf)));
      assert.deepEqual(visible(taken.page), visible(fresh.page), 'the same answer for a new and an existing address');
      signupDiffs.push(fresh.ms - taken.ms);

      const unknown = await timed(() =>
        browser.post(PATHS.signupResend, {
          email: `nobody${String(i)}@example.com`,
          email_confirm: `nobody${String(i)}@example.com`,
          _csrf: csrf,
        }),
      );
      const inactive = await timed(() =>
        browser.post(PATHS.signupResend, {
          email: `inactive${String(i)}@example.com`,
          email_confirm: `inactive${String(i)}@example.com`,
          _csrf: csrf,
        }),
      );
      assert.deepEqual(
        visible(inactive.page),
        visible(unknown.page),
        'the same answer for an unknown and an inactive address',
      );
      resendDiffs.push(inactive.ms - unknown.ms);
      assert.ok(
        fresh.ms >= floor && taken.ms >= floor && unknown.ms >= floor && inactive.ms >= floor,
        'every answer waits for the floor',
      );
    }
    t.diagnostic(
      `median difference: sign up ${median(signupDiffs).toFixed(1)} ms, ` +
        `resend ${median(resendDiffs).toFixed(1)} ms`,
    );
    assert.ok(Math.abs(median(signupDiffs)) < 50, `sign up: median difference ${median(signupDiffs).toFixed(1)} ms`);
    assert.ok(Math.abs(median(resendDiffs)) < 50, `resend: median difference ${median(resendDiffs).toFixed(1)} ms`);
    // The emails are what differ: activation for new and inactive addresses, a warning for taken ones, none for
    // unknown.
    const templates = mails(built).map((m) => m.template);
    assert.equal(templates.filter((x) => x === 'accountActivate').length, 2 * pairs);
    assert.equal(templates.filter((x) => x === 'accountDuplicationWarning').length, pairs);
  },
);
