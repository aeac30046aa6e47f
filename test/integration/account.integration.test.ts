/**
 * The account pages (issue 22, ADR 0049) over real HTTP, on the embedded backend (SQLite, links read from
 * DATA_DIR/mail.jsonl) and on the API backend against the fake LPA API, whose every request and answer is checked
 * against docs/api/lpa-api.openapi.yaml: change of address end to end, the verify link's reuse, expiry and tampering,
 * CSRF on every POST, deletion ending every sign-in, and the audit lines (keyed hash, never an address or a token).
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DatabaseSync } from 'node:sqlite';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import { en } from '../helpers/words.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { createUserHasher } from '../../src/features/sign-in/audit.ts';
import { PATHS, TOKEN_PATHS } from '../../src/paths.ts';
import { SESSION_KEYS } from '../../src/sessions/session-store.ts';
import { TEST_SECRET } from '../helpers/app.ts';

const PASSWORD = 'Correct horse battery 42';
const hash = createUserHasher(Buffer.from(TEST_SECRET));

interface MailLine {
  to: string;
  template: string;
  personalisation: Record<string, string>;
}

function mails(built: Built): MailLine[] {
  const file = join(built.config.dataDir, 'mail.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as MailLine);
}

function verifyPath(built: Built, to: string): string {
  const line = mails(built)
    .filter((m) => m.to === to && m.template === 'newEmailVerify')
    .at(-1);
  assert.ok(line, `a verify email to ${to}`);
  const url = new URL(line.personalisation.changeEmailAddressUrl ?? '');
  assert.equal(url.origin, built.config.publicOrigin.origin);
  return url.pathname;
}

async function localApp(t: TestContext): Promise<Built> {
  return build(t, {
    services: (config, logger) => createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } }),
  });
}

async function apiApp(t: TestContext): Promise<{ built: Built; fake: FakeLpaApi }> {
  const fake = await fakeLpaApi();
  t.after(() => fake.close());
  const built = await build(t, {
    env: { API_BASE_URL: fake.origin, EGRESS_ALLOW_PRIVATE: '127.0.0.1' },
    services: (config, logger) => createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } }),
  });
  return { built, fake };
}

async function addUser(built: Built, email: string): Promise<void> {
  if (built.services.accounts.kind === 'local') {
    // Named: a user with no name is sent to /user/about-you/new from every signed-in page (profile-gate.ts).
    await (built.services.credentials as LocalCredentials).addUser({
      email,
      password: PASSWORD,
      name: { first: 'Pat', last: 'Smith' },
    });
    return;
  }
  const created = await built.services.accounts.register(email, PASSWORD);
  assert.ok(created.outcome === 'created');
  assert.equal(await built.services.accounts.activate(created.activationToken), 'activated');
  const signedIn = await built.services.credentials.authenticate(email, PASSWORD, 'test');
  assert.ok(signedIn.ok);
  assert.ok(
    await built.services.accounts.updateDetails(signedIn.userId, signedIn.token, {
      name: { first: 'Pat', last: 'Smith' },
      dob: null,
      address: null,
    }),
  );
}

async function signIn(built: Built, email: string, password = PASSWORD): Promise<{ browser: Browser; status: number }> {
  const browser = new Browser(built.origin);
  const form = await browser.get(PATHS.login);
  const res = await browser.post(PATHS.login, { email, password, _csrf: csrfTokenFrom(form.text) });
  return { browser, status: res.status };
}

async function signedIn(built: Built, email: string): Promise<Browser> {
  const { browser, status } = await signIn(built, email);
  assert.equal(status, 303, `${email} signs in`);
  return browser;
}

async function askForChange(browser: Browser, fields: Record<string, string>) {
  const form = await browser.get(PATHS.changeEmail);
  assert.equal(form.status, 200);
  return browser.post(PATHS.changeEmail, { ...fields, _csrf: csrfTokenFrom(form.text) });
}

function auditLines(built: Built, event: string): Record<string, unknown>[] {
  return built.logs.filter((l) => l.audit === true && l.event === event);
}

/** Everything the app logged except the access lines (whose path redaction is the mail layer's part of issue 22). */
function appLogText(built: Built): string {
  return built.logs
    .filter((l) => l.msg !== 'request')
    .map((l) => JSON.stringify(l))
    .join('\n');
}

