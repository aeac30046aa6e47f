/**
 * Issue 17.1: the live service's open redirect on /feedback-thanks stays closed. Each payload goes through the real
 * app over HTTP, sent exactly as written (node:http, no client normalisation), and the rendered Continue link must
 * resolve to this site. The first three rendered `href="//evil.example"` before safeLocalPath checked its result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { build } from '../helpers/app.ts';
import { html } from '../helpers/http.ts';
import { PATHS } from '../../src/paths.ts';

function get(origin: string, path: string): Promise<{ status: number; text: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const PAYLOADS: readonly string[] = [
  '/.//evil.example',
  '/a/..//evil.example',
  '/%2e//evil.example',
  '%2F.%2F%2Fevil.example',
  '%2Fa%2F..%2F%2Fevil.example',
  '%2F%252e%2F%2Fevil.example',
  '/%2E%2E//evil.example',
  '/a/b/../..//evil.example',
  '/./\\evil.example',
  '/%5cevil.example',
  '/%255cevil.example',
  '/%09/evil.example',
  '%2F%09%2Fevil.example',
  '/%0d%0a//evil.example',
  '%09//evil.example',
  '\\/evil.example',
  '/\\evil.example',
  'javascript:alert(1)',
  '/javascript:alert(1)',
  'https:evil.example',
  '/%EF%BC%8Fevil.example',
  '/%E2%88%95/evil.example',
];

test('/feedback-thanks: every open-redirect payload renders a Continue link on this site', async (t) => {
  const built = await build(t);
  for (const payload of PAYLOADS) {
    const res = await get(built.origin, `${PATHS.feedbackThanks}?returnTarget=${payload}`);
    assert.equal(res.status, 200, payload);
    const href = html(res.text).querySelector('a[data-qa="continue"]')?.getAttribute('href');
    assert.ok(href !== undefined, payload);
    assert.ok(href === '/' || /^\/[^/\\]/.test(href), `${payload} → ${href}`);
    assert.equal(new URL(href, 'https://lpa.example').host, 'lpa.example', `${payload} → ${href}`);
  }
});
