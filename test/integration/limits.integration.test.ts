/**
 * Production request limits over real HTTP: the Host must be PUBLIC_ORIGIN's host (except on the health checks),
 * and X-Forwarded-* are believed only from a configured proxy address (TRUSTED_PROXIES), so a client cannot pick
 * its own Host or source address.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { build } from '../helpers/app.ts';
import { PATHS } from '../../src/paths.ts';

const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_ORIGIN: 'https://lpa.example.gov.uk',
  SESSION_SECRET: 'q8Zr1vN3xK0pL5sT9wE2yU7iO4aD6fG1hJ3kM5nB8cV0',
  MAIL_TRANSPORT: 'file',
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(origin: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return send(origin, 'GET', path, headers);
}

describe('Host checks in production', () => {
  test('only the public host is served; a foreign Host gets 400 with the security headers', async (t) => {
    const built = await build(t, { env: PRODUCTION });
    assert.equal((await get(built.origin, '/accessibility', { host: 'lpa.example.gov.uk' })).status, 200);
    for (const host of ['evil.example', 'lpa.example.gov.uk.evil.example', '127.0.0.1', 'LPA.example.gov.uk:8443']) {
      const res = await get(built.origin, '/accessibility', { host });
      assert.equal(res.status, 400, host);
      // Refused before a nonce was issued: the policy names no nonce (never an empty one), and nothing is cached.
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /(?:^|; )script-src 'self'; /, `${host}: CSP on the refusal`);
      assert.doesNotMatch(csp, /nonce-/, `${host}: no nonce source`);
      assert.match(csp, /frame-ancestors 'self'/, `${host}: the rest of the policy`);
      assert.equal(res.headers['cache-control'], 'no-store', `${host}: Cache-Control`);
      assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN', `${host}: the other headers`);
    }
  });

  test('the load balancer and container health checks reach an instance by its address', async (t) => {
    const built = await build(t, { env: PRODUCTION });
    const byAddress = { host: '10.0.0.5:8005' };
    const elb = await get(built.origin, PATHS.pingElb, byAddress);
    assert.equal(elb.status, 200);
    assert.equal(elb.body, 'Happy face');
    assert.equal((await get(built.origin, PATHS.pingJson, byAddress)).status, 200);
    // Only the health checks: a page by that Host is still refused.
    assert.equal((await get(built.origin, PATHS.home, byAddress)).status, 400);
    assert.equal((await get(built.origin, PATHS.ping, byAddress)).status, 400);
  });

  test('without TRUSTED_PROXIES, X-Forwarded-Host and X-Forwarded-For are ignored', async (t) => {
    const built = await build(t, { env: PRODUCTION });
    // A client cannot make a foreign Host acceptable by claiming to be forwarded…
    assert.equal(
      (await get(built.origin, '/accessibility', { host: 'evil.example', 'x-forwarded-host': 'lpa.example.gov.uk' }))
        .status,
      400,
    );
    // …nor make the public host unacceptable.
    assert.equal(
      (await get(built.origin, '/accessibility', { host: 'lpa.example.gov.uk', 'x-forwarded-host': 'evil.example' }))
        .status,
      200,
    );
    // Its claimed source address is not believed: the sign-in audit event records the socket's address.
    const host = { host: 'lpa.example.gov.uk' };
    const form = await get(built.origin, '/login', host);
    const cookie = String(form.headers['set-cookie']).split(';')[0] ?? '';
    const token = /name="_csrf" value="([0-9a-f]+)"/.exec(form.body)?.[1] ?? '';
    const posted = await send(
      built.origin,
      'POST',
      '/login',
      {
        ...host,
        cookie,
        origin: PRODUCTION.PUBLIC_ORIGIN,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': '6.6.6.6',
      },
      new URLSearchParams({ _csrf: token, email: 'nobody@example.com', password: 'wrong password' }).toString(),
    );
    assert.equal(posted.status, 400, 'the sign-in attempt was made (and failed)');
    const audit = built.logs.find((l) => typeof l.event === 'string' && l.event.startsWith('auth.sign_in.'));
    assert.ok(audit !== undefined, 'an audit event was logged');
    assert.equal(audit.ip, '127.0.0.1');
    assert.ok(!built.logText().includes('6.6.6.6'), 'the spoofed address appears nowhere');
  });

  test('from a trusted proxy, X-Forwarded-Host is the host that is checked', async (t) => {
    const built = await build(t, { env: { ...PRODUCTION, TRUSTED_PROXIES: '127.0.0.1' } });
    assert.equal(
      (
        await get(built.origin, '/accessibility', {
          host: 'internal:8005',
          'x-forwarded-host': 'lpa.example.gov.uk',
          'x-forwarded-proto': 'https',
        })
      ).status,
      200,
    );
    assert.equal(
      (await get(built.origin, '/accessibility', { host: 'lpa.example.gov.uk', 'x-forwarded-host': 'evil.example' }))
        .status,
      400,
    );
  });
});
