import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { receiveFile, scanStored } from './upload-pipeline.ts';
import type { ReceiveOutcome } from './upload-pipeline.ts';
import { readUpload } from './multipart.ts';
import { createLocalFileStorage } from '../../backends/local-file-storage.ts';
import { createClamd } from '../../backends/clamd.ts';
import { loadConfig } from '../../config/config.ts';
import { startClamd, EICAR, EICAR_SIGNATURE } from '../../../test/helpers/services.ts';
import { makePdf, makePng } from '../../../test/helpers/upload-fixtures.ts';

const BOUNDARY = 'lpaPipelineBoundary';
const TOKEN = 'token-of-this-user';

function multipart(files: readonly [string, Buffer][]): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${TOKEN}\r\n`),
  ];
  for (const [name, data] of files) {
    parts.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; ` +
          `filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      data,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

test('multipart → checks → storage → clamd, with a real clamd and the real local storage', async (t) => {
  const clamdProcess = await startClamd();
  t.after(() => clamdProcess.stop());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-pipeline-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, CLAMD_ADDRESS: clamdProcess.address });
  const storage = await createLocalFileStorage(config.dataDir);
  const clamd = createClamd({ address: config.clamdAddress, timeoutMs: config.clamdTimeoutMs });
  const limits = { maxBytes: config.uploadMaxFileBytes, maxImagePixels: config.uploadMaxImagePixels };
  const onDisk = (): Promise<string[]> => readdir(path.join(dataDir, 'uploads'));

  /** Sends the body in `chunk`-byte pieces, as the network would. */
  const receive = async (files: readonly [string, Buffer][], chunk: number): Promise<ReceiveOutcome[]> => {
    const body = new PassThrough();
    const reading = readUpload({
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
      limits: {
        maxFileBytes: limits.maxBytes,
        maxFiles: 5,
        maxTotalBytes: 6 * limits.maxBytes,
        timeoutMs: 10_000,
        minBytesPerSecond: 1,
        rateWindowMs: 10_000,
      },
      fileField: 'file',
      checkCsrf: (tok) => tok === TOKEN,
      onFile: (part) => receiveFile(part, { storage, limits }),
    });
    const data = multipart(files);
    for (let at = 0; at < data.length; at += chunk) body.write(data.subarray(at, at + chunk));
    body.end();
    return reading;
  };

  const pdfWithEicar = makePdf({ objects: [`<< /Length ${EICAR.length} >>\nstream\n${EICAR}\nendstream`] });

  await t.test(
    'EICAR inside a PDF, split across 13-byte network chunks: passes the type checks, clamd ' + 'finds it',
    async () => {
      const [outcome] = await receive([['benefit-letter.pdf', pdfWithEicar]], 13);
      assert.ok(outcome?.ok, JSON.stringify(outcome));
      assert.deepEqual(await scanStored(outcome.file.key, { storage, clamd }), {
        status: 'infected',
        signature: EICAR_SIGNATURE,
      });
      await storage.delete(outcome.file.key); // what the page does with an infected file
    },
  );

  await t.test('a clean PDF and PNG: stored, then clean', async () => {
    const outcomes = await receive(
      [
        ['letter.pdf', makePdf()],
        ['photo.png', makePng(320, 240)],
      ],
      1000,
    );
    for (const o of outcomes) {
      assert.ok(o.ok, JSON.stringify(o));
      assert.deepEqual(await scanStored(o.file.key, { storage, clamd }), { status: 'clean' });
    }
    assert.deepEqual(
      outcomes.map((o) => o.ok && o.file.mediaType),
      ['application/pdf', 'image/png'],
    );
    for (const o of outcomes) if (o.ok) await storage.delete(o.file.key);
  });

  await t.test('refused files are not kept; the request goes on to the next file', async () => {
    const exe = Buffer.concat([Buffer.from('MZ\x90\x00', 'latin1'), Buffer.alloc(5000)]);
    const outcomes = await receive(
      [
        ['evidence.pdf', exe],
        ['../../x\u202Egnp.pdf', makePng(10, 10)],
        ['letter.pdf', makePdf().subarray(0, 300)],
        ['ok.pdf', makePdf()],
      ],
      512,
    );
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? 'ok' : o.reason)),
      ['unknown-type', 'type-mismatch', 'truncated', 'ok'],
    );
    const second = outcomes[1];
    assert.ok(second !== undefined && !second.ok);
    assert.equal(second.displayName, 'xgnp.pdf', 'path and RTL override gone, UTF-8 read as UTF-8');
    const kept = outcomes.flatMap((o) => (o.ok ? [o.file.key] : []));
    assert.deepEqual(await onDisk(), kept);
    for (const k of kept) await storage.delete(k);
  });

  await t.test('clamd stopped: the stored file is unavailable, never clean', async () => {
    const [outcome] = await receive([['letter.pdf', makePdf()]], 4096);
    assert.ok(outcome?.ok);
    await clamdProcess.stop();
    assert.equal((await scanStored(outcome.file.key, { storage, clamd })).status, 'unavailable');
    assert.deepEqual(await onDisk(), [outcome.file.key], 'kept, still to be checked');
  });
});

test('memory stays flat: 5 uploads of 20 MiB at once are streamed, never held', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-pipeline-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
  const storage = await createLocalFileStorage(config.dataDir);
  const limits = { maxBytes: config.uploadMaxFileBytes, maxImagePixels: config.uploadMaxImagePixels };
  // One 20 MiB PDF (a big uncompressed stream), shared by the five senders: allocated before the baseline.
  const filler = 'q'.repeat(config.uploadMaxFileBytes - 2048);
  const pdf = makePdf({ objects: [`<< /Length ${filler.length} >>\nstream\n${filler}\nendstream`] });
  assert.ok(pdf.length <= config.uploadMaxFileBytes && pdf.length > 20 * 1024 * 1024 - 4096);
  const payload = multipart([['big.pdf', pdf]]);

  global.gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakArray = baseline.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakArray = Math.max(peakArray, m.arrayBuffers);
  }, 5);
  const one = async (): Promise<ReceiveOutcome[]> => {
    const body = new PassThrough();
    const reading = readUpload({
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
      limits: {
        maxFileBytes: limits.maxBytes,
        maxFiles: 5,
        maxTotalBytes: limits.maxBytes + 4096,
        timeoutMs: 60_000,
        minBytesPerSecond: 1,
        rateWindowMs: 60_000,
      },
      fileField: 'file',
      checkCsrf: (tok) => tok === TOKEN,
      onFile: (part) => receiveFile(part, { storage, limits }),
    });
    for (let at = 0; at < payload.length; at += 64 * 1024) {
      if (!body.write(payload.subarray(at, at + 64 * 1024))) await once(body, 'drain');
    }
    body.end();
    return reading;
  };
  const started = Date.now();
  const results = await Promise.all([one(), one(), one(), one(), one()]);
  clearInterval(sampler);
  const ms = Date.now() - started;
  for (const [o] of results) assert.ok(o?.ok, JSON.stringify(o));
  const growth = (peakArray - baseline.arrayBuffers) / 1024 / 1024;
  t.diagnostic(
    `5 x ${String(pdf.length)} bytes in ${String(ms)} ms; peak growth: ` +
      `buffers ${growth.toFixed(1)} MiB, ` +
      `rss ${((peakRss - baseline.rss) / 1024 / 1024).toFixed(1)} MiB`,
  );
  // Holding the files would take 100 MiB of buffers; streaming holds a few 64 KiB chunks and 256 KiB heads each.
  assert.ok(growth < 30, `buffers grew by ${growth.toFixed(1)} MiB`);
  assert.equal((await readdir(path.join(dataDir, 'uploads'))).length, 5);
});
