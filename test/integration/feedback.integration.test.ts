// The feedback journey over real HTTP, against the whole app: form, CSRF, validation, escaping, limits,
// the bot check, the thanks page's Continue link, and delivery to the embedded store or the API outbox.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, hiddenFieldsFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import { openStore } from '../../src/backends/sqlite-store.ts';
import type { Store } from '../../src/backends/sqlite-store.ts';
import { PATHS } from '../../src/paths.ts';
import { MESSAGES as MESSAGE_KEYS, TOO_FAST_TARGET } from '../../src/features/feedback/feedback-schema.ts';
import { english } from '../helpers/words.ts';

const MESSAGES = english(MESSAGE_KEYS);

const PUBLIC_ORIGIN = 'http://127.0.0.1:8005';
const VALID = { rating: 'satisfied', details: 'Clear and quick.', email: 'Someone@Example.com', phone: '', send: '' };

interface Setup {
  readonly built: Built;
  readonly dataDir: string;
  /** A second connection to the app's SQLite file, to look at what was stored. */
  readonly store: Store;
}

async function setup(t: TestContext, env: Record<string, string> = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-feedback-it-'));
  const dataDir = join(dir, 'data');
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const built = await build(t, {
    env: { DATA_DIR: dataDir, ...env },
    services: (config) => createServices(config, { logger: pino({ level: 'silent' }) }),
  });
  const store = openStore(dataDir);
  t.after(() => {
    store.close();
  });
  return { built, dataDir, store };
}

/** A visitor who has opened the form: cookie kept, token (and every other hidden field) scraped from the page. */
async function visitor(
  origin: string,
  headers?: Record<string, string>,
): Promise<{ browser: Browser; token: string; page: string; hidden: Record<string, string> }> {
  const browser = new Browser(origin, PUBLIC_ORIGIN);
  const page = await browser.get(PATHS.feedback, headers);
  assert.equal(page.status, 200);
  return {
    browser,
    token: csrfTokenFrom(page.text),
    page: page.text,
    hidden: hiddenFieldsFrom(page.text, PATHS.feedback),
  };
}

function summaryErrors(text: string): string[] {
  return html(text)
    .querySelectorAll('.govuk-error-summary__list li')
    .map((li) => li.text.trim());
}

describe('GET /send-feedback', () => {
  test('shows the form: token, fields, wording and attributes', async (t) => {
    const { built } = await setup(t);
    const browser = new Browser(built.origin, PUBLIC_ORIGIN);
    const res = await browser.get(PATHS.feedback);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.deepEqual(
      [...browser.cookies.keys()],
      ['lpa-form'],
      'only the form cookie: no session is made for looking at a form (ADR 0022)',
    );
    const doc = html(res.text);
    const form = doc.querySelector(`form[action="${PATHS.feedback}"]`);
    assert.ok(form);
    assert.equal(form.getAttribute('method'), 'post');
    assert.ok(form.hasAttribute('novalidate'));
    assert.match(csrfTokenFrom(res.text), /^[0-9a-f]{32,}$/);
    const radios = form.querySelectorAll('input[type="radio"][name="rating"]');
    assert.deepEqual(
      radios.map((r) => r.getAttribute('value')),
      ['very-satisfied', 'satisfied', 'neither-satisfied-or-dissatisfied', 'dissatisfied', 'very-dissatisfied'],
    );
    assert.deepEqual(
      radios.map((r) => doc.querySelector(`label[for="${r.id}"]`)?.text.trim()),
      ['Very satisfied', 'Satisfied', 'Neither satisfied or dissatisfied', 'Dissatisfied', 'Very dissatisfied'],
    );
    assert.equal(radios[0]?.id, 'rating', 'the error summary link #rating lands on the first radio');
    assert.ok(form.querySelector('textarea#details[name="details"]'));
    assert.equal(form.querySelector('[data-module="govuk-character-count"]')?.getAttribute('data-maxlength'), '2000');
    const email = form.querySelector('input#email');
    assert.equal(email?.getAttribute('type'), 'email');
    assert.equal(email.getAttribute('autocomplete'), 'email');
    assert.equal(email.getAttribute('spellcheck'), 'false');
    const phone = form.querySelector('input#phone');
    assert.equal(phone?.getAttribute('type'), 'tel');
    assert.equal(phone.getAttribute('autocomplete'), 'tel');
    const button = form.querySelector('button[name="send"]');
    assert.equal(button?.text.trim(), 'Send feedback');
    assert.equal(
      form.querySelectorAll('input[type="hidden"]').length,
      1,
      'no honeypot: the only hidden field is _csrf',
    );
  });
});

