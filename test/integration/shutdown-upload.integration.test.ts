/**
 * The shutdown drain waits for an upload in flight up to the upload's own deadline (docs/adr/0060). The real server
 * process, a real clamd, raw sockets: a slow but legal upload under way at SIGTERM is finished, scanned and stored,
 * then the process exits 0; an upload that outlasts UPLOAD_TIMEOUT_MS gets that limit's error page, then the process
 * exits. Before the fix the drain's hard exit came SHUTDOWN_DRAIN_MS + REQUEST_TIMEOUT_MS + 5 s after the signal
 * (6.5 s here), cutting both off without an answer.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { openSocket, parseRaw } from '../helpers/raw.ts';
import type { RawReply } from '../helpers/raw.ts';
import { startClamd, waitFor } from '../helpers/services.ts';
import { startServerProcess } from '../helpers/server-process.ts';
import type { StartedClamd, StartedProcess } from '../helpers/services.ts';
import { makePdf, uploadBody } from '../helpers/upload-fixtures.ts';
import { openStore } from '../../src/backends/sqlite-store.ts';
import { LOCAL_ACCOUNTS_MIGRATIONS } from '../../src/backends/local-accounts.ts';
import { createLocalCredentials } from '../../src/backends/local-credentials.ts';
import { PATHS } from '../../src/paths.ts';

const BOUNDARY = '----lpaShutdownUploadBoundary';
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const REQUEST_TIMEOUT_MS = 1000;
const SHUTDOWN_DRAIN_MS = 500;
/** The drain's hard exit before the fix, after SIGTERM. */
const OLD_BOUND_MS = SHUTDOWN_DRAIN_MS + REQUEST_TIMEOUT_MS + 5000;
// A valid PDF of about 14 kB: at 1.2 kB/s it takes about 11 s, well past OLD_BOUND_MS.
const PDF = makePdf({ text: 'Evidence of benefits '.repeat(650) });

const multipart = (token: string, data: Buffer): Buffer => uploadBody(BOUNDARY, token, 'letter.pdf', data);

interface Running {
  readonly server: StartedProcess;
  readonly origin: string;
  readonly dataDir: string;
  readonly ada: Browser;
  readonly token: string;
}

