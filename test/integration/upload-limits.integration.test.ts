/**
 * Upload routes have their own time and minimum-rate limits (issue 23 clarifications, docs/adr/0052): the
 * server-wide REQUEST_TIMEOUT_MS does not cut a steady upload short, while a slow or stalled sender is cut off by the
 * rate over a sliding window, answered with the GOV.UK error page and its connection closed, with nothing left on
 * disk and its per-user slot released. Raw sockets against the real app, a real clamd and the local storage.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { openSocket, parseRaw } from '../helpers/raw.ts';
import type { RawReply } from '../helpers/raw.ts';
import { startClamd } from '../helpers/services.ts';
import type { StartedClamd } from '../helpers/services.ts';
import { makePdf, uploadBody } from '../helpers/upload-fixtures.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { PATHS } from '../../src/paths.ts';

const BOUNDARY = '----lpaUploadLimitsBoundary';
const REQUEST_TIMEOUT_MS = 1000;
const WINDOW_MS = 1000;
const MIN_RATE = 2000; // bytes per second
// A valid PDF of about 14 kB: sent at 5 kB/s it takes almost three times REQUEST_TIMEOUT_MS.
const PDF = makePdf({ text: 'Evidence of benefits '.repeat(650) });

const body = (token: string, name: string, data: Buffer): Buffer => uploadBody(BOUNDARY, token, name, data);

interface Sent {
  readonly reply: RawReply;
  /** From the first byte sent until the server closed the socket. */
  readonly ms: number;
  /** Body bytes written before the server closed. */
  readonly sent: number;
}

/**
 * POSTs `payload` over a raw socket: `burst` bytes at once, then `chunk` bytes every `everyMs`, until it is all sent
 * or the server closes the socket (the client never stops on its own: a slow-loris keeps going).
 */
