/**
 * Keeps the fast path honest (issue 6, docs/adr/0006): pages rendered once per process (reply.staticView)
 * are byte-identical to a normal render of the same template with the same nonce, every response has its
 * own nonce, and the gzip splice decompresses to exactly the identity body with the same headers.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Built } from '../helpers/app.ts';
import { build } from '../helpers/app.ts';
import { CONTENT_PAGES } from '../../src/features/content/content-routes.ts';
import { renderSpliced } from '../../src/platform/spliced-page.ts';
import { prepareGzipSplice, spliceGzip } from '../../src/platform/compression.ts';

interface Raw {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A visitor who answered the cookie banner (ADR 0037): the page without the banner and its form token. */
const CHOSEN = 'cookie_policy={"essential":true,"usage":false}; seen_cookie_message=true';

/**
 * One GET with exactly the headers given (fetch would add and decode Accept-Encoding by itself), as a visitor who
 * chose.
 */
function rawGet(origin: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${origin}${path}`, { headers: { cookie: CHOSEN, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function nonceOf(res: Raw): string {
  const csp = res.headers['content-security-policy'];
  const m = typeof csp === 'string' ? /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp) : null;
  assert.ok(m?.[1] !== undefined, 'the CSP carries a nonce');
  return m[1];
}

/** Every nonce="..." attribute in the page. */
function pageNonces(html: string): string[] {
  return [...html.matchAll(/\bnonce="([^"]*)"/g)].map((m) => m[1] ?? '');
}

/** The headers that must be the same whatever the encoding (all but length, encoding, date and the nonce). */
function comparableHeaders(res: Raw): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (['content-length', 'content-encoding', 'date', 'connection', 'keep-alive'].includes(k)) continue;
    out[k] =
      k === 'content-security-policy' && typeof v === 'string'
        ? v.replace(/'nonce-[^']*'/, "'nonce-X'")
        : // a new form cookie each time
          k === 'set-cookie' && Array.isArray(v)
          ? v.map((c) => c.replace(/=[0-9a-f]{32};/, '=X;'))
          : v;
  }
  return out;
}

describe('fast path: pre-rendered pages', () => {
  let built: Built;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    built = await build({
      after: (fn: () => unknown) => {
        cleanups.push(fn);
      },
    });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('each pre-rendered page is byte-identical to a normal render with the same nonce', async () => {
    for (const page of CONTENT_PAGES) {
      const res = await rawGet(built.origin, page.path);
      assert.equal(res.status, 200, page.path);
      const nonce = nonceOf(res);
      const normal = built.app.views.render(page.template, {
        cspNonce: nonce,
        csrfToken: () => /name="_csrf" value="([0-9a-f]+)"/.exec(res.body.toString('utf8'))?.[1] ?? '', // the cookies page's form
        currentPath: page.path,
        signedIn: false,
      });
      assert.ok(res.body.length > 1000, `${page.path} is a whole page`);
      assert.equal(res.body.toString('utf8'), normal, `${page.path} differs from a normal render`);
      // The first visit's variant (ADR 0037): the cookie banner, with its form's token spliced in too.
      const first = await rawGet(built.origin, page.path, { cookie: '' });
      const firstBody = first.body.toString('utf8');
      const token = /name="_csrf" value="([0-9a-f]+)"/.exec(firstBody)?.[1] ?? '';
      const asked = built.app.views.render(page.template, {
        cspNonce: nonceOf(first),
        csrfToken: () => token,
        currentPath: page.path,
        signedIn: false,
        consent: {
          banner: page.path === '/cookies' ? 'none' : 'ask',
          analytics: null,
          usage: 'no',
          saved: false,
          returnTo: page.path === '/cookies' ? '/' : page.path,
        },
      });
      assert.equal(firstBody, asked, `${page.path}: the banner variant differs from a normal render`);
      assert.ok(pageNonces(normal).length >= 1, `${page.path} carries its nonce in the page`);
    }
  });

  test('the nonce differs on every response, and the page carries the same nonce as its CSP', async () => {
    const seen = new Set<string>();
    let first: string | undefined;
    for (let i = 0; i < 25; i++) {
      const res = await rawGet(built.origin, '/', i % 2 === 0 ? {} : { 'accept-encoding': 'gzip' });
      const nonce = nonceOf(res);
      assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/, '128 random bits, base64');
      assert.ok(!seen.has(nonce), `nonce ${nonce} was used twice`);
      seen.add(nonce);
      const html = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body).toString('utf8');
      const inPage = pageNonces(html);
      assert.ok(inPage.length >= 1);
      for (const n of inPage) assert.equal(n, nonce);
      // Apart from the nonce, every response is the same page.
      const neutral = html.split(nonce).join('NONCE');
      first ??= neutral;
      assert.equal(neutral, first);
    }
  });

  test(
    'under concurrent load on kept-alive connections, each response carries only its own ' + 'nonce and token',
    async () => {
      // Bodies are reused once written (src/platform/body-pool.ts): no response may ever show another's values.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      try {
        for (const path of ['/', '/send-feedback']) {
          const get = (): Promise<Raw> =>
            new Promise((resolve, reject) => {
              http
                .get(`${built.origin}${path}`, { agent }, (res) => {
                  const chunks: Buffer[] = [];
                  res.on('data', (c: Buffer) => chunks.push(c));
                  res.on('end', () => {
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
                  });
                  res.on('error', reject);
                })
                .on('error', reject);
            });
          const responses = await Promise.all(Array.from({ length: 150 }, get));
          const nonces = new Set<string>();
          const tokens = new Set<string>();
          let neutral: string | undefined;
          for (const res of responses) {
            assert.equal(res.status, 200, path);
            const nonce = nonceOf(res);
            const html = res.body.toString('utf8');
            for (const n of pageNonces(html))
              assert.equal(n, nonce, `${path}: a page carries another response's nonce`);
            nonces.add(nonce);
            const found = /name="_csrf" value="([0-9a-f]+)"/.exec(html)?.[1] ?? '';
            if (found !== '') tokens.add(found);
            const page = html
              .split(nonce)
              .join('NONCE')
              .split(found === '' ? 'NONE' : found)
              .join('TOKEN');
            neutral ??= page;
            assert.equal(page, neutral, `${path}: apart from its nonce and token, every response is the same page`);
          }
          assert.equal(nonces.size, responses.length, `${path}: every nonce is new`);
          if (path === '/send-feedback')
            assert.equal(tokens.size, responses.length, 'every new session has its own token in its page');
        }
      } finally {
        agent.destroy();
      }
    },
  );

  test('gzip: decompresses to exactly the identity body for that nonce, with the same headers', async () => {
    for (const page of CONTENT_PAGES) {
      for (const acceptEncoding of ['gzip', 'br, gzip', 'gzip, deflate, br, zstd', '*']) {
        const gz = await rawGet(built.origin, page.path, { 'accept-encoding': acceptEncoding });
        assert.equal(gz.headers['content-encoding'], 'gzip', `${page.path} with ${acceptEncoding}`);
        assert.match(String(gz.headers.vary), /accept-encoding/i);
        assert.equal(Number(gz.headers['content-length']), gz.body.length);
        const plain = await rawGet(built.origin, page.path);
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.match(String(plain.headers.vary), /accept-encoding/i);
        const nonce = nonceOf(gz);
        const body = gunzipSync(gz.body).toString('utf8');
        const token = /name="_csrf" value="([0-9a-f]+)"/.exec(body)?.[1] ?? ''; // the cookies page's form (ADR 0037)
        const expected = built.app.views.render(page.template, {
          cspNonce: nonce,
          csrfToken: () => token,
          currentPath: page.path,
          signedIn: false,
        });
        assert.equal(body, expected);
        assert.ok(
          gz.body.length < plain.body.length / 2,
          `${page.path}: ${String(gz.body.length)} gzip bytes vs ${String(plain.body.length)}`,
        );
        assert.deepEqual(comparableHeaders(gz), comparableHeaders(plain));
      }
    }
  });

  test('gzip is not sent when refused or not offered', async () => {
    for (const acceptEncoding of ['br', 'gzip;q=0', 'identity', 'gzip;q=0, br', '*;q=0']) {
      const res = await rawGet(built.origin, '/', { 'accept-encoding': acceptEncoding });
      assert.equal(res.headers['content-encoding'], undefined, acceptEncoding);
      assert.match(res.body.toString('utf8'), /^<!DOCTYPE html>/);
    }
  });

  test(
    'a form page pre-rendered with nonce and CSRF token slots equals a normal render, ' + 'identity and gzip',
    async () => {
      // The feedback form's route declares `render: 'prerendered'` (the one seam, src/platform/views.ts); the kit gives
      // its blank page one context object per language, so this is the page every visitor gets.
      const blank = await rawGet(built.origin, '/send-feedback');
      const token = /name="_csrf" value="([0-9a-f]+)"/.exec(blank.body.toString('utf8'))?.[1] ?? '';
      assert.notEqual(token, '');
      const template = 'feedback/feedback.njk';
      const served = blank.body.toString('utf8').split(nonceOf(blank)).join('NONCE').split(token).join('TOKEN');
      const made = renderSpliced(built.app.views, template, () => ({}));
      assert.ok(made !== null, 'the page takes nonce and token spliced in');
      const { parts, slots } = made;
      assert.ok(slots.includes('nonce') && slots.includes('csrf'), `slots: ${JSON.stringify(slots)}`);
      const splice = prepareGzipSplice(parts);
      for (let i = 0; i < 5; i++) {
        const nonce = Buffer.from(String(Math.random())).toString('base64');
        const token = Buffer.from(String(Math.random())).toString('hex');
        const values = slots.map((s) => (s === 'nonce' ? nonce : token));
        const joined = parts.map((p, j) => (j === 0 ? '' : (values[j - 1] ?? '')) + p.toString('utf8')).join('');
        const normal = built.app.views.render(template, { cspNonce: nonce, csrfToken: () => token, signedIn: false });
        assert.equal(joined, normal);
        assert.equal(gunzipSync(spliceGzip(splice, values)).toString('utf8'), normal);
      }
      // Served from the pre-rendered copy: gzip spliced per response, the same page as identity but for nonce and
      // token.
      const gz = await rawGet(built.origin, '/send-feedback', { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      const gzHtml = gunzipSync(gz.body).toString('utf8');
      const gzToken = /name="_csrf" value="([0-9a-f]+)"/.exec(gzHtml)?.[1] ?? '';
      assert.equal(gzHtml.split(nonceOf(gz)).join('NONCE').split(gzToken).join('TOKEN'), served);
      // A form that carries where the person came from is rendered per request (not gzip-spliced).
      const from = await rawGet(built.origin, '/send-feedback', {
        'accept-encoding': 'gzip',
        referer: 'http://127.0.0.1:8005/cookies',
      });
      assert.equal(from.headers['content-encoding'], undefined);
      assert.match(from.body.toString('utf8'), /name="fromPage" value="\/cookies"/);
    },
  );
});
