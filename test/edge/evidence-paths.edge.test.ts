/**
 * The evidence pages at the edge, through a real nginx, as they will be the day /user/evidence leaves EDGE_HELD_BACK
 * (here routed with the tests-only `alsoRoute`): the upload location takes a large body, streamed; the download and
 * delete sub-paths reach lpa-front with the server-wide body limit, a download is never spooled to nginx's temp
 * files, and no other spelling matches any of these locations. docs/adr/0052.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateNginxConf } from '../../deploy/nginx/generate.ts';
import { PATHS } from '../../src/paths.ts';
import { freePort, makeCertificates, startNginx } from '../helpers/services.ts';
import type { Certificates, StartedNginx } from '../helpers/services.ts';
import { parseResponse, rawRequest, startRecorder } from './edge-client.ts';
import type { Recorder, RawRequest, RawResponse } from './edge-client.ts';

let certDir: string;
let certs: Certificates;
let front: Recorder;
let legacy: Recorder;
let nginx: StartedNginx;
let port: number;

const ID = '0b6f7c1e-3d2a-4c5b-9e8f-a1b2c3d4e5f6';
const FILE = `${PATHS.evidence}/${ID}`;
const DELETE = `${FILE}/delete`;
const MIB = 1024 * 1024;

before(async () => {
  certDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-edge-certs-'));
  certs = await makeCertificates(certDir);
  [front, legacy] = await Promise.all([startRecorder('front'), startRecorder('legacy')]);
  port = await freePort();
  nginx = await startNginx(
    (prefix) =>
      generateNginxConf({
        publicHost: `127.0.0.1:${String(port)}`,
        httpsPort: port,
        upstreams: [front.address],
        legacy: { kind: 'http', servers: [legacy.address] },
        certFile: certs.certFile,
        keyFile: certs.keyFile,
        prefix,
        alsoRoute: [PATHS.evidence],
      }),
    { port },
  );
});

after(async () => {
  await nginx.stop();
  await Promise.all([front.close(), legacy.close()]);
  await rm(certDir, { recursive: true, force: true });
});

async function send(req: RawRequest): Promise<{ res: RawResponse; fronts: string[]; legacy: string[] }> {
  front.seen.length = 0;
  legacy.seen.length = 0;
  const res = await rawRequest(port, { tls: { ca: certs.ca }, timeoutMs: 20_000, ...req });
  return { res, fronts: front.seen.map((r) => r.url), legacy: legacy.seen.map((r) => r.url) };
}

const big = (bytes: number): Buffer => Buffer.alloc(bytes, 0x61);

test('download and delete reach lpa-front as their normalised paths, without the query string', async () => {
  for (const [sent, expected] of [
    [FILE, FILE],
    [`${FILE}?x=1`, FILE],
    [DELETE, DELETE],
    [`${PATHS.evidence}/x/..//${ID}/./delete`, DELETE],
    [`${PATHS.evidence}/${ID}%2Fdelete`, DELETE], // nginx decodes before matching, as for every location
  ] as const) {
    const { res, fronts, legacy: old } = await send({ path: sent });
    assert.equal(res.status, 200, sent);
    assert.deepEqual([fronts, old], [[expected], []], sent);
  }
  const posted = await send({ method: 'POST', path: DELETE, body: '_csrf=x' });
  assert.deepEqual([posted.res.status, posted.fronts], [200, [DELETE]]);
});

test('no other spelling matches an evidence location: it goes to the legacy front', async () => {
  for (const other of [
    `${PATHS.evidence}/../../x`,
    `${PATHS.evidence}X`,
    `${PATHS.evidence}X/${ID}`,
    `${PATHS.evidence}/`,
    `${PATHS.evidence}/${ID.toUpperCase()}`,
    `${PATHS.evidence}/${ID}x`,
    `${PATHS.evidence}/${ID.slice(1)}`,
    `${FILE}/`,
    `${DELETE}/x`,
    `${DELETE}x`,
    `${FILE}/remove`,
    `/x${FILE}`,
    `${FILE}%0A`,
    `${DELETE}%0A`,
    `${FILE}%0D%0Ax:%20y`,
  ]) {
    const { res, fronts, legacy: old } = await send({ path: other });
    assert.deepEqual([res.status, fronts, old], [200, [], [other]], other);
  }
});

test('the delete and download URLs keep the server-wide body limit (413 from nginx); the upload takes 10 MB', async () => {
  for (const [method, p] of [
    ['POST', DELETE],
    ['GET', FILE],
    ['POST', `${PATHS.evidence}X`],
    ['POST', `${PATHS.evidence}/`],
  ] as const) {
    const { res, fronts, legacy: old } = await send({ method, path: p, body: big(10 * MIB) });
    assert.equal(res.status, 413, `${method} ${p}`);
    assert.deepEqual([fronts, old], [[], []], `${method} ${p}: refused by nginx, not an upstream`);
  }
  front.handler = (req, res) => {
    res.end(`got ${req.headers['content-length'] ?? '?'}`);
  };
  try {
    const { res, fronts } = await send({
      method: 'POST',
      path: PATHS.evidence,
      headers: { 'content-type': 'application/octet-stream' },
      body: big(10 * MIB),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(fronts, [PATHS.evidence]);
    assert.equal(res.body.toString(), `got ${String(10 * MIB)}`);
  } finally {
    front.handler = undefined;
  }
});

test('a large download streams to a slow reader without nginx spooling the file to its temp files', async () => {
  const size = 8 * MIB;
  front.handler = (_req, res) => {
    res.setHeader('content-type', 'application/pdf');
    res.setHeader('content-length', String(size));
    res.end(big(size));
  };
  try {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, ALPNProtocols: ['http/1.1'] });
      const chunks: Buffer[] = [];
      socket.on('error', reject);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => {
        resolve(Buffer.concat(chunks));
      });
      socket.write(`GET ${FILE} HTTP/1.1\r\nhost: 127.0.0.1:${String(port)}\r\nconnection: close\r\n\r\n`);
      // A slow reader: nothing read for a while, so nginx holds what lpa-front has sent.
      socket.pause();
      void sleep(1500).then(() => socket.resume());
    });
    const res = parseResponse(raw);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, size, 'the whole file arrives');
    const log = await readFile(path.join(nginx.prefix, 'logs/error.log'), 'utf8');
    assert.doesNotMatch(log, /buffered to a temporary file/, 'a user file was written to nginx temp files');
  } finally {
    front.handler = undefined;
  }
});
