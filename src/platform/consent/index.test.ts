// The page variant (ADR 0037): GA4 never on a route with a parameter (a token in the path), never without consent
// or without GA_MEASUREMENT_ID; page_location is origin + path, never the query string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { consentVariant } from './index.ts';
import type { ConsentView } from './index.ts';

const ACCEPTED = 'cookie_policy={"essential":true,"usage":true}; seen_cookie_message=true';
const BASE_CSP = "default-src 'self'; script-src 'self' 'nonce-n'; img-src 'self'; connect-src 'self'";

function run(options: { cookie?: string; url: string; route: string | undefined; id?: string | null }): {
  consent: ConsentView;
  csp: string;
  setCookies: string[];
} {
  const headers = new Map<string, string>([['content-security-policy', BASE_CSP]]);
  const setCookies: string[] = [];
  const request = {
    headers: { cookie: options.cookie },
    url: options.url,
    routeOptions: { url: options.route },
  } as unknown as FastifyRequest;
  const reply = {
    header(name: string, value: string) {
      if (name === 'set-cookie') setCookies.push(value);
      else headers.set(name, value);
      return reply;
    },
    getHeader(name: string) {
      return headers.get(name);
    },
  } as unknown as FastifyReply;
  const variant = consentVariant({
    secure: true,
    publicOrigin: 'https://lpa.example',
    measurementId: options.id === null ? undefined : (options.id ?? 'G-TEST1234'),
    gaCookieDomain: '.lpa.example',
  })(request, reply);
  return {
    consent: variant.context.consent as ConsentView,
    csp: headers.get('content-security-policy') ?? '',
    setCookies,
  };
}

test('consented, on a fixed route: GA4 with the path alone, and the CSP widened', () => {
  const { consent, csp } = run({ cookie: ACCEPTED, url: '/terms?token=abc', route: '/terms' });
  assert.deepEqual(consent.analytics, {
    measurementId: 'G-TEST1234',
    cookieDomain: '.lpa.example',
    pageLocation: 'https://lpa.example/terms',
  });
  assert.match(csp, /googletagmanager/);
});

test('never on a route with a parameter or a wildcard, nor on a 404, nor without consent or an ID', () => {
  const cases = [
    { cookie: ACCEPTED, url: '/reset-password/0123456789abcdef', route: '/reset-password/:token' },
    { cookie: ACCEPTED, url: '/assets/x.js', route: '/assets/*' },
    { cookie: ACCEPTED, url: '/no-such-page', route: undefined },
    {
      cookie: 'cookie_policy={"essential":true,"usage":false}; seen_cookie_message=true',
      url: '/terms',
      route: '/terms',
    },
    {
      cookie: 'cookie_policy={"essential":true,"usage":"true"}; seen_cookie_message=true',
      url: '/terms',
      route: '/terms',
    },
    { url: '/terms', route: '/terms' },
    { cookie: ACCEPTED, url: '/terms', route: '/terms', id: null },
  ];
  for (const c of cases) {
    const { consent, csp } = run(c);
    assert.equal(consent.analytics, null, c.url);
    assert.equal(csp, BASE_CSP, `${c.url}: the CSP untouched`);
  }
});

test('the confirmation is shown once: its response clears the marker; /cookies has no banner', () => {
  const shown = run({ cookie: `${ACCEPTED}; lpa-consent-saved=accepted`, url: '/terms', route: '/terms' });
  assert.equal(shown.consent.banner, 'accepted');
  assert.match(shown.setCookies.join('\n'), /^lpa-consent-saved=; Max-Age=0/m);
  assert.equal(run({ url: '/cookies', route: '/cookies' }).consent.banner, 'none');
  assert.equal(run({ url: '/terms', route: '/terms' }).consent.banner, 'ask');
  assert.equal(run({ cookie: ACCEPTED, url: '/terms', route: '/terms' }).consent.banner, 'none');
});