describe('POST /send-feedback', () => {
  test('with the scraped token and cookie: 303 to thanks, stored in the embedded store', async (t) => {
    const { built, store } = await setup(t);
    const { browser, hidden } = await visitor(built.origin, { referer: `${PUBLIC_ORIGIN}/cookies?secret=1` });
    assert.equal(hidden.fromPage, '/cookies', 'the path only, carried in the form');
    const res = await browser.post(PATHS.feedback, { ...hidden, ...VALID }, { 'user-agent': 'TestAgent/1.0' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `${PATHS.feedbackThanks}?returnTarget=%2Fcookies`);
    const rows = store.listFeedback(10);
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0]?.payload, {
      rating: 'satisfied',
      details: 'Clear and quick.',
      email: 'someone@example.com',
      phone: '',
      agent: 'TestAgent/1.0',
      fromPage: '/cookies',
    });
    const thanks = await browser.get(res.headers.get('location') ?? '');
    assert.equal(thanks.status, 200);
    assert.equal(html(thanks.text).querySelector('.govuk-panel__title')?.text.trim(), 'Thank you for your feedback');
    assert.equal(html(thanks.text).querySelector('a[data-qa="continue"]')?.getAttribute('href'), '/cookies');
  });

  test('fromPage is Unknown without a same-origin Referer', async (t) => {
    const { built, store } = await setup(t);
    const { browser, hidden } = await visitor(built.origin, { referer: 'https://evil.example/cookies' });
    assert.deepEqual(Object.keys(hidden), ['_csrf']);
    const res = await browser.post(PATHS.feedback, { ...hidden, ...VALID });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), PATHS.feedbackThanks);
    assert.equal((store.listFeedback(1)[0]?.payload as Record<string, string>).fromPage, 'Unknown');
    // A fromPage field that is not a local path is not recorded either.
    for (const fromPage of ['https://evil.example/', '//evil.example', PATHS.feedbackThanks, `/${'x'.repeat(600)}`]) {
      assert.equal(
        (await browser.post(PATHS.feedback, { ...hidden, ...VALID, fromPage })).headers.get('location'),
        PATHS.feedbackThanks,
        fromPage,
      );
    }
    assert.deepEqual(
      store.listFeedback(10).map((r) => (r.payload as Record<string, string>).fromPage),
      ['Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown'],
    );
  });

  test(
    "CSRF: 403 without a token, with another visitor's, without the cookie, and cross-site; " + 'nothing stored',
    async (t) => {
      const { built, store } = await setup(t);
      const alice = await visitor(built.origin);
      const bob = await visitor(built.origin);
      assert.notEqual(alice.token, bob.token);

      const noToken = await alice.browser.post(PATHS.feedback, { ...VALID });
      assert.equal(noToken.status, 403, 'no token');

      const foreign = await alice.browser.post(PATHS.feedback, { _csrf: bob.token, ...VALID });
      assert.equal(foreign.status, 403, "another visitor's token");
      assert.match(foreign.text, /could not check that this request came from this service/);

      const cookieless = new Browser(built.origin, PUBLIC_ORIGIN);
      const noCookie = await cookieless.post(PATHS.feedback, { _csrf: alice.token, ...VALID });
      assert.equal(noCookie.status, 403, 'token without a session cookie');
      assert.match(noCookie.text, /Your form timed out/);

      const crossSite = await alice.browser.post(
        PATHS.feedback,
        { _csrf: alice.token, ...VALID },
        { 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(crossSite.status, 403, 'Sec-Fetch-Site: cross-site');
      assert.match(crossSite.text, /did not come from a page on this service/);
      assert.doesNotMatch(
        crossSite.text,
        /reload/i,
        'a reload cannot help a cross-site request, so the page does not suggest one',
      );
      const evilOrigin = await alice.browser.post(
        PATHS.feedback,
        { _csrf: alice.token, ...VALID },
        { origin: 'https://evil.example' },
      );
      assert.equal(evilOrigin.status, 403, 'Origin: https://evil.example');
      assert.doesNotMatch(evilOrigin.text, /reload/i);

      assert.equal(store.listFeedback(10).length, 0);
      // The real token still works afterwards.
      assert.equal((await alice.browser.post(PATHS.feedback, { _csrf: alice.token, ...VALID })).status, 303);
      assert.equal(store.listFeedback(10).length, 1);
    },
  );

  test('400 with every live message, in field order, inline too, input re-shown', async (t) => {
    const { built, store } = await setup(t);
    const { browser, token } = await visitor(built.origin);
    const empty = await browser.post(PATHS.feedback, { _csrf: token, details: '   ', send: '' });
    assert.equal(empty.status, 400);
    assert.deepEqual(summaryErrors(empty.text), [MESSAGES.rating, MESSAGES.detailsRequired]);
    assert.match(html(empty.text).querySelector('title')?.text ?? '', /^Error: /);

    const res = await browser.post(PATHS.feedback, {
      _csrf: token,
      rating: 'great',
      details: 'x'.repeat(2001),
      email: 'not-an-email',
      phone: '12',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(summaryErrors(res.text), [
      MESSAGES.rating,
      MESSAGES.detailsTooLong,
      MESSAGES.email,
      MESSAGES.phone,
    ]);
    const doc = html(res.text);
    assert.deepEqual(
      doc.querySelectorAll('.govuk-error-summary__list a').map((a) => a.getAttribute('href')),
      ['#rating', '#details', '#email', '#phone'],
    );
    for (const id of ['rating', 'details', 'email', 'phone']) {
      assert.ok(doc.querySelector(`#${id}-error`)?.text.includes('Error:'), `inline error for ${id}`);
    }
    assert.equal(doc.querySelector('textarea#details')?.text, 'x'.repeat(2001));
    assert.equal(doc.querySelector('input#email')?.getAttribute('value'), 'not-an-email');
    assert.equal(doc.querySelector('input#phone')?.getAttribute('value'), '12');

    const checked = await browser.post(PATHS.feedback, { _csrf: token, rating: 'dissatisfied', details: '' });
    assert.equal(
      html(checked.text).querySelector('input[name="rating"][checked]')?.getAttribute('value'),
      'dissatisfied',
      'the chosen rating stays chosen',
    );
    assert.equal(store.listFeedback(10).length, 0);
  });

  test('XSS payloads in every field come back escaped', async (t) => {
    const { built } = await setup(t);
    const { browser, token } = await visitor(built.origin);
    const payloads = [
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      '{{7*7}}',
      "{{constructor.constructor('x')()}}",
      "{% raw %}{{ range.constructor('return 1')() }}{% endraw %}",
      "'><svg/onload=alert(1)>",
    ];
    for (const p of payloads) {
      const res = await browser.post(PATHS.feedback, { _csrf: token, rating: p, details: p, email: p, phone: p });
      assert.equal(res.status, 400, p);
      assert.ok(!res.text.includes(p) || !/[<>"']/.test(p), `raw payload reflected: ${p}`);
      const doc = html(res.text);
      const textarea = doc.querySelector('textarea#details');
      assert.equal(
        textarea?.rawText.trim(),
        p
          .replace(/&/g, '&amp;')
          .replace(/</g, '&lt;')
          .replace(/>/g, '&gt;')
          .replace(/"/g, '&quot;')
          .replace(/'/g, '&#39;'),
        `details escaped: ${p}`,
      );
      assert.equal(textarea.text.trim(), p, `details round-trips as text: ${p}`);
      assert.equal(doc.querySelector('input#email')?.getAttribute('value'), p, `email round-trips as text: ${p}`);
      assert.equal(doc.querySelector('input#phone')?.getAttribute('value'), p, `phone round-trips as text: ${p}`);
      assert.equal(
        doc.querySelectorAll('img, svg').filter((e) => e.hasAttribute('onerror') || e.hasAttribute('onload')).length,
        0,
      );
      assert.ok(
        doc.querySelectorAll('script').every((s) => s.hasAttribute('nonce')),
        `only the app's nonce'd scripts: ${p}`,
      );
      assert.ok(!res.text.includes('>49<') && !res.text.includes('"49"'), 'templates in input are not evaluated');
      if (/[<>"']/.test(p)) assert.ok(!res.text.includes(`value="${p}"`), `attribute breakout: ${p}`);
      else assert.ok(res.text.includes(`value="${p}"`), `shown as typed: ${p}`);
    }
  });

  test('limits: 413 for 20 KB, 415 for JSON and multipart, 400 for a repeated or unknown field', async (t) => {
    const { built, store } = await setup(t);
    const { browser, token } = await visitor(built.origin);
    const big = await browser.post(PATHS.feedback, { _csrf: token, ...VALID, details: 'x'.repeat(20 * 1024) });
    assert.equal(big.status, 413);
    const json = await browser.post(PATHS.feedback, JSON.stringify({ _csrf: token, ...VALID }), {
      'content-type': 'application/json',
    });
    assert.equal(json.status, 415);
    const boundary = 'XyZ';
    const multipart = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="_csrf"',
      '',
      token,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const mp = await browser.post(PATHS.feedback, multipart, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    });
    assert.equal(mp.status, 415);
    const repeated = await browser.post(
      PATHS.feedback,
      `_csrf=${token}&rating=satisfied&rating=dissatisfied&details=x`,
    );
    assert.equal(repeated.status, 400);
    const unknown = await browser.post(PATHS.feedback, { _csrf: token, ...VALID, admin: '1' });
    assert.equal(unknown.status, 400);
    assert.equal(store.listFeedback(10).length, 0);
    assert.equal((await browser.post(PATHS.feedback, { _csrf: token, ...VALID })).status, 303, 'the form still works');
  });
});

describe('bot check (FEEDBACK_MIN_SECONDS=1)', () => {
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test(
    'an otherwise valid form sent too soon: 400 with guidance linked to the Send button, ' + 'answers and token kept',
    async (t) => {
      const { built, store } = await setup(t, { FEEDBACK_MIN_SECONDS: '1' });
      const { browser, token } = await visitor(built.origin);
      const fast = await browser.post(PATHS.feedback, { _csrf: token, ...VALID });
      assert.equal(fast.status, 400);
      assert.deepEqual(summaryErrors(fast.text), [MESSAGES.tooFast]);
      const doc = html(fast.text);
      const link = doc.querySelector('.govuk-error-summary__list a')?.getAttribute('href');
      assert.equal(link, `#${TOO_FAST_TARGET}`);
      assert.ok(
        doc.querySelector(`button#${TOO_FAST_TARGET}[type="submit"]`),
        'the link targets the Send feedback button',
      );
      assert.equal(doc.querySelector('input[name="rating"][checked]')?.getAttribute('value'), 'satisfied');
      assert.equal(doc.querySelector('textarea#details')?.text, VALID.details);
      assert.equal(
        csrfTokenFrom(fast.text),
        token,
        'the form keeps its token, so the clock runs from when it was first shown',
      );
      assert.equal(store.listFeedback(10).length, 0);

      await wait(1100);
      assert.equal((await browser.post(PATHS.feedback, { _csrf: csrfTokenFrom(fast.text), ...VALID })).status, 303);
      assert.equal(store.listFeedback(10).length, 1);
    },
  );

  test(
    'a form with mistakes is only told about them, however fast; a quick correction then goes ' + 'through',
    async (t) => {
      const { built, store } = await setup(t, { FEEDBACK_MIN_SECONDS: '1' });
      const { browser, token } = await visitor(built.origin);
      const empty = await browser.post(PATHS.feedback, { _csrf: token, send: '' });
      assert.equal(empty.status, 400);
      assert.deepEqual(
        summaryErrors(empty.text),
        [MESSAGES.rating, MESSAGES.detailsRequired],
        'no "too quickly" on a form with mistakes',
      );

      await wait(1100);
      const mistake = await browser.post(PATHS.feedback, { _csrf: csrfTokenFrom(empty.text), ...VALID, email: 'nope' });
      assert.deepEqual(summaryErrors(mistake.text), [MESSAGES.email]);
      // Corrected at once: the form was first shown over a second ago, so this is no bot.
      const corrected = await browser.post(PATHS.feedback, { _csrf: csrfTokenFrom(mistake.text), ...VALID });
      assert.equal(corrected.status, 303);
      assert.equal(store.listFeedback(10).length, 1);
    },
  );

  test('a form token with its issue time moved back is refused as a forgery, not taken as an old form', async (t) => {
    const { built } = await setup(t, { FEEDBACK_MIN_SECONDS: '1' });
    const { browser, token } = await visitor(built.origin);
    const backdated = `${(Date.now() - 60_000).toString(16).padStart(11, '0')}${token.slice(11)}`;
    const forged = await browser.post(PATHS.feedback, { _csrf: backdated, ...VALID });
    assert.equal(forged.status, 403);
    assert.match(forged.text, /could not check that this request came from this service/);
  });
});

describe('GET /feedback-thanks', () => {
  test('Continue only ever points to a path on this site', async (t) => {
    const { built } = await setup(t);
    const browser = new Browser(built.origin, PUBLIC_ORIGIN);
    const cases: [string, string][] = [
      ['', '/'],
      ['?returnTarget=%2Fcookies', '/cookies'],
      ['?returnTarget=%2Fuser%2Fdashboard%3Fa%3D1', '/user/dashboard?a=1'],
      ['?returnTarget=https%3A%2F%2Fevil.example%2F', '/'],
      ['?returnTarget=http:evil.example', '/'],
      ['?returnTarget=%2F%2Fevil.example', '/'],
      ['?returnTarget=//evil.example', '/'],
      ['?returnTarget=%2F%5Cevil.example', '/'],
      ['?returnTarget=/%5C/evil.example', '/'],
      ['?returnTarget=%252F%252Fevil.example', '/'],
      ['?returnTarget=/%2F%2Fevil.example', '/'],
      ['?returnTarget=/%2Fevil.example', '/'],
      ['?returnTarget=javascript%3Aalert(1)', '/'],
      ['?returnTarget=%2Fjavascript%3Aalert(1)', '/'],
      ['?returnTarget=%20%2F%2Fevil.example', '/'],
      ['?returnTarget=%09%2F%2Fevil.example', '/'],
      ['?returnTarget=%2F%09%2Fevil.example', '/'],
      ['?returnTarget=data%3Atext%2Fhtml%2C%3Cscript%3E', '/'],
      ['?returnTarget=%2Fok&returnTarget=%2F%2Fevil.example', '/'],
      ['?returnTarget=', '/'],
    ];
    for (const [query, expected] of cases) {
      const res = await browser.get(`${PATHS.feedbackThanks}${query}`);
      assert.equal(res.status, 200, query);
      const href = html(res.text).querySelector('a[data-qa="continue"]')?.getAttribute('href');
      assert.equal(href, expected, query);
      assert.ok(!res.text.includes('evil.example'), `nothing of the target is echoed: ${query}`);
    }
  });
});

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

describe('with the API configured', () => {
  test('API down: the user sees success and the outbox keeps the submission', async (t) => {
    const port = await closedPort();
    const { built, store } = await setup(t, {
      API_BASE_URL: `http://127.0.0.1:${String(port)}`,
      EGRESS_ALLOW_PRIVATE: '127.0.0.1',
    });
    const { browser, token } = await visitor(built.origin);
    const res = await browser.post(PATHS.feedback, { _csrf: token, ...VALID }, { 'user-agent': 'IT/1' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), PATHS.feedbackThanks);
    assert.equal(store.listFeedback(10).length, 0, 'not in the feedback table: the API is the destination');
    const rows = store.listOutbox(10);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.deliveredAt, null);
    assert.equal(rows[0].lastErrorCode, 'NETWORK');
    assert.notEqual(rows[0].nextAttemptAt, null, 'due for a retry');
    const entry = rows[0].payload as { key?: unknown; requestId?: unknown; payload?: unknown };
    assert.match(String(entry.key), /^[0-9a-f-]{36}$/, 'the idempotency key every attempt will send (ADR 0027)');
    assert.equal(typeof entry.requestId, 'string');
    assert.deepEqual(entry.payload, {
      rating: 'satisfied',
      details: 'Clear and quick.',
      email: 'someone@example.com',
      phone: '',
      agent: 'IT/1',
      fromPage: 'Unknown',
    });
  });
});
