/** The security-headers plugin on its own: its onSend hook puts back what a route removed and drops what leaks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import securityHeaders, { staticSecurityHeaders } from './security-headers.ts';

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
      assert.match(String(res.headers['content-security-policy']), /script-src 'self' 'nonce-[A-Za-z0-9+/]{22}=='/, `${url}: CSP`);
      for (const [name, value] of Object.entries(staticSecurityHeaders())) assert.equal(res.headers[name], value, `${url}: ${name}`);
    }
  } finally {
    await app.close();
  }
});

test('a request refused by an earlier onRequest hook gets a policy without a nonce source, and no-store', async () => {
  const app = Fastify();
  // As the production Host check in limits.ts: registered first, it refuses before this plugin's onRequest runs.
  app.addHook('onRequest', (_request, reply, done) => { void reply.code(400).send('refused'); done(); });
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
