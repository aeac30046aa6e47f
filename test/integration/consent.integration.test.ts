/**
 * Issue 21 (ADR 0037): cookie consent through the whole app. The banner on every page until a choice, its form
 * CSRF-checked with no server state, back to the page it was on (never elsewhere), the confirmation once; the PHP
 * front's cookie honoured; malformed values are no choice; GA4 and the wider CSP only for usage:true, every other
 * response's CSP byte for byte the base policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { Browser, hiddenFieldsFrom, html } from '../helpers/http.ts';
import { PATHS } from '../../src/paths.ts';
import { contentSecurityPolicy } from '../../src/platform/security-headers.ts';
import { widenForAnalytics } from '../../src/platform/consent/csp.ts';

const GA = { GA_MEASUREMENT_ID: 'G-TEST1234', GA_COOKIE_DOMAIN: '127.0.0.1' };
const ACCEPTED = 'cookie_policy={"essential":true,"usage":true}; seen_cookie_message=true';
const REJECTED = 'cookie_policy={"essential":true,"usage":false}; seen_cookie_message=true';

function nonceOf(csp: string | null): string {
  const m = /'nonce-([^']+)'/.exec(csp ?? '');
  assert.ok(m?.[1] !== undefined, 'a nonce in the CSP');
  return m[1];
}

const setup = (doc: ReturnType<typeof html>) => doc.querySelector('script[data-app-analytics]');
const banner = (text: string) => html(text).querySelector('[data-qa="cookie-banner"]');

test(
  'no choice: the banner on content pages, in a form with a token and the page; not on ' + '/cookies or /ping',
  async (t) => {
    const built = await build(t, { env: GA });
    const b = new Browser(built.origin);
    for (const path of [PATHS.home, PATHS.accessibility, PATHS.feedback, PATHS.login, '/no-such-page']) {
      const page = await b.get(path);
      assert.ok(banner(page.text) !== null, `${path}: banner`);
      const fields = hiddenFieldsFrom(page.text, PATHS.cookies);
      assert.ok(fields._csrf !== undefined && fields._csrf !== '', `${path}: token`);
      assert.equal(fields.returnTo, path === '/no-such-page' ? PATHS.home : path, 'a 404 does not echo its URL');
      assert.doesNotMatch(page.text, /googletagmanager/, `${path}: no GA before consent`);
    }
    assert.equal(banner((await b.get(PATHS.cookies)).text), null, 'not on /cookies');
    assert.doesNotMatch((await b.get(PATHS.ping)).text, /cookie-banner/);
    assert.doesNotMatch((await b.get(PATHS.pingJson)).text, /cookie-banner/);
  },
);

test(
  'accept without JavaScript: CSRF-checked, back to the page, confirmation once, then GA4 ' + 'with the nonce',
  async (t) => {
    const built = await build(t, { env: GA });
    const b = new Browser(built.origin);
    const fields = hiddenFieldsFrom((await b.get(PATHS.accessibility)).text, PATHS.cookies);
    assert.equal(
      (await b.post(PATHS.cookies, { returnTo: PATHS.accessibility, analytics: 'accept' })).status,
      403,
      'no token, refused',
    );
    const res = await b.post(PATHS.cookies, { ...fields, analytics: 'accept' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), PATHS.accessibility);
    const set = res.headers.getSetCookie();
    assert.ok(
      set.includes('cookie_policy={"essential":true,"usage":true}; Max-Age=31536000; Path=/; SameSite=Lax'),
      set.join('\n'),
    );
    assert.ok(set.includes('seen_cookie_message=true; Max-Age=31536000; Path=/; SameSite=Lax'));

    const confirmed = await b.get(PATHS.accessibility);
    const doc = html(confirmed.text);
    assert.ok(doc.querySelector('[data-qa="cookie-banner-accepted"]') !== null, 'the confirmation');
    assert.equal(doc.querySelector('[data-qa="cookie-banner-question"]'), null);
    assert.equal(
      doc.querySelector('[data-qa="cookie-banner-hide"]')?.getAttribute('href'),
      PATHS.accessibility,
      'Hide works without JavaScript',
    );
    const nonce = nonceOf(confirmed.headers.get('content-security-policy'));
    const gtag = doc.querySelector('script[src^="https://www.googletagmanager.com/gtag/js"]');
    const config = setup(doc);
    assert.ok(gtag !== null && config !== null);
    assert.equal(gtag.getAttribute('nonce'), nonce);
    assert.equal(gtag.getAttribute('src'), 'https://www.googletagmanager.com/gtag/js?id=G-TEST1234');
    assert.equal(config.getAttribute('nonce'), nonce);
    assert.equal(
      config.getAttribute('data-page-location'),
      `${built.config.publicOrigin.origin}${PATHS.accessibility}`,
    );
    assert.equal(config.getAttribute('data-cookie-domain'), '127.0.0.1');
    assert.equal(
      confirmed.headers.get('content-security-policy'),
      widenForAnalytics(contentSecurityPolicy(nonce, false)),
    );

    const after = await b.get(PATHS.accessibility);
    assert.equal(banner(after.text), null, 'hidden after the confirmation page');
    assert.match(after.text, /googletagmanager/);
  },
);

test('back only to a local path: an open redirect is refused', async (t) => {
  const built = await build(t, { env: GA });
  for (const returnTo of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/%2F%2Fevil.example', '']) {
    const b = new Browser(built.origin);
    const fields = hiddenFieldsFrom((await b.get(PATHS.home)).text, PATHS.cookies);
    const res = await b.post(PATHS.cookies, { ...fields, returnTo, analytics: 'reject' });
    assert.equal(res.status, 303);
    const location = res.headers.get('location') ?? '';
    assert.ok(
      location.startsWith('/') && !location.startsWith('//') && !location.includes('evil'),
      `${returnTo} -> ${location}`,
    );
  }
});

test('the PHP front’s cookie is honoured; malformed values are no choice, never a 500', async (t) => {
  const built = await build(t, { env: GA });
  const b = new Browser(built.origin);
  const accepted = await b.get(PATHS.terms, { cookie: ACCEPTED });
  assert.equal(banner(accepted.text), null);
  assert.match(accepted.text, /gtag\/js\?id=G-TEST1234/);
  const rejected = await b.get(PATHS.terms, { cookie: REJECTED });
  assert.equal(banner(rejected.text), null);
  assert.doesNotMatch(rejected.text, /googletagmanager|data-app-analytics/);
  for (const value of [
    'not-json',
    '{"essential":true,"usage":"true"}',
    '{"essential":true,"usage":1}',
    '[]',
    'x'.repeat(3000),
    '%E0%A4%A',
    '{"essential":true}',
  ]) {
    const page = await b.get(PATHS.terms, { cookie: `cookie_policy=${value}; seen_cookie_message=true` });
    assert.equal(page.status, 200, value.slice(0, 40));
    assert.ok(banner(page.text) !== null, `${value.slice(0, 40)}: asked again`);
    assert.doesNotMatch(page.text, /googletagmanager/);
  }
});

test('the CSP of every response not loading GA4 is the base policy byte for byte, nonce apart', async (t) => {
  const built = await build(t, { env: GA });
  const b = new Browser(built.origin);
  const cases: [string, string | undefined][] = [
    [PATHS.home, undefined],
    [PATHS.home, REJECTED],
    [PATHS.cookies, undefined],
    [PATHS.login, REJECTED],
    [PATHS.pingJson, ACCEPTED],
    [PATHS.ping, ACCEPTED],
    ['/no-such-page', ACCEPTED],
    [PATHS.home, 'cookie_policy={"essential":true,"usage":"true"}'],
  ];
  for (const [path, cookie] of cases) {
    const res = await b.get(path, cookie === undefined ? {} : { cookie });
    const csp = res.headers.get('content-security-policy');
    assert.equal(csp, contentSecurityPolicy(nonceOf(csp), false), `${path} ${cookie ?? ''}`);
  }
  // Without GA_MEASUREMENT_ID, consent changes nothing either.
  const plain = await build(t);
  const res = await new Browser(plain.origin).get(PATHS.home, { cookie: ACCEPTED });
  const csp = res.headers.get('content-security-policy');
  assert.equal(csp, contentSecurityPolicy(nonceOf(csp), false));
  assert.doesNotMatch(res.text, /googletagmanager|data-app-analytics/);
});

test('/cookies: radios default no, a plain POST saves, the green banner once, withdrawing expires _ga*', async (t) => {
  const built = await build(t, { env: GA });
  const b = new Browser(built.origin);
  let doc = html((await b.get(PATHS.cookies)).text);
  assert.equal(doc.querySelector('input[name="usage"][value="no"]')?.hasAttribute('checked'), true);
  assert.equal(doc.querySelector('input[name="usage"][value="yes"]')?.hasAttribute('checked'), false);
  const fields = hiddenFieldsFrom((await b.get(PATHS.cookies)).text, PATHS.cookies);
  let res = await b.post(PATHS.cookies, { ...fields, usage: 'yes' });
  assert.equal(res.headers.get('location'), PATHS.cookies);
  doc = html((await b.get(PATHS.cookies)).text);
  assert.ok(doc.querySelector('[data-qa="cookies-saved"].govuk-notification-banner--success') !== null);
  assert.equal(doc.querySelector('input[name="usage"][value="yes"]')?.hasAttribute('checked'), true);
  assert.equal(html((await b.get(PATHS.cookies)).text).querySelector('[data-qa="cookies-saved"]'), null, 'once');

  b.cookies.set('_ga', 'GA1.1.123.456');
  b.cookies.set('_ga_OTHER1', 'GS1.1.1');
  res = await b.post(PATHS.cookies, { ...fields, usage: 'no' });
  const set = res.headers.getSetCookie();
  for (const name of ['_ga', '_ga_OTHER1', '_ga_TEST1234']) {
    assert.ok(
      set.includes(`${name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; SameSite=Lax`),
      `${name} on the host`,
    );
    assert.ok(
      set.includes(
        `${name}=; Domain=127.0.0.1; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; ` + `SameSite=Lax`,
      ),
      `${name} on the domain`,
    );
  }
  assert.ok(!b.cookies.has('_ga') && !b.cookies.has('_ga_OTHER1'));
});

test('the banner costs no server state, and JavaScript gets 204 without the confirmation marker', async (t) => {
  const built = await build(t, { env: GA });
  const b = new Browser(built.origin);
  const page = await b.get(PATHS.home);
  assert.deepEqual(
    page.headers.getSetCookie().map((c) => c.split('=')[0]),
    ['lpa-form'],
    'only the form cookie: no session',
  );
  const res = await b.post(PATHS.cookies, {
    ...hiddenFieldsFrom(page.text, PATHS.cookies),
    analytics: 'reject',
    js: '1',
  });
  assert.equal(res.status, 204);
  assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('lpa-consent-saved=')));
});