async function changeEmailJourney(built: Built, old: string, next: string): Promise<void> {
  await addUser(built, old);
  const browser = await signedIn(built, old);
  const page = await browser.get(PATHS.changeEmail);
  assert.equal(
    html(page.text).querySelector('[data-qa="current-email"] strong')?.text,
    old,
    'the current address is shown',
  );

  const tokenOf = async (b: Browser) =>
    String(
      (
        (
          await built.services.sessionStore.load((b.cookies.get(built.config.sessionCookieName) ?? '').slice(0, 32))
        )?.get(SESSION_KEYS.identity) as Record<string, unknown> | undefined
      )?.token,
    );
  const before = await tokenOf(browser);
  const sent = await askForChange(browser, { password_current: PASSWORD, email: next, email_confirm: next });
  // As live, the password check is a new sign-in whose token replaces the session's; the old one ends (ADR 0019).
  const after = await tokenOf(browser);
  assert.notEqual(after, before);
  assert.equal(await built.services.revocations.isRevoked(before), true, 'the replaced token is on the deny-list');
  assert.equal(sent.status, 200);
  assert.ok(
    (html(sent.text).querySelector('[data-qa="email-sent"]')?.text ?? '').includes(next),
    'the page names the new address',
  );
  // As the live front: the old address is told, the new one gets the link.
  const notify = mails(built).find((m) => m.to === old && m.template === 'newEmailNotify');
  assert.deepEqual(notify?.personalisation, { newEmailAddress: next });
  const link = verifyPath(built, next);
  assert.ok(link.startsWith(TOKEN_PATHS.changeEmailVerify));
  assert.equal(
    (await browser.get(PATHS.dashboard)).status,
    200,
    'still signed in after asking (the new sign-in replaced the old)',
  );

  const verified = await browser.get(link);
  assert.equal(
    await built.services.revocations.isRevoked(after),
    true,
    'the link signed this browser out: its token is on the deny-list',
  );
  assert.equal(verified.status, 303);
  assert.equal(verified.headers.get('location'), PATHS.login);
  assert.equal(verified.headers.get('referrer-policy'), 'no-referrer');
  // As live: the session is emptied, so this browser is signed out and told to sign in with the new address.
  const login = await browser.get(PATHS.login);
  assert.equal(
    html(login.text).querySelector('.govuk-notification-banner__content')?.text.trim(),
    en('account:changeEmail.verified'),
  );
  assert.notEqual((await browser.get(PATHS.dashboard)).status, 200);

  assert.notEqual((await signIn(built, old)).status, 303, 'the old address no longer signs in');
  const fresh = await signedIn(built, next);
  assert.equal((await fresh.get(PATHS.dashboard)).status, 200);

  const requested = auditLines(built, 'account.email_change.requested');
  assert.equal(requested.length, 1);
  assert.deepEqual([requested[0]?.userHash, requested[0]?.newUserHash], [hash(old), hash(next)]);
  assert.equal(auditLines(built, 'account.email_change.verified').length, 1);
  const logged = appLogText(built);
  const token = link.split('/').at(-1) ?? '';
  for (const secret of [old, next, PASSWORD, token])
    assert.ok(!logged.includes(secret), 'no address, password or token in the app log');
}

