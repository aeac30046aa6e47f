/**
 * The generated nginx config, run by real nginx on loopback, in front of two recording stand-ins for
 * lpa-front and one for the legacy front: what reaches which upstream, spelt how; nginx's own errors;
 * headers never reflected; forwarded headers overwritten; HTTP → HTTPS; retries for idempotent methods only;
 * HTTP/0.9 refused; one Vary; the trace context nginx sends upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { declaredPaths, edgeHeaders, generateNginxConf } from '../../deploy/nginx/generate.ts';
import { EDGE_HELD_BACK, PATHS } from '../../src/paths.ts';
import type { EdgeOptions } from '../../deploy/nginx/generate.ts';
import { freePort, makeCertificates, startNginx } from '../helpers/services.ts';
import type { Certificates, StartedNginx } from '../helpers/services.ts';
import { parseResponse, rawExchange, rawRequest, startRecorder } from './edge-client.ts';
import type { RawResponse, Recorder } from './edge-client.ts';

const EDGE_HEADERS = edgeHeaders();
/** The pages these tests send to lpa-front by name: routed whatever EDGE_HELD_BACK holds (a test-only option). */
const ALSO_ROUTE = [PATHS.home, PATHS.start, PATHS.accessibility, PATHS.ping, PATHS.cspReport, PATHS.aboutYou];

let certs: Certificates;
let certDir: string;
let front1: Recorder;
let front2: Recorder;
let legacy: Recorder;
let nginx: StartedNginx;
let httpsPort: number;
let httpPort: number;
let publicHost: string;
let bare: StartedNginx;
let barePort: number;

async function startEdge(opts: Omit<EdgeOptions, 'certFile' | 'keyFile' | 'prefix'>): Promise<StartedNginx> {
  return startNginx(
    (prefix) => generateNginxConf({ ...opts, certFile: certs.certFile, keyFile: certs.keyFile, prefix }),
    { port: opts.httpsPort },
  );
}

before(async () => {
  certDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-edge-certs-'));
  certs = await makeCertificates(certDir);
  [front1, front2, legacy] = await Promise.all([
    startRecorder('front1'),
    startRecorder('front2'),
    startRecorder('legacy'),
  ]);
  httpsPort = await freePort();
  httpPort = await freePort();
  publicHost = `127.0.0.1:${String(httpsPort)}`;
  nginx = await startEdge({
    publicHost,
    httpsPort,
    httpPort,
    // max_fails=0: no server is ever marked down, so every request shows the retry rule afresh.
    upstreams: [
      { address: front1.address, maxFails: 0 },
      { address: front2.address, maxFails: 0 },
    ],
    legacy: { kind: 'http', servers: [legacy.address] },
    clientMaxBodySize: '8k',
    proxyReadTimeout: 1,
    alsoRoute: ALSO_ROUTE,
    traceSamplePercent: 0, // so a client's sampled flag visibly loses to the edge's
  });
  barePort = await freePort();
  bare = await startEdge({
    publicHost: `127.0.0.1:${String(barePort)}`,
    httpsPort: barePort,
    upstreams: [front1.address],
    alsoRoute: ALSO_ROUTE,
    traceSamplePercent: 100,
  });
});

after(async () => {
  await Promise.all([nginx.stop(), bare.stop()]);
  await Promise.all([front1.close(), front2.close(), legacy.close()]);
  await rm(certDir, { recursive: true, force: true });
});

function clear(): void {
  for (const r of [front1, front2, legacy]) {
    r.seen.length = 0;
    r.handler = undefined;
  }
}

function get(
  p: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; port?: number } = {},
): Promise<RawResponse> {
  return rawRequest(init.port ?? httpsPort, {
    tls: { ca: certs.ca },
    path: p,
    method: init.method,
    headers: init.headers,
    body: init.body,
  });
}