/** The server process with one signed-in user on the evidence page. */
async function start(t: TestContext, clamd: StartedClamd, uploadTimeoutMs: number): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-shutdown-upload-'));
  t.after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });
  // The user is made in the process's own store before it starts, as an operator's seed would be.
  const store = openStore(dataDir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
  try {
    await createLocalCredentials({ db: () => store.db }).addUser({
      email: EMAIL,
      password: PASSWORD,
      name: { first: 'A', last: 'B' },
    });
  } finally {
    store.close();
  }
  const { server, origin } = await startServerProcess({
    DATA_DIR: dataDir,
    CLAMD_ADDRESS: clamd.address,
    UPLOAD_SCAN_INTERVAL_MS: '3600000',
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    SHUTDOWN_DRAIN_MS: String(SHUTDOWN_DRAIN_MS),
    UPLOAD_TIMEOUT_MS: String(uploadTimeoutMs),
    UPLOAD_MIN_BYTES_PER_SECOND: '100',
    UPLOAD_RATE_WINDOW_MS: '2000',
  });
  t.after(() => server.stop());
  const ada = new Browser(origin, origin);
  const form = await ada.get(PATHS.login);
  const signedIn = await ada.post(PATHS.login, { email: EMAIL, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
  assert.equal(signedIn.status, 303, server.output());
  const page = await ada.get(PATHS.evidence);
  assert.equal(page.status, 200);
  return { server, origin, dataDir, ada, token: csrfTokenFrom(page.text) };
}

interface Upload {
  /** The final reply (after any 100 Continue), once the server has closed the socket. */
  readonly reply: Promise<RawReply & { readonly ms: number; readonly sent: number; readonly length: number }>;
  /** Resolves when the server has read the head and handed the request on (its 100 Continue). */
  readonly inFlight: Promise<void>;
}

/** POSTs an upload over a raw socket, `chunk` bytes every `everyMs` until all is sent or the server closes. */
async function upload(run: Running, payload: Buffer, pace: { chunk: number; everyMs: number }): Promise<Upload> {
  const started = performance.now();
  const socket = await openSocket(run.origin);
  let raw = '';
  let continued: () => void = () => undefined;
  const inFlight = new Promise<void>((resolve) => (continued = resolve));
  socket.on('data', (c: Buffer) => {
    raw += c.toString('latin1');
    if (raw.startsWith('HTTP/1.1 100 ')) continued();
  });
  socket.on('error', () => {
    /* writes after the server closed, or a reset when the process exits: the reply (if any) says which */
  });
  socket.write(
    `POST ${PATHS.evidence} HTTP/1.1\r\nHost: ${new URL(run.origin).host}\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${String(payload.length)}\r\n` +
      `Origin: ${run.origin}\r\nSec-Fetch-Site: same-origin\r\nCookie: ${run.ada.cookieHeader()}\r\n` +
      'Expect: 100-continue\r\n\r\n',
  );
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const reply = (async () => {
    await inFlight;
    let sent = 0;
    while (!socket.destroyed && socket.writable && sent < payload.length) {
      socket.write(payload.subarray(sent, sent + pace.chunk));
      sent += pace.chunk;
      await new Promise((r) => setTimeout(r, pace.everyMs));
    }
    await closed;
    const final = raw.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, '');
    return {
      ...parseRaw(final),
      ms: performance.now() - started,
      sent: Math.min(sent, payload.length),
      length: payload.length,
    };
  })();
  return { reply, inFlight };
}

/** SIGTERM once the upload is in flight and a first part of its body is in; resolves with the signal's time. */
async function sigtermDuring(run: Running, up: Upload): Promise<number> {
  await up.inFlight;
  await new Promise((r) => setTimeout(r, 1000));
  process.kill(run.server.pid, 'SIGTERM');
  const at = performance.now();
  await waitFor(() => run.server.output().includes('"msg":"draining"'), { timeoutMs: 5000, what: 'the drain' });
  return at;
}

const onDisk = (run: Running): string[] => readdirSync(join(run.dataDir, 'uploads'));

describe('SIGTERM with an upload in flight', () => {
  let clamd: StartedClamd;
  before(async () => {
    clamd = await startClamd();
  });
  after(() => clamd.stop());

  test(
    'a slow but legal upload is finished, scanned and stored, then the process exits 0',
    { timeout: 90_000 },
    async (t) => {
      const run = await start(t, clamd, 60_000);
      const up = await upload(run, multipart(run.token, PDF), { chunk: 300, everyMs: 250 });
      const signalled = await sigtermDuring(run, up);
      const reply = await up.reply;
      const afterSignal = performance.now() - signalled;
      assert.equal(reply.status, 303, `${reply.body.slice(0, 300)}\n${run.server.output()}`);
      assert.equal(reply.headers.get('connection'), 'close');
      assert.equal(reply.sent, reply.length, 'the client sent it all');
      assert.ok(afterSignal > OLD_BOUND_MS, `answered ${afterSignal.toFixed(0)} ms after the signal: not a drain test`);
      const exit = await run.server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, run.server.output());
      assert.equal(onDisk(run).length, 1, 'the file is stored');
      assert.match(run.server.output(), /"event":"evidence\.upload\.accepted"/);
      assert.match(run.server.output(), /"event":"evidence\.scan\.clean"/);
    },
  );

  test(
    'an upload outlasting UPLOAD_TIMEOUT_MS gets its error page, then the process exits',
    { timeout: 90_000 },
    async (t) => {
      const uploadTimeoutMs = 12_000;
      const run = await start(t, clamd, uploadTimeoutMs);
      // 400 B/s: legal by rate, but the 14 kB would take 35 s.
      const up = await upload(run, multipart(run.token, PDF), { chunk: 100, everyMs: 250 });
      const signalled = await sigtermDuring(run, up);
      const reply = await up.reply;
      const afterSignal = performance.now() - signalled;
      assert.equal(reply.status, 400, `${reply.body.slice(0, 300)}\n${run.server.output()}`);
      const errors = html(reply.body)
        .querySelectorAll('[data-qa="error-summary"] li')
        .map((li) => li.text.trim());
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? '', /^The upload took too long/);
      assert.ok(
        reply.ms > uploadTimeoutMs && reply.ms < uploadTimeoutMs + 3000,
        `answered after ${reply.ms.toFixed(0)} ms`,
      );
      assert.ok(afterSignal > OLD_BOUND_MS, `answered ${afterSignal.toFixed(0)} ms after the signal: not a drain test`);
      const exit = await run.server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, run.server.output());
      assert.deepEqual(onDisk(run), [], 'nothing kept');
    },
  );
});
