/**
 * Issue 18.4: a slow client is cut off within a second of REQUEST_TIMEOUT_MS, not at Node's 30 s check interval.
 * Raw sockets against the real app with a 1 s timeout: slowloris (a header line every 200 ms, never finishing the
 * head) and slow bodies (a byte every 200 ms of a declared 1 KB), 10 of each at once. Each must be answered 408
 * with the security headers and closed before 2 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { build } from '../helpers/app.ts';
import { openSocket, parseRaw } from '../helpers/raw.ts';

const TIMEOUT_MS = 1000;
const SLACK_MS = 1000;

/** Trickles `head` then `drip` every 200 ms until the server closes; resolves with what it wrote and when. */
async function trickle(origin: string, head: string, drip: string): Promise<{ ms: number; raw: string }> {
  const started = performance.now();
  const socket: Socket = await openSocket(origin);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {
    /* writes after the server closed */
  });
  socket.write(head);
  const timer = setInterval(() => {
    if (socket.writable) socket.write(drip);
  }, 200);
  const giveUp = setTimeout(() => {
    socket.destroy();
  }, 8000);
  await once(socket, 'close');
  clearInterval(timer);
  clearTimeout(giveUp);
  return { ms: performance.now() - started, raw: Buffer.concat(chunks).toString('latin1') };
}

test('slowloris and slow-body sockets are cut off within a second of REQUEST_TIMEOUT_MS', async (t) => {
  const built = await build(t, { env: { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } });
  const slowloris = Array.from({ length: 10 }, (_, i) =>
    trickle(built.origin, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n`, `X-${String(i)}: a\r\n`),
  );
  const slowBody = Array.from({ length: 10 }, () =>
    trickle(
      built.origin,
      'POST /send-feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ' +
        'application/x-www-form-urlencoded\r\nContent-Length: 1024\r\n\r\n',
      'a',
    ),
  );
  const results = await Promise.all([...slowloris, ...slowBody]);
  for (const [i, { ms, raw }] of results.entries()) {
    const kind = i < 10 ? 'slowloris' : 'slow body';
    assert.ok(ms < TIMEOUT_MS + SLACK_MS, `${kind} socket held for ${ms.toFixed(0)} ms`);
    const reply = parseRaw(raw);
    assert.equal(reply.status, 408, `${kind}: ${raw.slice(0, 100)}`);
    assert.ok(
      reply.headers.has('content-security-policy') && reply.headers.get('x-frame-options') === 'SAMEORIGIN',
      kind,
    );
  }
  // The server still answers.
  assert.equal((await fetch(`${built.origin}/`)).status, 200);
});
