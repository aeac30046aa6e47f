/** The security-headers plugin on its own: its onSend hook puts back what a route removed and drops what leaks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import securityHeaders, {
  contentSecurityPolicy,
  nextNonce,
  rawErrorHeaders,
  rawErrorResponse,
  staticSecurityHeaders,
} from './security-headers.ts';

test('a route cannot send a response without the CSP and headers, or with X-Powered-By', async () => {
  const app = Fastify();
  await app.register(securityHeaders, { https: true });
  app.get('/stripped', async (_request, reply) => {
    reply.removeHeader('content-security-policy');
    reply.removeHeader('x-frame-options');
    reply.header('X-Powered-By', 'PHP/8.3');
    return 'ok';
  });
  app.get('/plain', async () => 'ok');
  try {
    for (const url of ['/stripped', '/plain']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-powered-by'], undefined, `${url}: X-Powered-By`);
      assert.match(
        String(res.headers['content-security-policy']),
        /script-src 'self' 'nonce-[A-Za-z0-9+/]{22}=='/,
        `${url}: CSP`,
      );
      for (const [name, value] of Object.entries(staticSecurityHeaders()))
        assert.equal(res.headers[name], value, `${url}: ${name}`);
    }
  } finally {
    await app.close();
  }
});

test('a request refused by an earlier onRequest hook gets a policy without a nonce source, and no-store', async () => {
  const app = Fastify();
  // As the production Host check in limits.ts: registered first, it refuses before this plugin's onRequest runs.
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.code(400).send('refused');
    done();
  });
  await app.register(securityHeaders, { https: true });
  app.get('/', async () => 'ok');
  try {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 400);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /(?:^|; )script-src 'self'; /);
    assert.doesNotMatch(csp, /nonce-/);
    assert.equal(res.headers['cache-control'], 'no-store');
    for (const [name, value] of Object.entries(staticSecurityHeaders())) assert.equal(res.headers[name], value, name);
  } finally {
    await app.close();
  }
});

test("the policy is default-src 'none' with every resource the pages load named, and nothing unsafe", () => {
  const csp = contentSecurityPolicy('bm9uY2Vub25jZW5vbmNlMQ==', true);
  const d = new Map(
    csp.split('; ').map((part) => {
      const [name = '', ...values] = part.split(' ');
      return [name, values.join(' ')];
    }),
  );
  assert.equal(d.get('default-src'), "'none'");
  assert.equal(d.get('script-src'), "'self' 'nonce-bm9uY2Vub25jZW5vbmNlMQ=='");
  for (const name of ['style-src', 'img-src', 'font-src', 'connect-src', 'manifest-src', 'frame-ancestors'])
    assert.equal(d.get(name), "'self'", name);
  for (const name of ['object-src', 'base-uri', 'frame-src']) assert.equal(d.get(name), "'none'", name);
  assert.equal(d.get('form-action'), "'self' https://www.gov.uk");
  assert.equal(d.get('require-trusted-types-for'), "'script'");
  assert.ok(d.has('upgrade-insecure-requests'));
  assert.doesNotMatch(csp, /unsafe-|\*|data:|blob:|http:/);
});

test(
  "Node's own refusals carry the same headers and the policy without a nonce, as a page " + 'refused before the nonce',
  () => {
    const raw = rawErrorResponse(431, 'Request Header Fields Too Large', true);
    const [head = '', body] = raw.split('\r\n\r\n');
    assert.equal(body, '431 Request Header Fields Too Large\n');
    assert.match(head, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.ok(head.includes(`\r\ncontent-security-policy: ${contentSecurityPolicy(undefined, true)}\r\n`));
    assert.doesNotMatch(head, /nonce-/);
    for (const [name, value] of Object.entries(staticSecurityHeaders()))
      assert.ok(head.includes(`\r\n${name}: ${value}\r\n`), name);
    assert.deepEqual(rawErrorHeaders(true)['content-security-policy'], contentSecurityPolicy(undefined, true));
  },
);

test('nonces are 128-bit, base64 and never repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const n = nextNonce();
    assert.match(n, /^[A-Za-z0-9+/]{22}==$/);
    seen.add(n);
  }
  assert.equal(seen.size, 5000);
});

test('the CSP is strict', () => {
  const csp = contentSecurityPolicy('NONCE', true);
  for (const d of [
    "script-src 'self' 'nonce-NONCE'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    "form-action 'self' https://www.gov.uk;",
    "require-trusted-types-for 'script'",
    "style-src 'self'",
    'upgrade-insecure-requests',
  ]) {
    assert.ok(csp.includes(d), d);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|data:|http:/);
  assert.doesNotMatch(contentSecurityPolicy('N', false), /upgrade-insecure-requests/);
  const h = staticSecurityHeaders();
  assert.match(h['strict-transport-security'] ?? '', /max-age=31536000; includeSubDomains/);
  assert.equal(h['x-xss-protection'], '0');
});