async function upload(
  built: Built,
  browser: Browser | undefined,
  payload: Buffer,
  pace: { burst?: number; chunk: number; everyMs: number; close?: boolean },
): Promise<Sent> {
  const started = performance.now();
  const socket = await openSocket(built.origin);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {
    /* writes after the server closed */
  });
  socket.write(
    `POST ${PATHS.evidence} HTTP/1.1\r\nHost: 127.0.0.1:8005\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${String(payload.length)}\r\n` +
      `Origin: http://127.0.0.1:8005\r\nSec-Fetch-Site: same-origin\r\n` +
      (browser === undefined ? '' : `Cookie: ${browser.cookieHeader()}\r\n`) +
      (pace.close === true ? 'Connection: close\r\n' : '') +
      '\r\n',
  );
  let sent = Math.min(pace.burst ?? 0, payload.length);
  socket.write(payload.subarray(0, sent));
  const closed = once(socket, 'close');
  while (!socket.destroyed && sent < payload.length) {
    await new Promise((r) => setTimeout(r, pace.everyMs));
    if (!socket.writable) break;
    socket.write(payload.subarray(sent, sent + pace.chunk));
    sent += pace.chunk;
  }
  const giveUp = setTimeout(() => socket.destroy(), 15_000);
  await closed;
  clearTimeout(giveUp);
  return { reply: parseRaw(Buffer.concat(chunks).toString('latin1')), ms: performance.now() - started, sent };
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('upload time and minimum-rate limits, per route', () => {
  let clamd: StartedClamd;
  before(async () => {
    clamd = await startClamd();
  });
  after(() => clamd.stop());

  async function start(t: Parameters<typeof build>[0]): Promise<{ built: Built; ada: Browser; token: string }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-upload-limits-'));
    dirs.push(dataDir);
    const built = await build(t, {
      env: {
        DATA_DIR: dataDir,
        CLAMD_ADDRESS: clamd.address,
        UPLOAD_SCAN_INTERVAL_MS: '3600000',
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        UPLOAD_TIMEOUT_MS: '20000',
        UPLOAD_MIN_BYTES_PER_SECOND: String(MIN_RATE),
        UPLOAD_RATE_WINDOW_MS: String(WINDOW_MS),
      },
    });
    const users = built.services.credentials as LocalCredentials;
    await users.addUser({
      email: 'ada@example.com',
      password: 'correct horse battery staple',
      name: { first: 'A', last: 'B' },
    });
    const ada = new Browser(built.origin);
    const form = await ada.get(PATHS.login);
    const signedIn = await ada.post(PATHS.login, {
      email: 'ada@example.com',
      password: 'correct horse battery staple',
      _csrf: csrfTokenFrom(form.text),
    });
    assert.equal(signedIn.status, 303);
    const page = await ada.get(PATHS.evidence);
    return { built, ada, token: csrfTokenFrom(page.text) };
  }

  const onDisk = (built: Built): string[] => readdirSync(join(built.config.dataDir, 'uploads'));
  /** Rows still `receiving` (per-user slots held), for any user. */
  const held = async (built: Built): Promise<number> =>
    (await built.services.evidence.files.staleReservations(Date.now() + 1, 100)).length;
  const errors = (text: string): string =>
    html(text)
      .querySelectorAll('[data-qa="error-summary"] li')
      .map((li) => li.text.trim())
      .join('\n');

  test('a steady upload outlasting REQUEST_TIMEOUT_MS is accepted: the server-wide limit does not cover it', async (t) => {
    const { built, ada, token } = await start(t);
    const sent = await upload(built, ada, body(token, 'letter.pdf', PDF), {
      burst: 400,
      chunk: 500,
      everyMs: 100,
      close: true, // the client asks, so the socket's close marks the end of the answer
    });
    assert.ok(sent.ms > 2 * REQUEST_TIMEOUT_MS && sent.ms < 10_000, `took ${sent.ms.toFixed(0)} ms`);
    assert.equal(sent.reply.status, 303, sent.reply.body.slice(0, 300));
    const list = await ada.get(PATHS.evidence);
    assert.equal(html(list.text).querySelectorAll('[data-qa="evidence-file"]').length, 1);
    assert.equal(onDisk(built).length, 1);
  });

  test('a slow-loris upload is cut off within its rate window: GOV.UK error, connection closed, nothing kept', async (t) => {
    const { built, ada, token } = await start(t);
    // 100 B/s, a twentieth of the minimum, from the first byte of the file.
    const slow = await upload(built, ada, body(token, 'letter.pdf', PDF), { burst: 300, chunk: 10, everyMs: 100 });
    assert.equal(slow.reply.status, 400, slow.reply.body.slice(0, 300));
    assert.match(errors(slow.reply.body), /The upload took too long/);
    assert.equal(slow.reply.headers.get('connection'), 'close');
    assert.ok(slow.ms < WINDOW_MS + 2000, `held for ${slow.ms.toFixed(0)} ms`);
    assert.ok(slow.sent < PDF.length / 2, 'the server closed the connection; the client did not finish');
    assert.deepEqual(onDisk(built), [], 'nothing on disk');
    assert.equal(await held(built), 0, 'the per-user slot is released');
    assert.ok(built.logs.some((l) => l.event === 'evidence.upload.refused' && l.reason === 'too-slow'));
  });

  test('a fast start then a stall is cut off by the last window, not averaged away', async (t) => {
    const { built, ada, token } = await start(t);
    // 10 kB at once, then 100 B/s: the average since the start stays over 2 kB/s for 5 s; the last second's does not.
    const stalled = await upload(built, ada, body(token, 'letter.pdf', PDF), {
      burst: 10_000,
      chunk: 10,
      everyMs: 100,
    });
    assert.equal(stalled.reply.status, 400);
    assert.match(errors(stalled.reply.body), /The upload took too long/);
    assert.ok(stalled.ms < 2 * WINDOW_MS + 1500, `held for ${stalled.ms.toFixed(0)} ms`);
    assert.deepEqual(onDisk(built), []);
    assert.equal(await held(built), 0);
  });

  test('an upload refused before its body is read (not signed in) closes the connection at once', async (t) => {
    const { built } = await start(t);
    const anonymous = await upload(built, undefined, body('0'.repeat(32), 'letter.pdf', PDF), {
      burst: 300,
      chunk: 10,
      everyMs: 100,
    });
    assert.equal(anonymous.reply.status, 302);
    assert.ok(anonymous.ms < 1500, `held for ${anonymous.ms.toFixed(0)} ms`);
  });

  test('every other route keeps REQUEST_TIMEOUT_MS: a slow body elsewhere gets 408 within a second of it', async (t) => {
    const { built } = await start(t);
    const started = performance.now();
    const socket = await openSocket(built.origin);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.write(
      `POST ${PATHS.feedback} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        'Content-Length: 1024\r\n\r\n',
    );
    const drip = setInterval(() => {
      if (socket.writable) socket.write('a');
    }, 100);
    await once(socket, 'close');
    clearInterval(drip);
    const ms = performance.now() - started;
    assert.equal(parseRaw(Buffer.concat(chunks).toString('latin1')).status, 408);
    assert.ok(ms < REQUEST_TIMEOUT_MS + 1000, `held for ${ms.toFixed(0)} ms`);
  });
});
