/**
 * Every error a client can cause, from Node's HTTP parser up to Fastify's router and the app's own refusals, is
 * answered with the app's page or a plain body, the security headers and an access log line, and never echoes
 * the request (issue 17.7, issue 18.5). One table, raw bytes over a socket, against the production build.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { parseRaw, sendRaw } from '../helpers/raw.ts';
import { staticSecurityHeaders } from '../../src/platform/security-headers.ts';

const HOST = 'lpa.test.example';
const ENV = {
  NODE_ENV: 'production',
  PUBLIC_ORIGIN: `https://${HOST}`,
  SESSION_SECRET: 'k3Jq9vX2mP7rT4wZ8bN1cF6hL0sD5gY-production-like',
  MAIL_TRANSPORT: 'file',
  LOG_LEVEL: 'info',
};

interface Case {
  readonly name: string;
  readonly bytes: string;
  readonly status: number;
  /** 'page': the app's HTML error page; 'plain': a plain-text status line. */
  readonly body: 'page' | 'plain';
  /** Text from the request that must not come back. */
  readonly echo?: string;
}

const get = (target: string, headers = `Host: ${HOST}\r\n`): string => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;

const CASES: readonly Case[] = [
  // Node's parser (clientError)
  {
    name: 'a control character in the request line',
    bytes: get('/\u0001zz-echo'),
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  {
    name: 'a request line that is not HTTP',
    bytes: 'HELLO zz-echo\r\n\r\n',
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  {
    name: 'a 20 KB header',
    bytes: get('/', `Host: ${HOST}\r\nX-Big: zz-echo${'a'.repeat(20 * 1024)}\r\n`),
    status: 431,
    body: 'plain',
    echo: 'zz-echo',
  },
  {
    name: 'a header name with a space',
    bytes: get('/', `Host: ${HOST}\r\nBad Name: zz-echo\r\n`),
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    bytes:
      `POST /send-feedback HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: ` +
      `chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    body: 'plain',
  },
  {
    name: 'a Content-Length that is not a number',
    bytes: `POST /send-feedback HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: zz-echo\r\n\r\n`,
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  {
    name: 'a bad chunk size',
    bytes:
      `POST /send-feedback HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: ` +
      `application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz-echo\r\n\r\n`,
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  // Node's own answer to an Expect it does not know (417), and HTTP/0.9 and HTTP/2 prior knowledge (parser errors)
  {
    name: 'an Expect other than 100-continue',
    bytes: get('/zz-echo', `Host: ${HOST}\r\nExpect: zz-echo\r\n`),
    status: 417,
    body: 'plain',
    echo: 'zz-echo',
  },
  { name: 'an HTTP/0.9 request', bytes: 'GET /zz-echo\r\n', status: 400, body: 'plain', echo: 'zz-echo' },
  { name: 'HTTP/2 prior knowledge', bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400, body: 'plain' },
  // HTTP/1.1 without Host: Node's requireHostHeader answered this bare (issue 17.7)
  { name: 'HTTP/1.1 without Host', bytes: 'GET /zz-echo HTTP/1.1\r\n\r\n', status: 400, body: 'page', echo: 'zz-echo' },
  {
    name: 'HTTP/1.1 without Host, on a health check',
    bytes: 'GET /ping/elb HTTP/1.1\r\n\r\n',
    status: 400,
    body: 'page',
  },
  // Fastify's router: a URL it cannot decode (FST_ERR_BAD_URL echoed the path as JSON)
  { name: 'an undecodable path', bytes: get('/%ff%fe/zz-echo'), status: 400, body: 'plain', echo: 'zz-echo' },
  {
    name: 'an undecodable asset path',
    bytes: get('/assets/%c0%ae%c0%ae/zz-echo'),
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  { name: 'a lone % in an asset path', bytes: get('/assets/%zz-echo'), status: 400, body: 'plain', echo: 'zz-echo' },
  {
    name: 'an undecodable path, asking for JSON',
    bytes: get('/%ff/zz-echo', `Host: ${HOST}\r\nAccept: application/json\r\n`),
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  // The app: Host check, traversal under /assets/, bodies
  {
    name: 'an asset with a foreign Host ({"statusCode":400} JSON before)',
    bytes: get('/assets/zz-echo.css', 'Host: evil.example\r\n'),
    status: 400,
    body: 'page',
    echo: 'evil.example',
  },
  {
    name: 'a page with a foreign Host',
    bytes: get('/zz-echo', 'Host: evil.example\r\n'),
    status: 400,
    body: 'page',
    echo: 'evil.example',
  },
  {
    name: 'dot segments under /assets/',
    bytes: get('/assets/../../zz-echo/passwd'),
    status: 404,
    body: 'page',
    echo: 'zz-echo',
  },
  {
    name: 'encoded dot segments under /assets/',
    bytes: get('/assets/%2e%2e/%2e%2e/zz-echo'),
    status: 404,
    body: 'page',
    echo: 'zz-echo',
  },
  {
    name: 'encoded slashes under /assets/',
    bytes: get('/assets/..%2f..%2fzz-echo'),
    status: 404,
    body: 'page',
    echo: 'zz-echo',
  },
  {
    name: 'backslashes under /assets/',
    bytes: get('/assets/..%5c..%5czz-echo'),
    status: 404,
    body: 'page',
    echo: 'zz-echo',
  },
  { name: 'a NUL under /assets/', bytes: get('/assets/zz-echo%00.css'), status: 404, body: 'page', echo: 'zz-echo' },
  {
    name: 'a JSON body',
    bytes:
      `POST /send-feedback HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: ` +
      `application/json\r\nContent-Length: 13\r\n\r\n{"zz":"echo"}`,
    status: 415,
    body: 'page',
    echo: 'echo',
  },
  {
    name: 'a body over the limit',
    bytes:
      `POST /send-feedback HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: ` +
      `application/x-www-form-urlencoded\r\nContent-Length: ` +
      `20000\r\n\r\n${'a=zz-echo&'.repeat(2000)}`,
    status: 413,
    body: 'page',
    echo: 'zz-echo',
  },
  {
    name: 'a method HTTP does not know',
    bytes: `FOO /zz-echo HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    status: 400,
    body: 'plain',
    echo: 'zz-echo',
  },
  {
    name: 'a method no route declares',
    bytes: `PURGE /zz-echo HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    status: 404,
    body: 'page',
    echo: 'zz-echo',
  },
  {
    name: 'a method a page does not answer',
    bytes: `DELETE /accessibility HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    status: 405,
    body: 'page',
  },
];

describe('every error a client can cause', () => {
  let built: Built;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    built = await build(
      {
        after: (fn: () => unknown) => {
          cleanups.push(fn);
        },
      },
      { env: ENV, logLevel: 'info' },
    );
  });
  after(async () => {
    for (const fn of cleanups) await fn();
  });

  for (const c of CASES) {
    test(`${c.name}: ${String(c.status)}, ${c.body} body, security headers, access line, no echo`, async () => {
      const logged = built.logs.length;
      const raw = await sendRaw(built.origin, c.bytes);
      const reply = parseRaw(raw);
      assert.equal(reply.status, c.status, raw.slice(0, 300));
      for (const [name, value] of Object.entries(staticSecurityHeaders())) {
        assert.equal(reply.headers.get(name), value, `${name} on ${c.name}`);
      }
      const csp = reply.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|; )default-src 'none'(;|$)/, 'default-src');
      assert.match(csp, /(^|; )object-src 'none'(;|$)/);
      assert.match(csp, /(^|; )frame-ancestors 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(reply.headers.get('cache-control'), 'no-store');
      assert.equal(reply.headers.get('x-powered-by'), undefined);
      if (c.body === 'page') {
        assert.match(reply.headers.get('content-type') ?? '', /^text\/html; charset=utf-8$/);
        assert.match(reply.body, /<h1 class="govuk-heading-l">/);
      } else {
        assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; charset=utf-8$/);
        assert.match(reply.body, /^\d{3} [A-Za-z ]+\n$/);
        assert.ok(reply.body.startsWith(`${String(c.status)} `), reply.body);
      }
      assert.doesNotMatch(raw, /FST_|"statusCode"|not a valid url|application\/json/, 'no framework body');
      if (c.echo !== undefined) assert.ok(!reply.body.includes(c.echo), `the body echoes ${c.echo}`);
      // Log lines are handed over at the end of the turn.
      await new Promise((resolve) => setImmediate(resolve));
      const lines = built.logs.slice(logged).filter((l) => l.msg === 'request');
      assert.ok(
        lines.some((l) => l.status === c.status),
        `no access line with ${String(c.status)}: ${JSON.stringify(lines)}`,
      );
    });
  }
});