/** Which upstream(s) saw the request, and the request line they got. */
async function route(p: string): Promise<{ status: number; fronts: string[]; legacy: string[] }> {
  clear();
  const res = await get(p);
  return {
    status: res.status,
    fronts: [...front1.seen, ...front2.seen].map((r) => r.url),
    legacy: legacy.seen.map((r) => r.url),
  };
}

function assertEdgeHeaders(res: RawResponse, what: string): void {
  for (const [name, value] of EDGE_HEADERS) {
    assert.deepEqual(res.headers.get(name), [value], `${what}: ${name}`);
  }
  assert.deepEqual(res.headers.get('server'), ['nginx'], `${what}: no version in Server`);
}

describe('routing: only declared paths reach lpa-front', () => {
  test('every declared path reaches lpa-front, as that exact path', async () => {
    const paths = declaredPaths(ALSO_ROUTE);
    assert.ok(paths.length >= 15, 'the route table is read');
    for (const p of paths) {
      const r = await route(p);
      assert.deepEqual(r, { status: 200, fronts: [p], legacy: [] }, p);
    }
  });

  test('content-hashed assets reach lpa-front as the normalised path, without the query string', async () => {
    const cases: [string, string][] = [
      ['/assets/css/govuk-frontend.min-9fe50e9010.css', '/assets/css/govuk-frontend.min-9fe50e9010.css'],
      ['/assets/fonts/bold-affa96571d-v2-5a2a925237.woff', '/assets/fonts/bold-affa96571d-v2-5a2a925237.woff'],
      ['/assets/manifest-d7dcc0afcc.json', '/assets/manifest-d7dcc0afcc.json'],
      ['/assets/css/govuk-frontend.min-9fe50e9010.css?v=1&x=2', '/assets/css/govuk-frontend.min-9fe50e9010.css'],
      ['/assets/%63ss/app-0123456789.css', '/assets/css/app-0123456789.css'],
      ['/assets//css/app-0123456789.css', '/assets/css/app-0123456789.css'],
    ];
    for (const [sent, received] of cases)
      assert.deepEqual(await route(sent), { status: 200, fronts: [received], legacy: [] }, sent);
  });

  // Spellings that nginx normalises to a declared path ($uri: percent-decoded, `.`/`..` resolved, slashes merged)
  // name the same resource, so they may reach lpa-front, but only ever as the declared spelling.
  test('equivalent spellings of a declared path reach lpa-front as the canonical path', async () => {
    const cases: [string, string][] = [
      ['//accessibility', '/accessibility'],
      ['/%2Faccessibility', '/accessibility'],
      ['/user/../accessibility', '/accessibility'],
      ['/./accessibility', '/accessibility'],
      ['/%61ccessibility', '/accessibility'],
      ['/accessibility?x=1', '/accessibility?x=1'],
      ['/a/..', '/'],
      // The dashboard's pages: a number after the prefix, the search with it (ADR 0042).
      ['/user/dashboard/page/2', '/user/dashboard/page/2'],
      ['/user/dashboard/page/2?search=a%26b', '/user/dashboard/page/2?search=a%26b'],
      ['/user/dashboard/page/%32', '/user/dashboard/page/2'],
    ];
    for (const [sent, received] of cases)
      assert.deepEqual(await route(sent), { status: 200, fronts: [received], legacy: [] }, sent);
  });

  // Everything else: the legacy front, with the request line exactly as the client sent it (its routing, as today).
  test('tricky spellings of undeclared paths never reach lpa-front', async () => {
    const toLegacy = [
      '/accessibility/',
      '/ACCESSIBILITY',
      '/Accessibility',
      '/accessibility;x=1',
      '/accessibility;jsessionid=1',
      '/accessibility.',
      '/accessibility%20',
      '/accessibility/.',
      '/accessibility%2f..%2fadmin',
      '/accessibility/..%2fadmin',
      '/assets/../etc/passwd',
      '/assets/%2e%2e/x',
      '/assets/%2e%2e%2fetc%2fpasswd',
      '/%c0%ae%c0%ae/',
      '/%c0%af',
      '/%e0%80%ae%e0%80%ae/',
      '/login.php',
      '/index.php',
      '/index.php/accessibility',
      '/user',
      // served by lpa-front, but the legacy page still does more (ADR 0017)
      ...Object.keys(EDGE_HELD_BACK).filter((p) => !(ALSO_ROUTE as readonly string[]).includes(p)),
      '/user/dashboard/',
      '/user/dashboard/x',
      '/user/dashboard/page/',
      '/user/dashboard/page/x',
      '/user/dashboard/page/2/',
      '/user/dashboard/page/1234567890',
      '/user/dashboard/page/2;x',
      '/user/dashboard/create',
      '/user/dashboard/statuses/1,2',
      '/ping/json/x',
      '/admin',
      '/assets/',
      '/assets/v2/css/application.css',
      '/assets/css/.hidden-0123456789.css',
      '/assets/css/app-0123456789.CSS',
      '/assets/css/app-012345678.css',
      '/assets/a/b/app-0123456789.css',
      '/assets/css/app-0123456789.css/',
      '/assets/css/app-0123456789.css.php',
      '/assets/css/app%2d0123456789.css%2f..%2f..%2fadmin',
      // A trailing newline: PCRE's `$` matches before it, so without `(?!\n)` it reached lpa-front as a raw LF.
      '/assets/css/app-0123456789.css%0A',
      '/user/dashboard/page/2%0A',
      '/signup/confirm/AbC123_-xyz987654321QRSTuvw%0A',
    ];
    for (const p of toLegacy) {
      const r = await route(p);
      assert.deepEqual(r.fronts, [], `${p} must not reach lpa-front`);
      assert.deepEqual(r.legacy, [p], `${p} goes to the legacy front as sent`);
    }
  });

  test('requests nginx refuses outright reach no upstream and get 400', async () => {
    for (const p of [
      '/accessibility%00',
      '/../accessibility',
      '/%2e%2e/accessibility',
      '/assets/%2e%2e/%2e%2e/etc/passwd',
      '/accessibility%00.css',
      '/assets/css/app-0123456789.css%00.php',
    ]) {
      const r = await route(p);
      assert.deepEqual(r, { status: 400, fronts: [], legacy: [] }, p);
    }
  });

  test(
    'with no legacy front configured, undeclared paths are 404 from nginx, declared ones ' + 'still reach lpa-front',
    async () => {
      clear();
      for (const p of ['/admin', '/accessibility/', '/login.php', '/ACCESSIBILITY']) {
        const res = await get(p, { port: barePort });
        assert.equal(res.status, 404, p);
        assertEdgeHeaders(res, `404 for ${p}`);
      }
      assert.equal(front1.seen.length, 0);
      assert.equal((await get('/accessibility', { port: barePort })).status, 200);
      assert.deepEqual(
        front1.seen.map((r) => r.url),
        ['/accessibility'],
      );
    },
  );
});

