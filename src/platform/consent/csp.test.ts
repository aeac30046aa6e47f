// The GA4 widening (docs/adr/0037): only the three directives, only by the GA4 hosts, nothing else changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy } from '../security-headers.ts';
import { GA_BEACON_SOURCES, GA_SCRIPT_SOURCES, widenForAnalytics } from './csp.ts';

test(
  'today’s policy: script-src, img-src and connect-src gain the GA4 hosts; every other ' + 'directive is as it was',
  () => {
    for (const https of [false, true]) {
      const base = contentSecurityPolicy('bm9uY2U=', https);
      const wide = widenForAnalytics(base);
      const before = base.split('; ');
      const after = wide.split('; ');
      assert.equal(after.length, before.length);
      for (const [i, d] of before.entries()) {
        const name = d.split(' ')[0];
        const expected =
          name === 'script-src'
            ? `${d} ${GA_SCRIPT_SOURCES}`
            : name === 'img-src' || name === 'connect-src'
              ? `${d} ${GA_BEACON_SOURCES}`
              : d;
        assert.equal(after[i], expected);
      }
      assert.match(wide, /require-trusted-types-for 'script'/, 'Trusted Types stay required');
      assert.match(wide, /script-src 'self' 'nonce-bm9uY2U=' https:\/\/\*\.googletagmanager\.com;/);
    }
  },
);

test('a default-src policy with directives left out: added with default-src’s sources, never narrower', () => {
  assert.equal(
    widenForAnalytics("default-src 'self'; script-src 'self' 'nonce-x'; trusted-types lpa"),
    `default-src 'self'; script-src 'self' 'nonce-x' ${GA_SCRIPT_SOURCES}; trusted-types lpa ` +
      `default; img-src 'self' ${GA_BEACON_SOURCES}; connect-src 'self' ${GA_BEACON_SOURCES}`,
  );
  assert.equal(
    widenForAnalytics("default-src 'none'; script-src 'nonce-x'; trusted-types default"),
    `default-src 'none'; script-src 'nonce-x' ${GA_SCRIPT_SOURCES}; trusted-types default; ` +
      `img-src ${GA_BEACON_SOURCES}; connect-src ${GA_BEACON_SOURCES}`,
  );
});

test('no wildcard beyond the GA4 hosts, no unsafe- keyword', () => {
  const wide = widenForAnalytics(contentSecurityPolicy('n', true));
  assert.doesNotMatch(wide, /unsafe-|\s\*(\s|;|$)|https:(\s|;|$)|data:/);
  const hosts = new Set(wide.match(/https:\/\/[^\s;]+/g));
  assert.deepEqual([...hosts].sort(), [
    'https://*.analytics.google.com',
    'https://*.google-analytics.com',
    'https://*.googletagmanager.com',
    'https://www.gov.uk',
  ]);
});
