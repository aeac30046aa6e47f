/**
 * The password pages on the API backend (issue 22), against the fake LPA API whose every request and answer is
 * checked against docs/api/lpa-api.openapi.yaml: forgot → email → reset → sign in; change with two real sessions;
 * no enumeration by timing (the fake answers an account slowly and no account fast; medians over 20 pairs).
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import { MAIL_FILE } from '../../src/backends/mail.ts';
import { PATHS } from '../../src/paths.ts';

const OLD = 'Old-password-2024x';
const NEW = 'Brand-new-Passw0rd-x';
let fake: FakeLpaApi;

before(async () => {
  fake = await fakeLpaApi();
});
after(async () => {
  await fake.close();
});

function addUser(email: string, active = true): void {
  const id = randomBytes(16).toString('hex');
  const at = new Date().toISOString().replace(/\.\d{3}Z$/, '+0000');
  fake.users.set(id, {
    id,
    email,
    password: OLD,
    active,
    activationToken: active ? null : randomBytes(24).toString('base64url'),
    reset: null,
    emailChange: null,
    profile: { id, createdAt: at, updatedAt: at, name: { title: null, first: 'Pat', last: 'Smith' } },
    lpas: [],
  });
}

async function app(t: TestContext, floorMs = 0): Promise<Built> {
  return build(t, {
    env: { API_BASE_URL: fake.origin, EGRESS_ALLOW_PRIVATE: '127.0.0.1', ACCOUNT_ANSWER_FLOOR_MS: String(floorMs) },
    services: (config, logger) => createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } }),
  });
}

function lastMail(built: Built, to: string): { template: string; personalisation: Record<string, string> } {
  const file = join(built.config.dataDir, MAIL_FILE);
  const all = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { to: string; template: string; personalisation: Record<string, string> })
    : [];
  const found = all.filter((m) => m.to === to).at(-1);
  assert.ok(found !== undefined, `an email to ${to}`);
  return found;
}

async function forgot(built: Built, email: string) {
  const browser = new Browser(built.origin);
  const form = await browser.get(PATHS.forgotPassword);
  return browser.post(PATHS.forgotPassword, { email, email_confirm: email, _csrf: csrfTokenFrom(form.text) });
}

async function signIn(built: Built, email: string, password: string): Promise<Browser> {
  const browser = new Browser(built.origin);
  const form = await browser.get(PATHS.login);
  assert.equal((await browser.post(PATHS.login, { email, password, _csrf: csrfTokenFrom(form.text) })).status, 303);
  return browser;
}

describe('password pages on the API backend', () => {
  test(
    'forgot → email → reset → sign in; a reset signs out the sessions of the account; the ' + 'contract holds',
    async (t) => {
      const built = await app(t);
      addUser('api-reset@example.com');
      const signedIn = await signIn(built, 'api-reset@example.com', OLD);
      assert.equal((await forgot(built, 'api-reset@example.com')).status, 200);
      const path = new URL(lastMail(built, 'api-reset@example.com').personalisation.forgotPasswordUrl ?? '').pathname;
      const browser = new Browser(built.origin);
      const form = await browser.get(path);
      const done = await browser.post(path, { password: NEW, password_confirm: NEW, _csrf: csrfTokenFrom(form.text) });
      assert.equal(done.status, 303);
      assert.equal(done.headers.get('location'), PATHS.login);
      assert.equal((await signedIn.get(PATHS.dashboard)).status, 302, 'signed out at its next request');
      await signIn(built, 'api-reset@example.com', NEW);
      const again = await browser.get(path);
      const reused = await browser.post(path, {
        password: NEW,
        password_confirm: NEW,
        _csrf: csrfTokenFrom(again.text),
      });
      assert.match(html(reused.text).querySelector('h1')?.textContent ?? '', /That password link does not work/);
      addUser('api-inactive@example.com', false);
      await forgot(built, 'api-inactive@example.com');
      assert.equal(lastMail(built, 'api-inactive@example.com').template, 'accountActivate');
      await forgot(built, 'api-nobody@example.com');
      assert.equal(lastMail(built, 'api-nobody@example.com').template, 'passwordResetNoAccount');
      assert.deepEqual(fake.violations, []);
    },
  );

  test('an expired reset link (24 h at the API) is "That password link does not work", and stays so', async (t) => {
    const built = await app(t);
    addUser('api-expired@example.com');
    await forgot(built, 'api-expired@example.com');
    const path = new URL(lastMail(built, 'api-expired@example.com').personalisation.forgotPasswordUrl ?? '').pathname;
    fake.clock += 86_400_000 + 1000;
    t.after(() => {
      fake.clock = Date.now();
    });
    const browser = new Browser(built.origin);
    const form = await browser.get(path);
    const res = await browser.post(path, { password: NEW, password_confirm: NEW, _csrf: csrfTokenFrom(form.text) });
    assert.equal(res.status, 200);
    assert.match(html(res.text).querySelector('h1')?.textContent ?? '', /That password link does not work/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(built.logs.filter((l) => l.event === 'account.password_reset.refused').length, 1);
  });

  test('change: this session on the new token, the other one signed out at once; the contract holds', async (t) => {
    const built = await app(t);
    addUser('api-change@example.com');
    const here = await signIn(built, 'api-change@example.com', OLD);
    const elsewhere = await signIn(built, 'api-change@example.com', OLD);
    const form = await here.get(PATHS.changePassword);
    const wrong = await here.post(PATHS.changePassword, {
      password_current: 'Not-the-passw0rd',
      password: NEW,
      password_confirm: NEW,
      _csrf: csrfTokenFrom(form.text),
    });
    assert.equal(wrong.status, 400);
    const ok = await here.post(PATHS.changePassword, {
      password_current: OLD,
      password: NEW,
      password_confirm: NEW,
      _csrf: csrfTokenFrom(form.text),
    });
    assert.equal(ok.status, 303);
    assert.equal((await here.get(PATHS.dashboard)).status, 200);
    assert.equal((await elsewhere.get(PATHS.dashboard)).status, 302);
    assert.equal(lastMail(built, 'api-change@example.com').template, 'passwordChanged');
    assert.deepEqual(fake.violations, []);
  });

  test(
    'no enumeration by timing: an account (API 300 ms) and no account (5 ms) answer alike, ' +
      'median pair difference within 50 ms',
    async (t) => {
      const built = await app(t, 400);
      for (let i = 0; i < 20; i++) addUser(`timing-${String(i)}@example.com`);
      const known: number[] = [];
      const unknown: number[] = [];
      const bodies = new Set<string>();
      const timed = async (email: string, delay: number, into: number[]) => {
        fake.delays.set('requestPasswordReset', delay);
        const browser = new Browser(built.origin);
        const form = await browser.get(PATHS.forgotPassword);
        const csrf = csrfTokenFrom(form.text);
        const started = performance.now();
        const res = await browser.post(PATHS.forgotPassword, { email, email_confirm: email, _csrf: csrf });
        into.push(performance.now() - started);
        assert.equal(res.status, 200);
        bodies.add(
          html(res.text).querySelector('main')?.textContent.replace(email, 'EMAIL').replace(/\s+/g, ' ') ?? '',
        );
      };
      for (let i = 0; i < 20; i++) {
        // A fresh address each time, so no request is throttled (a throttled one calls no API).
        await timed(`timing-${String(i)}@example.com`, 300, known);
        await timed(`nobody-${String(i)}@example.com`, 5, unknown);
      }
      fake.delays.delete('requestPasswordReset');
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      // Per pair (back to back), so load from other tests that comes and goes slows both of a pair alike.
      const gaps = known.map((k, i) => k - (unknown[i] ?? 0));
      t.diagnostic(
        `median known ${median(known).toFixed(0)} ms, unknown ${median(unknown).toFixed(0)} ms, ` +
          `pair difference ${median(gaps).toFixed(0)} ms`,
      );
      assert.ok(
        Math.abs(median(gaps)) < 50,
        `median pair difference ${median(gaps).toFixed(1)} ms (medians ${String(median(known))} vs ` +
          `${String(median(unknown))})`,
      );
      assert.equal(bodies.size, 1, 'one page');
    },
  );
});
