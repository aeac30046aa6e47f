/**
 * The public pages, well-known files and the security envelope of every response, over real HTTP against
 * the real app (build(t)). Requests that fetch would normalise or refuse (dot segments, a custom Host, raw
 * malformed bytes) go through node:http or a net socket instead.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'node-html-parser';
import { build, captureLogger } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { PATHS } from '../../src/paths.ts';
import { CONTENT_PAGES } from '../../src/features/content/content-routes.ts';
import { loadConfig } from '../../src/config/config.ts';
import { buildApp } from '../../src/app.ts';
import { createServices } from '../../src/services.ts';

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

/** One request through node:http: the path is sent exactly as given, and any header (Host too) may be set. */
function send(
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes over a socket; resolves with everything the server wrote before closing. */
async function sendRaw(origin: string, bytes: string): Promise<string> {
  const url = new URL(origin);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.end(bytes);
  await Promise.race([
    once(socket, 'close'),
    new Promise((_resolve, reject) =>
      setTimeout(() => {
        reject(new Error('server did not close the socket'));
      }, 5000).unref(),
    ),
  ]);
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}

function headersOfRaw(raw: string): { status: number; headers: Map<string, string> } {
  const [head = ''] = raw.split('\r\n\r\n', 1);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}

type HeaderGetter = (name: string) => string | undefined;

function getter(headers: IncomingHttpHeaders | Map<string, string>): HeaderGetter {
  if (headers instanceof Map) return (name) => headers.get(name);
  return (name) => {
    const v = headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
}

/** The CSP as a map of directive name to its source list. */
function cspDirectives(policy: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name !== undefined && name !== '') map.set(name.toLowerCase(), values);
  }
  return map;
}

function nonceOf(policy: string): string {
  const scriptSrc = cspDirectives(policy).get('script-src') ?? [];
  const nonces = scriptSrc.filter((s) => s.startsWith("'nonce-")).map((s) => s.slice(7, -1));
  assert.equal(nonces.length, 1, `script-src has one nonce: ${scriptSrc.join(' ')}`);
  const [nonce = ''] = nonces;
  assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/, 'nonce is 128 bits of base64');
  return nonce;
}

/** Every security header the issue asks for, with its exact value or rule. `where` names the response. */
function assertSecurityHeaders(get: HeaderGetter, where: string, nonce: 'nonce' | 'no nonce' = 'nonce'): void {
  const csp = get('content-security-policy');
  assert.ok(csp !== undefined, `${where}: no CSP`);
  const d = cspDirectives(csp);
  const scriptSrc = d.get('script-src') ?? [];
  assert.ok(scriptSrc.length > 0, `${where}: no script-src`);
  // Node's own refusals render no page, so they issue no nonce (the policy of a page refused before the nonce hook).
  if (nonce === 'nonce') nonceOf(csp);
  else assert.deepEqual(scriptSrc, ["'self'"], `${where}: script-src without a nonce`);
  for (const [name, values] of d) {
    assert.ok(!values.includes("'unsafe-inline'"), `${where}: ${name} allows 'unsafe-inline'`);
    assert.ok(!values.includes("'unsafe-eval'"), `${where}: ${name} allows 'unsafe-eval'`);
    assert.ok(
      !values.includes('*') && !values.some((v) => /^(https?|data|blob):?$/.test(v)),
      `${where}: ${name} allows any source`,
    );
  }
  assert.deepEqual(d.get('object-src'), ["'none'"], `${where}: object-src`);
  assert.ok(d.has('base-uri') && /^'(none|self)'$/.test((d.get('base-uri') ?? []).join(' ')), `${where}: base-uri`);
  assert.deepEqual(d.get('frame-ancestors'), ["'self'"], `${where}: frame-ancestors`);
  assert.deepEqual(
    d.get('form-action'),
    ["'self'", 'https://www.gov.uk'],
    `${where}: form-action (sign-out lands on GOV.UK)`,
  );
  assert.deepEqual(d.get('require-trusted-types-for'), ["'script'"], `${where}: require-trusted-types-for`);
  assert.deepEqual(d.get('default-src'), ["'none'"], `${where}: default-src`);
  assert.ok(d.has('style-src') && !(d.get('style-src') ?? []).includes("'unsafe-inline'"), `${where}: style-src`);

  const hsts = get('strict-transport-security') ?? '';
  const maxAge = Number(/max-age=(\d+)/i.exec(hsts)?.[1] ?? 0);
  assert.ok(maxAge >= 31_536_000, `${where}: HSTS max-age ${maxAge} is under a year`);
  assert.match(hsts, /includeSubDomains/i, `${where}: HSTS without includeSubDomains`);
  assert.equal(get('x-content-type-options'), 'nosniff', `${where}: nosniff`);
  assert.equal(get('x-frame-options'), 'SAMEORIGIN', `${where}: X-Frame-Options`);
  assert.match(
    get('referrer-policy') ?? '',
    /^(no-referrer|same-origin|strict-origin|strict-origin-when-cross-origin)$/,
    `${where}: Referrer-Policy`,
  );
  const permissions = new Set((get('permissions-policy') ?? '').split(',').map((p) => p.trim()));
  for (const feature of ['camera', 'microphone', 'geolocation', 'payment']) {
    assert.ok(permissions.has(`${feature}=()`), `${where}: Permissions-Policy leaves ${feature} on`);
  }
  assert.equal(get('cross-origin-opener-policy'), 'same-origin', `${where}: COOP`);
  assert.match(get('cross-origin-resource-policy') ?? '', /^same-(origin|site)$/, `${where}: CORP`);
  assert.equal(get('x-xss-protection'), '0', `${where}: X-XSS-Protection`);
  assert.equal(get('x-powered-by'), undefined, `${where}: X-Powered-By`);
  assert.equal(get('server'), undefined, `${where}: Server banner`);
}

