import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { readUpload, MultipartError } from './multipart.ts';
import type { MultipartLimits, MultipartProblem } from './multipart.ts';
import { createLocalFileStorage } from '../../backends/local-file-storage.ts';
import type { StoredFile } from '../../backends/file-storage.ts';

const TOKEN = 'the-right-token';
const BOUNDARY = '----lpaBoundary7MA4YWxk';
const LIMITS: MultipartLimits = {
  maxFileBytes: 1024 * 1024,
  maxFiles: 5,
  maxTotalBytes: 6 * 1024 * 1024,
  timeoutMs: 5000,
  minBytesPerSecond: 1000,
  rateWindowMs: 300,
};

type Part = { field: string; value: string } | { file: string; name: string; data: Buffer };

function body(parts: readonly Part[], end = true): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    if ('field' in p) {
      out.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.field}"\r\n\r\n${p.value}\r\n`));
    } else {
      out.push(
        Buffer.from(
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.file}"; ` +
            `filename="${p.name}"\r\nContent-Type: application/pdf\r\n\r\n`,
        ),
        p.data,
        Buffer.from('\r\n'),
      );
    }
  }
  if (end) out.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(out);
}

const headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
const csrf: Part = { field: '_csrf', value: TOKEN };
const file = (name: string, data: Buffer | string): Part => ({ file: 'file', name, data: Buffer.from(data) });

/**
 * Reads `parts` as the app will: each file stored with the real local storage; returns what was stored and what is left
 * on disk.
 */
async function upload(
  t: test.TestContext,
  send: (s: PassThrough) => void | Promise<void>,
  limits = LIMITS,
): Promise<{ result: StoredFile[] | MultipartProblem; onDisk: string[]; handed: number }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-multipart-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const storage = await createLocalFileStorage(dataDir);
  const source = new PassThrough();
  let handed = 0;
  const reading = readUpload<StoredFile>({
    headers,
    body: source,
    limits,
    fileField: 'file',
    checkCsrf: (token) => token === TOKEN,
    onFile: (part) => {
      handed++;
      return storage.put(part.source, { maxBytes: limits.maxFileBytes });
    },
  });
  await send(source);
  let result: StoredFile[] | MultipartProblem;
  try {
    result = await reading;
  } catch (err) {
    assert.ok(err instanceof MultipartError);
    for (const done of err.completed as StoredFile[]) await storage.delete(done.key); // what the route will do
    result = err.problem;
  }
  return { result, onDisk: await readdir(path.join(dataDir, 'uploads')), handed };
}

const whole =
  (b: Buffer) =>
  (s: PassThrough): void => {
    s.end(b);
  };
const inPieces =
  (b: Buffer, size: number) =>
  async (s: PassThrough): Promise<void> => {
    for (let at = 0; at < b.length; at += size) {
      s.write(b.subarray(at, at + size));
      await new Promise((r) => setImmediate(r));
    }
    s.end();
  };

test('_csrf first, then files: each file streamed to storage in order', async (t) => {
  const a = Buffer.alloc(300_000, 0x61);
  const b = Buffer.from('%PDF-1.7\n%%EOF\n');
  for (const send of [
    whole(body([csrf, file('a.pdf', a), file('b.pdf', b)])),
    inPieces(body([csrf, file('a.pdf', a), file('b.pdf', b)]), 777),
  ]) {
    const { result, onDisk } = await upload(t, send);
    assert.ok(Array.isArray(result), JSON.stringify(result));
    assert.deepEqual(
      result.map((r) => r.bytes),
      [a.length, b.length],
    );
    assert.equal(onDisk.length, 2);
  }
});

test('refused uploads leave nothing on disk, and no file is handed on before the token passes', async (t) => {
  const pdf = Buffer.from('%PDF-1.7\n%%EOF\n');
  const cases: [string, Buffer, MultipartProblem, number][] = [
    ['no token at all', body([file('a.pdf', pdf)]), 'csrf-missing', 0],
    ['file before the token', body([file('a.pdf', pdf), csrf]), 'csrf-missing', 0],
    ['wrong token', body([{ field: '_csrf', value: 'forged' }, file('a.pdf', pdf)]), 'csrf-invalid', 0],
    [
      'token over 512 bytes',
      body([{ field: '_csrf', value: TOKEN + 'x'.repeat(600) }, file('a.pdf', pdf)]),
      'csrf-invalid',
      0,
    ],
    ['another field first', body([{ field: 'name', value: 'x' }, csrf, file('a.pdf', pdf)]), 'unexpected-part', 0],
    ['a file under another name', body([csrf, { file: 'other', name: 'a.pdf', data: pdf }]), 'unexpected-part', 0],
    [
      'a sixth file',
      body([csrf, ...Array.from({ length: 6 }, (_, i) => file(`${String(i)}.pdf`, pdf))]),
      'too-many-files',
      5,
    ],
    [
      'a file one byte over the limit',
      body([csrf, file('ok.pdf', pdf), file('big.pdf', Buffer.alloc(LIMITS.maxFileBytes + 1))]),
      'file-too-large',
      2,
    ],
    ['a body that never ends its last part', body([csrf, file('a.pdf', pdf)], false), 'malformed', 1],
  ];
  for (const [what, data, problem, handed] of cases) {
    const r = await upload(t, whole(data));
    assert.equal(r.result, problem, what);
    assert.deepEqual(r.onDisk, [], `${what}: nothing left on disk`);
    assert.equal(r.handed, handed, `${what}: files handed to storage`);
  }
});

