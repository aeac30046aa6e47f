// Form tokens (ADR 0022) on their own: bound to the form cookie and the secret, timed out after the lifetime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormTokens, crossSiteReason, formCookieName, tokensMatch } from './csrf.ts';

const SECRET = Buffer.from('unit-test-secret-for-form-tokens-0000000000');
const COOKIE = '0123456789abcdef0123456789abcdef';
const NOW = Date.UTC(2026, 11, 6, 3, 0, 0);

test('a form token passes with its own cookie and gives back its issue time', () => {
  const tokens = new FormTokens(SECRET, 10_800);
  const token = tokens.issue(COOKIE, NOW);
  assert.match(token, /^[0-9a-f]{43}$/, 'hex only: safe to splice into a pre-rendered page');
  assert.deepEqual(tokens.verify(token, COOKIE, NOW + 5000), { issuedAt: NOW });
});

test('refused, with the reason the 403 page tells apart', () => {
  const tokens = new FormTokens(SECRET, 10_800);
  const token = tokens.issue(COOKIE, NOW);
  const cases: [string, string, string | undefined, number, string][] = [
    ["another browser's cookie", token, 'fedcba9876543210fedcba9876543210', NOW, 'mismatch'],
    [
      'made with another secret',
      new FormTokens(Buffer.from('another-secret-another-secret-another-0000'), 10_800).issue(COOKIE, NOW),
      COOKIE,
      NOW,
      'mismatch',
    ],
    [
      'issue time changed',
      `${(NOW - 60_000).toString(16).padStart(11, '0')}${token.slice(11)}`,
      COOKIE,
      NOW,
      'mismatch',
    ],
    ['MAC changed', `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`, COOKIE, NOW, 'mismatch'],
    ['not a form token', 'x'.repeat(43), COOKIE, NOW, 'mismatch'],
    ['issued far in the future', tokens.issue(COOKIE, NOW + 3_600_000), COOKIE, NOW, 'mismatch'],
    ['older than the lifetime', token, COOKIE, NOW + 10_800_001, 'expired'],
    ['no form cookie (the browser dropped it)', token, undefined, NOW, 'expired'],
  ];
  for (const [name, given, cookie, now, reason] of cases) assert.equal(tokens.verify(given, cookie, now), reason, name);
  assert.deepEqual(tokens.verify(token, COOKIE, NOW + 10_800_000), { issuedAt: NOW }, 'valid up to the lifetime');
  assert.deepEqual(
    tokens.verify(tokens.issue(COOKIE, NOW + 60_000), COOKIE, NOW),
    { issuedAt: NOW + 60_000 },
    'another instance a minute ahead',
  );
});

test('the form cookie is __Host- prefixed when Secure', () => {
  assert.equal(formCookieName(true), '__Host-lpa-form');
  assert.equal(formCookieName(false), 'lpa-form');
});

test('cross-site requests are recognised from fetch metadata or Origin', () => {
  const origin = 'https://lpa.example';
  assert.equal(crossSiteReason('same-origin', origin, origin), false);
  assert.equal(crossSiteReason(undefined, undefined, origin), false);
  assert.equal(crossSiteReason('none', undefined, origin), false);
  assert.equal(crossSiteReason('cross-site', undefined, origin), true);
  assert.equal(crossSiteReason('same-site', undefined, origin), true);
  assert.equal(crossSiteReason(undefined, 'https://evil.example', origin), true);
  assert.equal(crossSiteReason(undefined, 'null', origin), true);
  assert.equal(crossSiteReason('same-origin', 'https://lpa.example.evil.example', origin), true);
});

test('CSRF tokens compare exactly', () => {
  assert.equal(tokensMatch('abc', 'abc'), true);
  assert.equal(tokensMatch('abc', 'abd'), false);
  assert.equal(tokensMatch('abc', 'abcd'), false);
});

test("Origin: null passes only when the browser says same-origin (a no-referrer page's own form)", () => {
  const site = 'https://example.gov.uk';
  assert.equal(crossSiteReason('same-origin', 'null', site), false);
  for (const fetchSite of ['cross-site', 'same-site', 'none', undefined])
    assert.equal(crossSiteReason(fetchSite, 'null', site), true, String(fetchSite));
});