/** Things that must never reach a user: stack frames, file paths, library names and versions, internal messages. */
const INTERNALS: readonly RegExp[] = [
  /\bat [\w.<>]+ \(/,
  /\bat (file|node):/,
  /\/work\/|\/home\/|\/usr\/|[A-Z]:\\/,
  /node_modules/,
  /\.(ts|js|mjs|cjs):\d+/,
  /fastify|nunjucks|pino|undici|node\.js|ioredis|typebox/i,
  /\bv?\d+\.\d+\.\d+\b/,
  /\b(TypeError|ReferenceError|SyntaxError|Error):/,
  /boom-internal-detail/,
  /template render error/i,
  /stack/i,
];

function assertNoInternals(text: string, where: string): void {
  // The GOV.UK crown and logotype are SVG paths full of numbers like 1.2.3: not a version.
  const checked = text.replace(/<svg[\s\S]*?<\/svg>/g, '');
  for (const pattern of INTERNALS) assert.doesNotMatch(checked, pattern, `${where} leaks ${String(pattern)}`);
}

const PUBLIC_GETS: readonly string[] = [
  ...CONTENT_PAGES.map((p) => p.path),
  PATHS.ping,
  PATHS.pingJson,
  PATHS.pingElb,
  PATHS.robots,
  PATHS.securityTxt,
];

describe('public content and well-known files', () => {
  let built: Built;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-content-it-'));
    cleanups.push(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    built = await build(
      {
        after: (fn: () => unknown) => {
          cleanups.push(fn);
        },
      },
      { env: { DATA_DIR: dataDir } },
    );
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  for (const page of CONTENT_PAGES) {
    test(`GET ${page.path}: 200 HTML page, one h1, GOV.UK layout, no-store`, async () => {
      const res = await send(built.origin, 'GET', page.path);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8$/);
      assert.equal(res.headers['cache-control'], 'no-store');
      // No session: the only cookie is the form cookie of the cookie banner's (or the cookies page's) form (ADR 0022,
      // 0037).
      assert.deepEqual(
        [res.headers['set-cookie'] ?? []].flat().map((c) => c.split('=')[0]),
        ['lpa-form'],
        'a content page must not start a session',
      );
      const doc = parse(res.text);
      assert.equal(doc.querySelectorAll('h1').length, 1);
      assert.match(doc.querySelector('title')?.textContent ?? '', / - GOV\.UK$/);
      assert.ok(doc.querySelector('.govuk-footer') !== null);
      assert.ok(doc.querySelector('main#main-content') !== null);
      assert.doesNotMatch(res.text, /DRAFT: being written/);
    });
  }

  test('GET /ping/elb, /ping/json and /ping report health without a session', async () => {
    const elb = await send(built.origin, 'GET', PATHS.pingElb);
    assert.equal(elb.status, 200);
    assert.match(String(elb.headers['content-type']), /^text\/plain/);
    assert.ok(elb.text.length > 0);

    const json = await send(built.origin, 'GET', PATHS.pingJson);
    assert.equal(json.status, 200);
    assert.match(String(json.headers['content-type']), /^application\/json/);
    const report = JSON.parse(json.text) as { ok: boolean; status: string; checks: Record<string, { status: string }> };
    assert.equal(report.ok, true);
    assert.equal(report.status, 'pass');
    assert.equal(report.checks.sessionStore?.status, 'pass');

    // /ping is public: plain text, the overall status only, no page and no dependency names (issue 16, point 9).
    const ping = await send(built.origin, 'GET', PATHS.ping);
    assert.equal(ping.status, 200);
    assert.match(String(ping.headers['content-type']), /^text\/plain; charset=utf-8$/);
    assert.equal(ping.text, 'pass\n');
    for (const name of Object.keys(report.checks)) assert.ok(!ping.text.includes(name), `/ping names ${name}`);
    for (const r of [elb, json, ping]) assert.equal(r.headers['set-cookie'], undefined);
  });

  test('GET /robots.txt disallows everything', async () => {
    const res = await send(built.origin, 'GET', PATHS.robots);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.text, /^User-agent: \*$/m);
    assert.match(res.text, /^Disallow: \/$/m);
  });

  test(
    'GET /.well-known/security.txt follows RFC 9116: Contact, and Expires in the future but ' + 'within a year',
    async () => {
      const res = await send(built.origin, 'GET', PATHS.securityTxt);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; charset=utf-8/);
      const fields = res.text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => {
          const colon = l.indexOf(':');
          return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()] as const;
        });
      const contacts = fields.filter(([k]) => k === 'contact').map(([, v]) => v);
      assert.ok(contacts.length > 0, 'no Contact');
      for (const c of contacts) assert.match(c, /^(mailto:|https:\/\/|tel:)/, `Contact ${c} is not a URI`);
      const expires = fields.filter(([k]) => k === 'expires');
      assert.equal(expires.length, 1, 'exactly one Expires');
      const when = Date.parse(expires[0]?.[1] ?? '');
      assert.ok(!Number.isNaN(when), 'Expires is not a date');
      // RFC 9116 wants an RFC 3339 date-time; what toISOString writes is one.
      assert.equal(
        expires[0]?.[1],
        new Date(when).toISOString().replace('.000Z', (expires[0]?.[1] ?? '').includes('.') ? '.000Z' : 'Z'),
        'Expires is not an RFC 3339 UTC date-time',
      );
      assert.ok(when > Date.now(), 'Expires is in the past');
      assert.ok(when < Date.now() + 365 * 24 * 3600 * 1000, 'Expires is more than a year away');
      for (const [k, v] of fields) if (k === 'canonical' || k === 'policy') assert.match(v, /^https?:\/\//);
    },
  );

  test('an unknown page is a 404 in the GOV.UK layout, with the headers', async () => {
    const res = await send(built.origin, 'GET', '/no-such-page');
    assert.equal(res.status, 404);
    assert.equal(parse(res.text).querySelector('h1')?.textContent.trim(), 'Page not found');
    assertSecurityHeaders(getter(res.headers), '404');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  for (const [method, path] of [
    ['DELETE', '/'],
    ['PUT', '/accessibility'],
    ['PATCH', '/cookies'],
    ['POST', '/terms'],
    ['DELETE', PATHS.pingJson],
  ] as const) {
    test(`${method} ${path} is 405 with an Allow header`, async () => {
      const res = await send(built.origin, method, path, {
        origin: 'http://127.0.0.1:8005',
        'sec-fetch-site': 'same-origin',
      });
      assert.equal(res.status, 405);
      const allow = String(res.headers.allow).split(/,\s*/).sort();
      assert.deepEqual(allow, path === '/cookies' ? ['GET', 'HEAD', 'POST'] : ['GET', 'HEAD']);
      assertSecurityHeaders(getter(res.headers), `${method} ${path}`);
    });
  }

  describe('assets', () => {
    let cssPath: string;
    let jsPath: string;
    before(() => {
      cssPath = built.services.assets.url('css/govuk-frontend.min.css');
      jsPath = built.services.assets.url('js/application.mjs');
    });

    for (const encoding of ['br', 'gzip'] as const) {
      test(`an asset is served ${encoding}-compressed and immutable to Accept-Encoding: ${encoding}`, async () => {
        for (const path of [cssPath, jsPath]) {
          const res = await send(built.origin, 'GET', path, { 'accept-encoding': encoding });
          assert.equal(res.status, 200, path);
          assert.equal(res.headers['content-encoding'], encoding);
          assert.match(String(res.headers['cache-control']), /max-age=31536000/);
          assert.match(String(res.headers['cache-control']), /immutable/);
          assert.match(String(res.headers.vary), /Accept-Encoding/i);
          assert.equal(res.headers['set-cookie'], undefined);
          assertSecurityHeaders(getter(res.headers), path);
          const identity = await send(built.origin, 'GET', path);
          assert.equal(identity.headers['content-encoding'], undefined);
          assert.ok(res.body.length < identity.body.length, 'the compressed body is smaller');
        }
      });
    }

    const traversals = [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/%252e%252e/package.json',
      '/assets/..%5cpackage.json',
      '/assets/css/..%2f..%2fpackage.json',
      '/assets/..%2f..%2fsrc/app.ts',
      '/assets/%2e%2e%2f%2e%2e%2fetc/passwd',
      '/assets/..\\package.json',
      '/assets/css/../../.env',
      '/assets/manifest.json',
    ];
    for (const path of traversals) {
      test(`traversal ${path} is a 404 that leaks nothing`, async () => {
        const res = await send(built.origin, 'GET', path);
        assert.equal(res.status, 404);
        assert.match(String(res.headers['content-type']), /^text\/html/);
        assert.doesNotMatch(res.text, /"name":\s*"lpa-front"|"dependencies"|root:x:0|buildApp|SESSION_SECRET/);
        assertNoInternals(res.text, path);
        assertSecurityHeaders(getter(res.headers), path);
        assert.notEqual(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      });
    }
  });

  describe('HEAD requests', () => {
    for (const path of PUBLIC_GETS) {
      test(`HEAD ${path}: same status as GET, no body, every security header`, async () => {
        const get = await send(built.origin, 'GET', path);
        const head = await send(built.origin, 'HEAD', path);
        assert.equal(head.status, get.status);
        assert.equal(head.status, 200);
        assert.equal(head.body.length, 0);
        assert.equal(head.headers['content-type'], get.headers['content-type']);
        assertSecurityHeaders(getter(head.headers), `HEAD ${path}`);
        assertSecurityHeaders(getter(get.headers), `GET ${path}`);
        assert.equal(head.headers['cache-control'], 'no-store');
        assert.equal(get.headers['cache-control'], 'no-store');
      });
    }
  });

  describe('the CSP nonce', () => {
    for (const path of [...new Set(CONTENT_PAGES.map((p) => p.path)), '/no-such-page']) {
      test(`${path}: every <script> carries the nonce of its own response, and the nonce changes`, async () => {
        const first = await send(built.origin, 'GET', path);
        const second = await send(built.origin, 'GET', path);
        const nonces = [first, second].map((res) => {
          const nonce = nonceOf(String(res.headers['content-security-policy']));
          const scripts = parse(res.text).querySelectorAll('script');
          assert.ok(scripts.length >= 2, 'the js-enabled line and the application module');
          for (const s of scripts)
            assert.equal(s.getAttribute('nonce'), nonce, `a <script> on ${path} lacks this response's nonce`);
          // No inline event handlers or javascript: URLs: the nonce would not cover them.
          assert.doesNotMatch(res.text, /\son[a-z]+\s*=|javascript:/i);
          return nonce;
        });
        assert.notEqual(nonces[0], nonces[1]);
      });
    }
  });

  describe('malformed and oversized requests', () => {
    test('a bad request line is refused by Node with the security headers', async () => {
      const raw = await sendRaw(built.origin, 'GET /\u0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const { status, headers } = headersOfRaw(raw);
      assert.equal(status, 400);
      assertSecurityHeaders((n) => headers.get(n), 'bad request line', 'no nonce');
      assertNoInternals(raw, 'bad request line');
    });

    test('a request line that is not HTTP at all is refused with the security headers', async () => {
      const raw = await sendRaw(built.origin, 'HELLO THERE\r\n\r\n');
      const { status, headers } = headersOfRaw(raw);
      assert.equal(status, 400);
      assertSecurityHeaders((n) => headers.get(n), 'garbage', 'no nonce');
    });

    test('a 20 KB header is refused with 431 and the security headers', async () => {
      const raw = await sendRaw(
        built.origin,
        `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      );
      const { status, headers } = headersOfRaw(raw);
      assert.equal(status, 431);
      assertSecurityHeaders((n) => headers.get(n), '431', 'no nonce');
      assert.equal(headers.get('cache-control'), 'no-store');
    });

    test('a URL of 10 KB is answered (404), with the headers, without echoing it', async () => {
      const long = `/${'a'.repeat(10 * 1024)}`;
      const res = await send(built.origin, 'GET', long);
      assert.equal(res.status, 404);
      assertSecurityHeaders(getter(res.headers), '10 KB URL');
      assert.ok(!res.text.includes('a'.repeat(200)), 'the page echoes the URL');
      // The server is still up.
      assert.equal((await send(built.origin, 'GET', '/')).status, 200);
    });
  });
});

describe('production error pages', () => {
  const PUBLIC_ORIGIN = 'https://lpa.test.example';
  const HOST = 'lpa.test.example';
  const env = {
    NODE_ENV: 'production',
    PUBLIC_ORIGIN,
    SESSION_SECRET: 'k3Jq9vX2mP7rT4wZ8bN1cF6hL0sD5gY-production-like',
    MAIL_TRANSPORT: 'file',
    LOG_LEVEL: 'info',
  };

  test('a 404 has no internals and keeps every header', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-content-it-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const built = await build(t, { env: { ...env, DATA_DIR: dataDir } });
    const res = await send(built.origin, 'GET', '/no/such/page.php', { host: HOST });
    assert.equal(res.status, 404);
    assertNoInternals(res.text, 'production 404');
    assertSecurityHeaders(getter(res.headers), 'production 404');
    assert.match(parse(res.text).querySelector('h1')?.textContent ?? '', /Page not found/);
  });

  test('a 500 shows only a reference, equal to the reqId on the log line', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-content-it-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const config = loadConfig({ ...env, DATA_DIR: dataDir });
    const { logger, lines } = captureLogger('info');
    const base = createServices(config, { logger });
    // A signed-in user, so the auth guard lets the request reach the failing handler.
    const services = {
      ...base,
      resolveUser: () =>
        Promise.resolve({ userId: 'u-1', token: 't', tokenExpiresAt: new Date(Date.now() + 3600_000) }),
    };
    const app = await buildApp(config, services, logger);
    app.get('/__boom', async () => {
      throw new TypeError(`boom-internal-detail at ${join(import.meta.dirname, 'secret.ts')}:42 via nunjucks 3.2.4`);
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.after(async () => {
      await app.close();
      await base.close();
    });
    const address = app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    const origin = `http://127.0.0.1:${String(address.port)}`;

    const res = await send(origin, 'GET', '/__boom', { host: HOST });
    assert.equal(res.status, 500);
    assertNoInternals(res.text, 'production 500');
    assertSecurityHeaders(getter(res.headers), 'production 500');
    assert.equal(res.headers['cache-control'], 'no-store');
    const reference = parse(res.text).querySelector('[data-qa="error-reference"]')?.textContent.trim() ?? '';
    assert.match(reference, /^[A-Z0-9]{6,16}$/);

    const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const errorLine = logs.find((l) => l.msg === 'unhandled error');
    assert.ok(errorLine !== undefined, 'no error log line');
    assert.equal(errorLine.reqId, reference);
    assert.equal(errorLine.level, 'error');
    // The detail is in the log for the operator, not in the page.
    assert.match(JSON.stringify(errorLine), /boom-internal-detail/);
    const accessLine = logs.find((l) => l.msg === 'request' && l.reqId === reference);
    assert.equal(accessLine?.status, 500);
  });
});
