/**
 * Issue 18.7: SIGTERM with keep-alive sockets open. The real server process; 16 keep-alive sockets that have each
 * had one reply; SIGTERM; then a request on every socket, as a load balancer that has not yet seen the signal
 * would send. Every one is answered 200 with Connection: close (before the fix, most were reset), a request in
 * flight at the signal is answered with Connection: close too, and the process exits 0 once the sockets are closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { waitFor } from '../helpers/services.ts';
import { startServerProcess } from '../helpers/server-process.ts';
import { openSocket, parseRaw } from '../helpers/raw.ts';
import type { RawReply } from '../helpers/raw.ts';

const SOCKETS = 16;

/** Reads one response (Content-Length framed) from a socket that may stay open; rejects if the socket fails first. */
function readReply(socket: Socket): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const text = buffer.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const reply = parseRaw(text);
      const length = Number(reply.headers.get('content-length') ?? 0);
      if (buffer.length - (end + 4) < length) return;
      cleanup();
      resolve(reply);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('socket closed before a reply'));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${what}: nothing after ${String(ms)} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1:8005\r\n\r\n';

test(
  'SIGTERM: requests sent on open keep-alive sockets are answered with Connection: close, ' +
    'then the process exits 0',
  { timeout: 60_000 },
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-shutdown-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const { server, origin } = await startServerProcess({ DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '5000' });
    t.after(() => server.stop());

    const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => openSocket(origin)));
    for (const socket of sockets) {
      const first = readReply(socket);
      socket.write(GET);
      const reply = await first;
      assert.equal(reply.status, 200);
      assert.notEqual(reply.headers.get('connection'), 'close', 'kept alive before the signal');
    }
    // A request in flight at the signal: its head is sent, its body comes after SIGTERM. Node's "100 Continue" says
    // the server has read the head (a fixed 100 ms wait did not, on a loaded machine: the signal could then win).
    const inFlight = await openSocket(origin);
    const interim = readReply(inFlight);
    inFlight.write(
      'POST /csp-report HTTP/1.1\r\nHost: 127.0.0.1:8005\r\nContent-Type: ' +
        'application/csp-report\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n',
    );
    assert.equal((await within(interim, 10_000, "the in-flight request's 100 Continue")).status, 100);
    const inFlightReply = readReply(inFlight);

    process.kill(server.pid, 'SIGTERM');
    // Requests that reach the process before it has read the signal are ordinary ones; wait until it has.
    await waitFor(() => server.output().includes('"msg":"draining"'), {
      timeoutMs: 5000,
      what: 'the draining log line',
    });
    // Half of them at once, the rest a little later, as requests already on their way and just after.
    const replies = sockets.map(async (socket, i) => {
      if (i % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 300));
      const reply = readReply(socket);
      socket.write(GET);
      return reply;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    inFlight.end('{}');

    const settled = await Promise.allSettled(replies.map((r) => within(r, 10_000, 'a request after SIGTERM')));
    const failed = settled.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
    assert.deepEqual(failed, [], `${String(failed.length)} of ${String(SOCKETS)} requests after SIGTERM failed`);
    for (const r of settled) {
      if (r.status !== 'fulfilled') continue;
      assert.equal(r.value.status, 200);
      assert.equal(r.value.headers.get('connection'), 'close');
    }
    const late = await within(inFlightReply, 10_000, 'the in-flight request');
    assert.ok(late.status < 500, `in-flight request answered ${String(late.status)}`);
    assert.equal(late.headers.get('connection'), 'close', 'the in-flight reply closes its connection');

    // Each socket is closed by the server after its reply, and the process exits cleanly.
    await within(
      Promise.all(
        sockets.map(async (s) => {
          if (!s.closed) await once(s, 'close');
        }),
      ),
      5000,
      'the sockets closing',
    );
    const exit = await within(server.exited, 10_000, 'the process exiting');
    assert.deepEqual(exit, { code: 0, signal: null }, server.output());
  },
);
