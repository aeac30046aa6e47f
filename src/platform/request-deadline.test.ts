/**
 * The requests in flight and their own deadlines (docs/adr/0060), over a real HTTP server: an upload route's request
 * is recorded until its UPLOAD_TIMEOUT_MS, any other until REQUEST_TIMEOUT_MS, each only until its response is done
 * or its socket is gone. The shutdown drain's hard exit is built from these.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { InFlight, hasBody, withRequestDeadline } from './request-deadline.ts';

const REQUEST_MS = 1000;
const UPLOAD_MS = 60_000;

test('each request in flight counts until its own deadline, and only until its response is done', async (t) => {
  const inFlight = new InFlight();
  const held = new Map<string, ServerResponse>();
  let arrived: () => void = () => undefined;
  const server = createServer(
    withRequestDeadline(
      (req, res) => {
        held.set(req.url ?? '', res);
        if (held.size === 3) arrived();
      },
      {
        requestTimeoutMs: REQUEST_MS,
        ownLimits: (method, path) => method === 'POST' && path === '/upload',
        ownLimitMs: UPLOAD_MS,
        inFlight,
        onTimeout: (socket) => socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'),
      },
    ),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const open = async (head: string) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(head);
    return socket;
  };

  assert.equal(inFlight.latestDeadline(), -Infinity, 'none in flight');
  const all = new Promise<void>((resolve) => (arrived = resolve));
  const before = performance.now();
  // An upload whose body is still arriving, a page, and a request whose client will go away.
  await open('POST /upload?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
  await open('GET /page HTTP/1.1\r\nHost: a\r\n\r\n');
  const leaving = await open('GET /gone HTTP/1.1\r\nHost: a\r\n\r\n');
  await all;
  const after = performance.now();
  assert.equal(inFlight.size, 3);
  const latest = inFlight.latestDeadline();
  assert.ok(latest >= before + UPLOAD_MS && latest <= after + UPLOAD_MS, 'the upload counts to its own limit');

  held.get('/upload?x=1')?.end('refused');
  await new Promise((r) => setImmediate(r));
  assert.equal(inFlight.size, 2);
  const rest = inFlight.latestDeadline();
  assert.ok(
    rest >= before + REQUEST_MS && rest <= after + REQUEST_MS,
    'any other request counts to REQUEST_TIMEOUT_MS',
  );

  leaving.destroy();
  held.get('/page')?.end('done');
  const gone = held.get('/gone');
  if (gone !== undefined && !gone.destroyed) await once(gone, 'close');
  await new Promise((r) => setImmediate(r));
  assert.equal(inFlight.size, 0);
  assert.equal(inFlight.latestDeadline(), -Infinity);
});

test('a body follows the head only with Content-Length above 0 or Transfer-Encoding (RFC 9112 6.3)', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  assert.equal(hasBody(req({})), false, 'a GET as browsers send it');
  assert.equal(hasBody(req({ 'content-length': '0' })), false);
  assert.equal(hasBody(req({ 'content-length': '12' })), true);
  assert.equal(hasBody(req({ 'transfer-encoding': 'chunked' })), true);
});
