import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { linkFollowed } from './link-followed.ts';

const ORIGIN = 'https://www.lastingpowerofattorney.service.gov.uk';

test('a link followed on this site: fetch metadata first, the Referer only without it, never a prefetch', () => {
  const cases: readonly [headers: Record<string, string | string[]>, typedOk: boolean, typedNo: boolean][] = [
    [{ 'sec-fetch-site': 'same-origin' }, true, true],
    [{ 'sec-fetch-site': 'none' }, true, false],
    [{ 'sec-fetch-site': 'same-site' }, false, false],
    [{ 'sec-fetch-site': 'cross-site', referer: `${ORIGIN}/user/about-you` }, false, false],
    [{ 'sec-fetch-site': 'same-origin', 'sec-purpose': 'prefetch' }, false, false],
    [{ 'sec-fetch-site': 'same-origin', purpose: 'Prerender' }, false, false],
    [{ 'sec-fetch-site': ['same-origin', 'cross-site'] }, true, true],
    [{ referer: `${ORIGIN}/user/about-you` }, true, true],
    [{ referer: 'https://evil.example/' }, false, false],
    [{ referer: 'not a url' }, false, false],
    [{}, false, false],
  ];
  for (const [headers, typedOk, typedNo] of cases) {
    const request = { headers } as unknown as FastifyRequest;
    assert.equal(linkFollowed(request, ORIGIN, { typed: true }), typedOk, JSON.stringify(headers));
    assert.equal(linkFollowed(request, ORIGIN, { typed: false }), typedNo, JSON.stringify(headers));
  }
});