describe('headers', () => {
  test("nginx's own 4xx and 5xx carry the security headers and a plain page", async () => {
    clear();
    legacy.handler = (req, res) => {
      if (req.url === '/hang') return; // never answers: proxy_read_timeout (1 s) → 504
      res.socket?.destroy(); // /drop: closes without a response → 502
    };
    const cases: [string, () => Promise<RawResponse>, number][] = [
      ['400 bad request', () => get('/accessibility%00'), 400],
      ['400 bad Host', () => get('/', { headers: { host: 'a/b' } }), 400],
      ['404 internal location', () => get('/__lpa_edge_error__'), 404],
      ['404 internal redirect location', () => get('/__lpa_edge_to_https__'), 404],
      [
        '413 body too large',
        () =>
          get('/send-feedback', {
            method: 'POST',
            body: Buffer.alloc(9 * 1024, 0x61),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
        413,
      ],
      ['414 URI too long', () => get(`/${'a'.repeat(20_000)}`), 414],
      ['494 header too large (sent as 400)', () => get('/', { headers: { 'x-big': 'b'.repeat(20_000) } }), 400],
      ['502 upstream closed', () => get('/drop'), 502],
      ['504 upstream timeout', () => get('/hang'), 504],
    ];
    for (const [what, send, status] of cases) {
      const res = await send();
      assert.equal(res.status, status, what);
      assertEdgeHeaders(res, what);
      const body = res.body.toString('utf8');
      assert.match(res.header('content-type') ?? '', /^text\/html; charset=utf-8$/, what);
      assert.match(body, /Make a lasting power of attorney - GOV\.UK/, what);
      assert.doesNotMatch(body, /<center>nginx/, what);
    }
  });

  test('request headers are never reflected into responses', async () => {
    clear();
    const evil = {
      'x-content-type-options': 'evil',
      'content-security-policy': 'evil',
      'referrer-policy': 'evil',
      'x-frame-options': 'evil',
      'strict-transport-security': 'evil',
      'permissions-policy': 'evil',
    };
    // Legacy response without headers of its own, nginx's own 404, nginx's own 400.
    for (const p of ['/some/legacy/page', '/__lpa_edge_error__', '/x%00']) {
      const res = await get(p, { headers: evil });
      assertEdgeHeaders(res, p);
      for (const values of res.headers.values())
        assert.ok(!values.includes('evil'), `${p}: a request header was echoed`);
    }
  });

  test("an upstream's own security headers pass through once, not doubled by nginx's", async () => {
    clear();
    const own = {
      'content-security-policy': "default-src 'self'; script-src 'nonce-abc'",
      'strict-transport-security': 'max-age=63072000',
      'x-frame-options': 'DENY',
    };
    const handler = (_req: unknown, res: ServerResponse): void => {
      for (const [k, v] of Object.entries(own)) res.setHeader(k, v);
      res.end('ok');
    };
    front1.handler = handler;
    front2.handler = handler;
    const res = await get('/accessibility', { headers: { 'content-security-policy': 'evil' } });
    for (const [k, v] of Object.entries(own)) assert.deepEqual(res.headers.get(k), [v], k);
    // Those the upstream did not send are still added.
    assert.deepEqual(res.headers.get('x-content-type-options'), ['nosniff']);
  });

  test('Host and X-Forwarded-* are set by nginx, whatever the client sent; override headers are dropped', async () => {
    const spoof = {
      host: 'evil.example',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
      forwarded: 'for=6.6.6.6;proto=http',
      'x-real-ip': '6.6.6.6',
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
      'x-http-method-override': 'DELETE',
    };
    for (const p of ['/accessibility', '/legacy/page']) {
      clear();
      await get(p, { headers: spoof });
      const seen = [...front1.seen, ...front2.seen, ...legacy.seen];
      assert.equal(seen.length, 1, p);
      const h = seen[0]?.headers ?? {};
      assert.equal(h.host, publicHost, `${p}: Host`);
      assert.equal(h['x-forwarded-for'], '127.0.0.1', `${p}: X-Forwarded-For replaced, not appended`);
      assert.equal(h['x-forwarded-host'], publicHost, `${p}: X-Forwarded-Host`);
      assert.equal(h['x-forwarded-proto'], 'https', `${p}: X-Forwarded-Proto`);
      for (const gone of ['forwarded', 'x-real-ip', 'x-original-url', 'x-rewrite-url', 'x-http-method-override']) {
        assert.equal(h[gone], undefined, `${p}: ${gone} must not reach the upstream`);
      }
    }
  });

  test('gzip compresses text that the upstream sent uncompressed, and leaves compressed responses alone', async () => {
    clear();
    const html = `<!DOCTYPE html><p>${'hello '.repeat(200)}</p>`;
    const pre = gzipSync('already compressed '.repeat(50));
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.url === '/home') {
        res.setHeader('content-type', 'text/css; charset=utf-8');
        res.setHeader('content-encoding', 'gzip');
        res.end(pre);
        return;
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(html);
    };
    front1.handler = handler;
    front2.handler = handler;
    const plain = await get('/accessibility', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(plain.header('content-encoding'), 'gzip');
    assert.ok(plain.body.length < html.length / 4);
    assert.deepEqual(plain.headers.get('vary'), ['Accept-Encoding'], 'nginx adds Vary when it compresses');
    const already = await get('/home', { headers: { 'accept-encoding': 'gzip' } });
    assert.deepEqual(already.headers.get('content-encoding'), ['gzip']);
    assert.deepEqual(already.body, pre, 'not compressed twice');
  });

  test('Vary: Accept-Encoding is sent once, whether the upstream sent it or not', async () => {
    clear();
    const html = `<!DOCTYPE html><p>${'hello '.repeat(200)}</p>`;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      // lpa-front's pages say Vary themselves (src/platform/views.ts); nginx's gzip_vary used to add a second.
      if (req.url === '/accessibility') res.setHeader('vary', 'Accept-Encoding');
      if (req.url === '/home') res.setHeader('vary', 'Cookie');
      res.end(html);
    };
    front1.handler = handler;
    front2.handler = handler;
    for (const encoding of ['gzip', 'identity']) {
      const own = await get('/accessibility', { headers: { 'accept-encoding': encoding } });
      assert.deepEqual(own.headers.get('vary'), ['Accept-Encoding'], `${encoding}: the upstream's Vary, not doubled`);
      const none = await get('/ping', { headers: { 'accept-encoding': encoding } });
      assert.deepEqual(
        none.headers.get('vary'),
        ['Accept-Encoding'],
        `${encoding}: added once when the upstream sent none`,
      );
      const other = await get('/home', { headers: { 'accept-encoding': encoding } });
      assert.deepEqual(
        other.headers.get('vary'),
        ['Cookie', 'Accept-Encoding'],
        `${encoding}: Accept-Encoding added beside another Vary`,
      );
    }
    const own404 = await get('/__lpa_edge_error__');
    assert.deepEqual(own404.headers.get('vary'), ['Accept-Encoding'], "nginx's own pages: once");
  });

  test('HTTP/0.9 is refused: the connection closes without a byte and no upstream sees the request', async () => {
    clear();
    // HTTP/0.9 has no status line and no headers, so no reply to it could carry the security headers.
    for (const line of [
      'GET /\r\n',
      'GET /accessibility\r\n',
      'GET /some/legacy/page\r\n',
      'GET /accessibility%00\r\n',
      'GET /__lpa_edge_error__\r\n',
    ]) {
      const got = await rawExchange(httpsPort, line, { tls: { ca: certs.ca } });
      assert.equal(
        got.length,
        0,
        `TLS ${JSON.stringify(line)}: ${JSON.stringify(got.subarray(0, 80).toString('latin1'))}`,
      );
      const plain = await rawExchange(httpPort, line);
      assert.equal(
        plain.length,
        0,
        `HTTP port ${JSON.stringify(line)}: ${JSON.stringify(plain.subarray(0, 80).toString('latin1'))}`,
      );
      const plainToTls = await rawExchange(httpsPort, line); // nginx's "plain HTTP to the HTTPS port" redirect
      assert.equal(
        plainToTls.length,
        0,
        `plain to TLS port ${JSON.stringify(line)}: ${JSON.stringify(plainToTls.subarray(0, 80).toString('latin1'))}`,
      );
    }
    assert.equal(front1.seen.length + front2.seen.length + legacy.seen.length, 0);
    // Every other kind of request line still gets a reply with a status line and the headers.
    const replies: [string, number][] = [
      ['GET /accessibility HTTP/1.0\r\n\r\n', 200],
      ['GET /some/legacy/page HTTP/1.0\r\n\r\n', 200],
      [`GET /${'a'.repeat(20_000)}\r\n`, 414],
      ['GARBAGE\r\n\r\n', 400],
    ];
    for (const [line, status] of replies) {
      const res = parseResponse(await rawExchange(httpsPort, line, { tls: { ca: certs.ca } }));
      assert.equal(res.status, status, JSON.stringify(line.slice(0, 30)));
      assertEdgeHeaders(res, JSON.stringify(line.slice(0, 30)));
    }
  });
});

describe('plain HTTP', () => {
  test('the HTTP port redirects to HTTPS on the canonical host, never the client Host', async () => {
    for (const host of [`127.0.0.1:${String(httpPort)}`, 'evil.example']) {
      const res = await rawRequest(httpPort, { path: '/accessibility?x=1', headers: { host } });
      assert.equal(res.status, 301);
      assert.equal(res.header('location'), `https://${publicHost}/accessibility?x=1`);
    }
  });

  test('plain HTTP sent to the TLS port is redirected too, not answered', async () => {
    clear();
    const res = await rawRequest(httpsPort, { path: '/cookies' });
    assert.equal(res.status, 301);
    assert.equal(res.header('location'), `https://${publicHost}/cookies`);
    assert.equal(front1.seen.length + front2.seen.length, 0);
  });
});

describe('retries', () => {
  test(
    'a failing instance: idempotent requests are retried on the next, POSTs are not (no ' + 'double submission)',
    async () => {
      clear();
      // A failure is no answer at all (here: the connection dropped). A 503 is an answer: see resilience.edge.test.ts.
      front1.handler = (_req, res) => {
        res.socket?.destroy();
      };
      const gets = await Promise.all(Array.from({ length: 6 }, () => get('/ping')));
      assert.deepEqual(
        gets.map((r) => r.status),
        [200, 200, 200, 200, 200, 200],
        'every GET answered by the healthy instance',
      );
      const before1 = front1.seen.length;
      assert.ok(before1 >= 1, 'round robin did send some GETs to the failing instance first');
      clear();
      front1.handler = (_req, res) => {
        res.socket?.destroy();
      };
      const posts: RawResponse[] = [];
      for (let i = 0; i < 6; i++)
        posts.push(
          await get('/csp-report', {
            method: 'POST',
            body: '{}',
            headers: { 'content-type': 'application/csp-report' },
          }),
        );
      const failed = posts.filter((r) => r.status === 502).length;
      assert.ok(failed >= 1, "a POST that reached the failing instance gets nginx's 502, not a second delivery");
      assert.equal(front1.seen.length + front2.seen.length, 6, 'each POST was delivered exactly once');
      assert.equal(failed, front1.seen.length);
    },
  );
});

describe('trace context sent upstream', () => {
  const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

  /** The trace headers the single upstream that answered received. */
  async function traced(
    p: string,
    headers: Record<string, string> = {},
    port = httpsPort,
  ): Promise<{ traceparent: string; xray: string; other: Record<string, unknown> }> {
    clear();
    assert.equal((await get(p, { headers, port })).status, 200);
    const seen = [...front1.seen, ...front2.seen, ...legacy.seen];
    assert.equal(seen.length, 1);
    const h = seen[0]?.headers ?? {};
    const traceparent = String(h.traceparent);
    assert.match(traceparent, TRACEPARENT, 'a valid traceparent, whatever came in');
    const [, trace = '', parent = '', flags = ''] = TRACEPARENT.exec(traceparent) ?? [];
    // X-Amzn-Trace-Id says the same thing, in X-Ray's spelling (Root=1-<8 hex>-<24 hex>).
    assert.equal(
      h['x-amzn-trace-id'],
      `Root=1-${trace.slice(0, 8)}-${trace.slice(8)};Parent=${parent};Sampled=${flags === '01' ? '1' : '0'}`,
    );
    return { traceparent, xray: h['x-amzn-trace-id'] ?? '', other: { tracestate: h.tracestate, baggage: h.baggage } };
  }

  test('none incoming: the edge starts a trace from its request id, and logs the trace id', async () => {
    const { traceparent } = await traced('/accessibility');
    const trace = traceparent.slice(3, 35);
    const log = (await readFile(path.join(nginx.prefix, 'logs/access.log'), 'utf8')).trim().split('\n');
    const last = JSON.parse(log.at(-1) ?? '{}') as { request_id?: string; trace_id?: string; path?: string };
    assert.equal(last.path, '/accessibility');
    assert.equal(last.request_id, trace, "the trace id is nginx's $request_id");
    assert.equal(last.trace_id, trace);
    assert.notEqual((await traced('/accessibility')).traceparent.slice(3, 35), trace, 'a new trace per request');
  });

  test(
    'a valid incoming traceparent or X-Amzn-Trace-Id keeps its trace id; the sampled flag is ' + "always the edge's",
    async () => {
      const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const kept = await traced('/accessibility', {
        traceparent: incoming,
        tracestate: 'evil=1',
        baggage: 'user=admin',
      });
      assert.equal(
        kept.traceparent,
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
        'the client asked for sampling; this edge samples 0 %',
      );
      assert.deepEqual(
        kept.other,
        { tracestate: undefined, baggage: undefined },
        "a client's tracestate and baggage are not passed on",
      );
      // The load balancer's header (with the Self= an ALB adds), when no traceparent came: the same trace, a new
      // parent.
      const fromAlb = await traced('/accessibility', {
        'x-amzn-trace-id': 'Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
      });
      assert.match(fromAlb.traceparent, /^00-5759e988bd862e3fe1be46a994272793-[0-9a-f]{16}-00$/);
      const both = await traced('/accessibility', {
        traceparent: incoming,
        'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793',
      });
      assert.equal(both.traceparent.slice(3, 35), '4bf92f3577b34da6a3ce929d0e0e4736', 'traceparent wins');
      // The legacy front gets the same.
      assert.equal((await traced('/some/legacy/page', { traceparent: incoming })).traceparent, kept.traceparent);
      // An edge that samples 100 % marks every trace sampled, a client's "00" included.
      assert.match(
        (await traced('/accessibility', { traceparent: incoming.replace(/01$/, '00') }, barePort)).traceparent,
        /^00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01$/,
      );
    },
  );

  test('an invalid incoming trace header is replaced by a new trace, never passed on', async () => {
    for (const bad of [
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', // upper case
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // all-zero parent id
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, ' +
        '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      '<script>',
    ]) {
      const { traceparent } = await traced('/accessibility', { traceparent: bad });
      assert.doesNotMatch(traceparent, /4bf92f3577b34da6a3ce929d0e0e4736|^00-0{32}|aaaaaaaa/, bad);
    }
    for (const bad of [
      'Root=1-5759E988-BD862E3FE1BE46A994272793',
      'Root=2-5759e988-bd862e3fe1be46a994272793',
      'Root=1-5759e988-bd862e3fe1be46a99427279',
      'XRoot=1-5759e988-bd862e3fe1be46a994272793',
    ]) {
      const { traceparent } = await traced('/accessibility', { 'x-amzn-trace-id': bad });
      assert.doesNotMatch(traceparent, /5759e988/i, bad);
    }
  });
});

describe('access log', () => {
  test('JSON lines, with the path but no query string and no cookie', async () => {
    clear();
    await get('/accessibility?token=QUERYSECRET', { headers: { cookie: 'lpa3=COOKIESECRET' } });
    const log = await readFile(path.join(nginx.prefix, 'logs/access.log'), 'utf8');
    const lines = log.trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(entries.some((e) => e.path === '/accessibility' && e.status === 200 && e.method === 'GET'));
    assert.doesNotMatch(log, /QUERYSECRET|COOKIESECRET/);
  });
});