describe('change of sign-in address', () => {
  test('embedded: ask, follow the link from mail.jsonl, sign in with the new address', async (t) => {
    const built = await localApp(t);
    await changeEmailJourney(built, 'old.address@example.com', 'new.address@example.com');
  });

  test('API backend, against the contract-checked fake API', async (t) => {
    const { built, fake } = await apiApp(t);
    await changeEmailJourney(built, 'old.api@example.com', 'new.api@example.com');
    assert.deepEqual(fake.violations, []);
    assert.ok(fake.calls.some((c) => c.request.operationId === 'requestEmailChange'));
    assert.ok(fake.calls.some((c) => c.request.operationId === 'verifyEmailChange'));
  });

  test('the page refuses as the live form does: empty, wrong password, mismatch, same, taken, invalid', async (t) => {
    const built = await localApp(t);
    await addUser(built, 'refuse@example.com');
    await addUser(built, 'taken@example.com');
    const browser = await signedIn(built, 'refuse@example.com');
    const cases: [Record<string, string>, string, string][] = [
      [{}, '#password_current', en('account:changeEmail.password.required')],
      [
        { password_current: PASSWORD, email: '', email_confirm: '' },
        '#email',
        en('account:changeEmail.email.required'),
      ],
      [
        { password_current: PASSWORD, email: 'a@b.com', email_confirm: '' },
        '#email_confirm',
        en('account:changeEmail.confirm.required'),
      ],
      [
        { password_current: PASSWORD, email: 'not-an-address', email_confirm: 'not-an-address' },
        '#email',
        en('account:changeEmail.email.invalid'),
      ],
      [
        { password_current: PASSWORD, email: 'a@b.com', email_confirm: 'c@d.com' },
        '#email_confirm',
        en('account:changeEmail.confirm.mismatch'),
      ],
      [
        { password_current: 'Wrong password 99', email: 'a@b.com', email_confirm: 'a@b.com' },
        '#password_current',
        en('account:changeEmail.password.incorrect'),
      ],
      [
        { password_current: PASSWORD, email: 'refuse@example.com', email_confirm: 'refuse@example.com' },
        '#email',
        en('account:changeEmail.email.same'),
      ],
      [
        { password_current: PASSWORD, email: 'taken@example.com', email_confirm: 'taken@example.com' },
        '#email',
        en('account:changeEmail.email.taken'),
      ],
    ];
    for (const [fields, href, message] of cases) {
      const res = await askForChange(browser, fields);
      assert.equal(res.status, 400, JSON.stringify(fields));
      const link = html(res.text).querySelector(`.govuk-error-summary a[href="${href}"]`);
      assert.equal(link?.text.trim(), message, JSON.stringify(fields));
      assert.ok(!res.text.includes(PASSWORD), 'the password is never shown back');
    }
    assert.equal(mails(built).length, 0, 'nothing sent');
    assert.equal(
      auditLines(built, 'account.email_change.refused').find((l) => l.reason === 'wrong-password')?.userHash,
      hash('refuse@example.com'),
    );
  });

  test('CSRF: a POST without the token is refused and sends nothing', async (t) => {
    const built = await localApp(t);
    await addUser(built, 'csrf@example.com');
    const browser = await signedIn(built, 'csrf@example.com');
    const res = await browser.post(PATHS.changeEmail, {
      password_current: PASSWORD,
      email: 'x@example.com',
      email_confirm: 'x@example.com',
    });
    assert.equal(res.status, 403);
    assert.equal(mails(built).length, 0);
  });

  test('signed out: the form is not shown', async (t) => {
    const built = await localApp(t);
    const res = await new Browser(built.origin).get(PATHS.changeEmail);
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location') ?? '', /^\/login/);
  });

  for (const backend of ['embedded', 'api'] as const) {
    test(
      `${backend}: the link works once, not tampered with, not after 24 hours; every failure is ` + `the same page`,
      async (t) => {
        let built: Built;
        let expire: (link: string) => void;
        if (backend === 'api') {
          const api = await apiApp(t);
          built = api.built;
          expire = () => {
            api.fake.clock += 24 * 3_600_000 + 1000;
          };
          t.after(() => {
            assert.deepEqual(api.fake.violations, []);
          });
        } else {
          built = await localApp(t);
          // A real fault on the real store: the token's row says it expired a second ago.
          expire = () => {
            const db = new DatabaseSync(join(built.config.dataDir, 'lpa-front.sqlite'));
            try {
              db.prepare("UPDATE account_tokens SET expires_at = ? WHERE purpose = 'email'").run(Date.now() - 1000);
            } finally {
              db.close();
            }
          };
        }
        await addUser(built, `once.${backend}@example.com`);
        const browser = await signedIn(built, `once.${backend}@example.com`);
        await askForChange(browser, {
          password_current: PASSWORD,
          email: `twice.${backend}@example.com`,
          email_confirm: `twice.${backend}@example.com`,
        });
        const link = verifyPath(built, `twice.${backend}@example.com`);

        const failedPage = async (path: string) => {
          const res = await new Browser(built.origin).get(path);
          assert.equal(res.status, 400, path);
          assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
          assert.equal(html(res.text).querySelector('h1')?.text.trim(), en('account:changeEmail.failed.title'));
          return res.text.replace(/nonce="[^"]*"|value="[^"]*"/g, '');
        };
        const last = link.at(-1) === 'A' ? 'B' : 'A';
        const tampered = await failedPage(link.slice(0, -1) + last);
        assert.equal(
          await failedPage(`${TOKEN_PATHS.changeEmailVerify}short`),
          tampered,
          'the same page whatever was wrong',
        );
        // A HEAD (a mail scanner) spends nothing: the link then works, once.
        assert.equal((await fetch(built.origin + link, { method: 'HEAD' })).status, 200);
        assert.equal((await new Browser(built.origin).get(link)).status, 303, 'first use');
        assert.equal(await failedPage(link), tampered, 'used');
        const now = `twice.${backend}@example.com`;
        const again = await signedIn(built, now);

        // The next link expires unused.
        await askForChange(again, {
          password_current: PASSWORD,
          email: `late.${backend}@example.com`,
          email_confirm: `late.${backend}@example.com`,
        });
        const lateLink = verifyPath(built, `late.${backend}@example.com`);
        expire(lateLink);
        assert.equal(await failedPage(lateLink), tampered, 'expired');
        assert.notEqual(
          (await signIn(built, `late.${backend}@example.com`)).status,
          303,
          'the expired link changed nothing',
        );
        assert.equal(auditLines(built, 'account.email_change.verify_failed').length, 4);
      },
    );
  }
});