test('a file of exactly the limit is accepted', async (t) => {
  const r = await upload(t, whole(body([csrf, file('max.pdf', Buffer.alloc(LIMITS.maxFileBytes))])));
  assert.ok(Array.isArray(r.result), JSON.stringify(r.result));
  assert.equal(r.result[0]?.bytes, LIMITS.maxFileBytes);
});

test('a token and no file: an empty list (the page then asks for a file)', async (t) => {
  const r = await upload(t, whole(body([csrf])));
  assert.deepEqual(r.result, []);
});

test('the whole-body cap ends the request', async (t) => {
  const r = await upload(
    t,
    whole(body([csrf, file('a.pdf', Buffer.alloc(600_000)), file('b.pdf', Buffer.alloc(600_000))])),
    { ...LIMITS, maxTotalBytes: 1_000_000 },
  );
  assert.equal(r.result, 'too-large');
  assert.deepEqual(r.onDisk, []);
});

test('not multipart, or no boundary: refused before reading', async () => {
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']) {
    await assert.rejects(
      readUpload({
        headers: { 'content-type': type },
        body: new PassThrough(),
        limits: LIMITS,
        fileField: 'file',
        checkCsrf: () => true,
        onFile: () => Promise.resolve(0),
      }),
      (e: unknown) => e instanceof MultipartError && (e.problem === 'not-multipart' || e.problem === 'malformed'),
    );
  }
});

test('a slow sender over a real socket is cut off (minimum rate), and a stalled one (total time)', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-multipart-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const storage = await createLocalFileStorage(dataDir);
  const outcomes: string[] = [];
  let limits = LIMITS;
  const server = http.createServer((req, res) => {
    readUpload<StoredFile>({
      headers: req.headers,
      body: req,
      limits,
      fileField: 'file',
      checkCsrf: (tok) => tok === TOKEN,
      onFile: (part) => storage.put(part.source, { maxBytes: limits.maxFileBytes }),
    }).then(
      () => {
        outcomes.push('ok');
        res.end('ok');
      },
      (err: unknown) => {
        outcomes.push(err instanceof MultipartError ? err.problem : 'other');
        res.writeHead(400, { connection: 'close' }).end();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  const payload = body([csrf, file('a.pdf', Buffer.alloc(50_000))]);

  const send = async (bytesPerTick: number, tickMs: number, burst = 0): Promise<string> => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST /user/evidence HTTP/1.1\r\nHost: ` +
        `x\r\nContent-Type: ${headers['content-type']}\r\nContent-Length: ${String(payload.length)}\r\nConnection: ` +
        `close\r\n\r\n`,
    );
    const reply = buffer(socket);
    socket.write(payload.subarray(0, burst));
    for (let at = burst; at < payload.length && !socket.destroyed && !socket.readableEnded; at += bytesPerTick) {
      socket.write(payload.subarray(at, at + bytesPerTick));
      await new Promise((r) => setTimeout(r, tickMs));
      if (outcomes.length > 0) break;
    }
    return (await reply).toString('latin1').split('\r\n')[0] ?? '';
  };

  assert.equal(await send(10, 50), 'HTTP/1.1 400 Bad Request'); // 200 B/s, under 1000 B/s
  assert.deepEqual(outcomes.splice(0), ['too-slow']);
  // 40 kB at once, then 200 B/s: the average since the start stays over 1000 B/s for 40 s; the last window's does not.
  const started = performance.now();
  assert.equal(await send(10, 50, 40_000), 'HTTP/1.1 400 Bad Request');
  assert.deepEqual(outcomes.splice(0), ['too-slow']);
  assert.ok(performance.now() - started < 2000, 'cut off within a few windows of the stall');
  limits = { ...LIMITS, timeoutMs: 400, minBytesPerSecond: 1, rateWindowMs: 10_000 };
  assert.equal(await send(100, 20), 'HTTP/1.1 400 Bad Request'); // fast enough for the rate, not for 400 ms in all
  assert.deepEqual(outcomes.splice(0), ['timeout']);
  limits = LIMITS;
  assert.equal(await send(payload.length, 1), 'HTTP/1.1 200 OK');
  assert.deepEqual(outcomes.splice(0), ['ok']);
  assert.equal((await readdir(path.join(dataDir, 'uploads'))).length, 1, 'only the good upload is kept');
});
