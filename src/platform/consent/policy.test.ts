// The consent cookies (docs/adr/0037): malformed values are "no choice", never an exception; what we write is what the
// PHP front's own JS reads, and the other way round (its cookie-functions.js, run as it is, in a vm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import {
  choiceCookies,
  consentState,
  gaDeletions,
  parseCookies,
  policyValue,
  readPolicy,
  savedCookie,
} from './policy.ts';

const PHP_JS = readFileSync(
  join(import.meta.dirname, '../../../test/fixtures/opg-lpa/moj.cookie-functions.js.txt'),
  'utf8',
);

/** The PHP front's GOVUK cookie functions over a stand-in `document.cookie` jar (name=value only). */
function phpFront(protocol: 'https:' | 'http:' = 'https:') {
  const jar = new Map<string, string>();
  const written: string[] = [];
  const document = {
    domain: 'www.lastingpowerofattorney.service.gov.uk',
    location: { protocol },
    get cookie() {
      return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    },
    set cookie(line: string) {
      written.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const expired = /expires=([^;]+)/i.exec(line);
      if (expired?.[1] !== undefined && Date.parse(expired[1]) < Date.now()) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    },
  };
  const window: Record<string, unknown> = { document };
  vm.runInNewContext(PHP_JS, { window, document, console });
  const GOVUK = window.GOVUK as {
    getConsentCookie(): unknown;
    setConsentCookie(o: object): void;
    cookie(n: string, v?: string, o?: object): unknown;
  };
  return { GOVUK, jar, written };
}

test('the policy the PHP front writes is honoured', () => {
  for (const usage of [true, false]) {
    const php = phpFront();
    php.GOVUK.setConsentCookie({ essential: true, usage });
    php.GOVUK.cookie('seen_cookie_message', 'true', { days: 365 });
    const state = consentState(parseCookies([...php.jar].map(([k, v]) => `${k}=${v}`).join('; ')));
    assert.deepEqual(state, { policy: { usage }, chosen: true, saved: null }, `usage ${String(usage)}`);
    assert.match(php.written.join('\n'), /; Secure$/m, 'the PHP front marks it Secure on https');
  }
});

test('the PHP front’s default policy, written before any choice, is not a choice', () => {
  const php = phpFront();
  (php.GOVUK as unknown as { setDefaultConsentCookie(): void }).setDefaultConsentCookie();
  const state = consentState(parseCookies([...php.jar].map(([k, v]) => `${k}=${v}`).join('; ')));
  assert.deepEqual(state, { policy: { usage: false }, chosen: false, saved: null });
});

test('the policy we write is read by the PHP front’s JS, as the exact JSON shape', () => {
  for (const usage of [true, false]) {
    const lines = choiceCookies(usage, [], { secure: true }).slice(0, 2); // rejecting also expires _ga (below)
    assert.deepEqual(lines, [
      `cookie_policy={"essential":true,"usage":${String(usage)}}; Max-Age=31536000; Path=/; SameSite=Lax; Secure`,
      'seen_cookie_message=true; Max-Age=31536000; Path=/; SameSite=Lax; Secure',
    ]);
    assert.doesNotMatch(lines.join('\n'), /HttpOnly/i, 'the PHP front’s JS reads both');
    const php = phpFront();
    for (const line of lines)
      php.jar.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1, line.indexOf(';')));
    // another realm's object
    assert.deepEqual(JSON.parse(JSON.stringify(php.GOVUK.getConsentCookie())), { essential: true, usage });
    assert.equal(php.GOVUK.cookie('seen_cookie_message'), 'true');
  }
  assert.equal(policyValue(true), '{"essential":true,"usage":true}');
  assert.doesNotMatch(
    choiceCookies(true, [], { secure: false }).join('\n'),
    /Secure/,
    'no Secure on a plain-http origin',
  );
});

test('malformed values are no choice, never an exception', () => {
  const bad = [
    '',
    'true',
    'null',
    '[]',
    '"x"',
    '{',
    '{"essential":true}',
    '{"usage":true}',
    '{"essential":true,"usage":"true"}',
    '{"essential":true,"usage":1}',
    '{"essential":"true","usage":true}',
    '{"essential":false,"usage":true}',
    `{"essential":true,"usage":true,"pad":"${'x'.repeat(300)}"}`,
    '%7B%ZZ',
    '%E0%A4%A',
    '{"__proto__":{"usage":true},"essential":true}',
    '[{"essential":true,"usage":true}]',
    '"{\\"essential\\":true,\\"usage\\":true}"',
    'x'.repeat(100_000),
  ];
  for (const raw of bad) {
    assert.equal(readPolicy(raw), null, raw.slice(0, 60));
    assert.deepEqual(
      consentState(parseCookies(`seen_cookie_message=true; cookie_policy=${raw}`)),
      { policy: null, chosen: false, saved: null },
      raw.slice(0, 60),
    );
  }
  assert.equal(readPolicy(undefined), null);
});

test('percent-encoded (as PHP setcookie writes) reads the same', () => {
  assert.deepEqual(readPolicy(encodeURIComponent('{"essential":true,"usage":true}')), { usage: true });
  assert.deepEqual(
    readPolicy('{"essential":true,"usage":false,"campaigns":true}'),
    { usage: false },
    'GOV.UK’s other categories are ignored',
  );
});

test('seen alone, or seen with another value, is no choice', () => {
  assert.equal(consentState(parseCookies('seen_cookie_message=true')).chosen, false);
  assert.equal(
    consentState(parseCookies('seen_cookie_message=yes; cookie_policy={"essential":true,"usage":true}')).chosen,
    false,
  );
  assert.equal(consentState(parseCookies('lpa-consent-saved=<script>')).saved, null);
  assert.equal(consentState(parseCookies('lpa-consent-saved=accepted')).saved, 'accepted');
});

test('withdrawing expires every _ga cookie on the host and on the cookie domain', () => {
  const headers = choiceCookies(false, ['_ga', '_ga_ABC123', 'lpa3', '_gid', '_ga_bad;name', 'cookie_policy'], {
    secure: true,
    gaCookieDomain: '.lastingpowerofattorney.service.gov.uk',
    measurementId: 'G-DY4BCL021L',
  });
  const deleted = headers.slice(2);
  const expected = ['_ga', '_ga_ABC123', '_ga_DY4BCL021L'].flatMap((n) => [
    `${n}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; SameSite=Lax; Secure`,
    `${n}=; Domain=.lastingpowerofattorney.service.gov.uk; Max-Age=0; Expires=Thu, 01 Jan ` +
      `1970 00:00:00 GMT; Path=/; SameSite=Lax; Secure`,
  ]);
  assert.deepEqual(deleted, expected);
  assert.equal(choiceCookies(true, ['_ga'], { secure: true }).length, 2, 'accepting deletes nothing');
  assert.deepEqual(gaDeletions([], { secure: false }), [
    '_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; SameSite=Lax',
  ]);
});

test('the saved marker is HttpOnly and short-lived', () => {
  assert.equal(
    savedCookie('accepted', true),
    'lpa-consent-saved=accepted; Max-Age=300; HttpOnly; Path=/; SameSite=Lax; Secure',
  );
});