async function deleteJourney(built: Built, email: string): Promise<void> {
  await addUser(built, email);
  const browser = await signedIn(built, email);
  const other = await signedIn(built, email);
  const sessionId = (browser.cookies.get(built.config.sessionCookieName) ?? '').slice(0, 32);
  const identity = (await built.services.sessionStore.load(sessionId))?.get(SESSION_KEYS.identity);
  // An evidence file of the user's, stored (ADR 0040): it goes with the account.
  const userId = String((identity as Record<string, unknown> | undefined)?.userId);
  const evidence = built.services.evidence;
  const fileId = await evidence.files.reserve(userId, null, 'letter.pdf', 5, Date.now());
  assert.ok(fileId !== undefined);
  const stored = await evidence.storage.put(Readable.from([Buffer.from('%PDF-1.4\n%%EOF\n')]), { maxBytes: 1 << 20 });
  await evidence.files.stored(fileId, stored.key, 'application/pdf', stored.bytes);

  const warning = await browser.get(PATHS.deleteAccount);
  assert.equal(warning.status, 200);
  const doc = html(warning.text);
  assert.equal(doc.querySelector(`form[action="${PATHS.deleteAccountConfirm}"]`)?.getAttribute('method'), 'post');
  assert.equal(doc.querySelector('[data-qa="delete-cancel"]')?.getAttribute('href'), PATHS.dashboard);

  const deleted = await browser.post(PATHS.deleteAccountConfirm, { _csrf: csrfTokenFrom(warning.text) });
  assert.equal(deleted.status, 303);
  assert.equal(deleted.headers.get('location'), PATHS.deleted);
  assert.equal(browser.cookies.has(built.config.sessionCookieName), false, 'the session is destroyed');
  const page = await browser.get(PATHS.deleted);
  assert.equal(page.status, 200);
  assert.equal(html(page.text).querySelector('h1')?.text.trim(), en('account:deleted.title'));

  assert.deepEqual(await evidence.files.forUser(userId), [], "the user's evidence files are deleted with the account");
  assert.notEqual((await signIn(built, email)).status, 303, 'the account cannot sign in');
  assert.notEqual((await other.get(PATHS.dashboard)).status, 200, 'the other session is signed out');
  // A copy of the deleted session's identity (a request in flight, a stolen value) is refused: the deny-list.
  assert.ok(identity !== undefined && identity !== null);
  assert.equal(await built.services.revocations.isRevoked(String((identity as Record<string, unknown>).token)), true);

  const success = auditLines(built, 'account.delete.success');
  assert.equal(success.length, 1);
  assert.equal(success[0]?.userHash, hash(email));
  assert.ok(!appLogText(built).includes(email));
}

describe('delete account', () => {
  test('embedded: warning, confirm, /deleted; the account and every session are gone', async (t) => {
    await deleteJourney(await localApp(t), 'delete.me@example.com');
  });

  test('API backend, against the contract-checked fake API', async (t) => {
    const { built, fake } = await apiApp(t);
    await deleteJourney(built, 'delete.api@example.com');
    assert.deepEqual(fake.violations, []);
    assert.ok(fake.calls.some((c) => c.request.operationId === 'deleteUser'));
  });

  test(
    'an API outage at deletion: the warning page again with the error, status 500, nothing ' + 'deleted, audited',
    async (t) => {
      const { built, fake } = await apiApp(t);
      await addUser(built, 'outage@example.com');
      const browser = await signedIn(built, 'outage@example.com');
      const warning = await browser.get(PATHS.deleteAccount);
      fake.outage = 503;
      const res = await browser.post(PATHS.deleteAccountConfirm, { _csrf: csrfTokenFrom(warning.text) });
      fake.outage = undefined;
      assert.equal(res.status, 500);
      assert.equal(
        html(res.text).querySelector('[data-qa="error-summary"] p')?.text.trim(),
        en('account:delete.failed'),
      );
      assert.ok(
        html(res.text).querySelector(`form[action="${PATHS.deleteAccountConfirm}"]`),
        'the button to try again',
      );
      assert.equal((await browser.get(PATHS.dashboard)).status, 200, 'still signed in, account still there');
      assert.equal(auditLines(built, 'account.delete.failure')[0]?.reason, 'backend-error');
      assert.deepEqual(
        fake.violations.filter((v) => !v.includes('(503)')),
        [],
      );
    },
  );

  test('CSRF: a POST without the token deletes nothing', async (t) => {
    const built = await localApp(t);
    await addUser(built, 'keep.me@example.com');
    const browser = await signedIn(built, 'keep.me@example.com');
    assert.equal((await browser.post(PATHS.deleteAccountConfirm, {})).status, 403);
    assert.equal((await browser.post(PATHS.deleteAccount, {})).status, 403);
    assert.equal((await browser.get(PATHS.dashboard)).status, 200, 'still signed in, account still there');
  });

  test(
    'GET of the confirm path deletes only as a link followed on this site (as live); ' + 'otherwise it asks',
    async (t) => {
      const built = await localApp(t);
      await addUser(built, 'get.delete@example.com');
      const browser = await signedIn(built, 'get.delete@example.com');
      const refused: Record<string, string>[] = [
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'none' },
        { 'sec-fetch-site': 'same-origin', 'sec-purpose': 'prefetch' },
        { referer: 'https://evil.example/' },
        {},
      ];
      for (const headers of refused) {
        const res = await browser.get(PATHS.deleteAccountConfirm, headers);
        assert.equal(res.status, 200, JSON.stringify(headers));
        assert.ok(
          html(res.text).querySelector(`form[action="${PATHS.deleteAccountConfirm}"]`),
          'the warning page with its button',
        );
      }
      assert.equal((await browser.get(PATHS.dashboard)).status, 200, 'nothing deleted');
      const res = await browser.get(PATHS.deleteAccountConfirm, { 'sec-fetch-site': 'same-origin' });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), PATHS.deleted);
      assert.notEqual((await signIn(built, 'get.delete@example.com')).status, 303);
    },
  );

  test('/deleted is public and signs no one out', async (t) => {
    const built = await localApp(t);
    await addUser(built, 'visitor@example.com');
    assert.equal((await new Browser(built.origin).get(PATHS.deleted)).status, 200);
    const browser = await signedIn(built, 'visitor@example.com');
    assert.equal((await browser.get(PATHS.deleted)).status, 200);
    assert.equal((await browser.get(PATHS.dashboard)).status, 200, 'a link to /deleted from anywhere signs no one out');
  });
});
