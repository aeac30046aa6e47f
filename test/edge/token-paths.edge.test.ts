/**
 * Token pages at the edge (issue 22), through a real nginx: an activation link reaches lpa-front as the normalised
 * path only when its token is made of TOKEN_SEGMENT characters (anything else goes to the legacy front), and the
 * access log never holds a token: lpa-front's token paths and the legacy front's are logged with `[redacted]`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateNginxConf } from '../../deploy/nginx/generate.ts';
import { TOKEN_PATHS } from '../../src/paths.ts';
import { freePort, makeCertificates, startNginx } from '../helpers/services.ts';
import type { Certificates, StartedNginx } from '../helpers/services.ts';
import { rawRequest, startRecorder } from './edge-client.ts';
import type { Recorder } from './edge-client.ts';

let certDir: string;
let certs: Certificates;
let front: Recorder;
let legacy: Recorder;
let nginx: StartedNginx;
let port: number;

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
      }),
    { port },
  );
});

after(async () => {
  await nginx.stop();
  await Promise.all([front.close(), legacy.close()]);
  await rm(certDir, { recursive: true, force: true });
});

async function route(p: string): Promise<{ fronts: string[]; legacy: string[] }> {
  front.seen.length = 0;
  legacy.seen.length = 0;
  await rawRequest(port, { tls: { ca: certs.ca }, path: p });
  return { fronts: front.seen.map((r) => r.url), legacy: legacy.seen.map((r) => r.url) };
}

const TOKEN = 'AbC123_-xyz987654321QRSTuvw';

test(
  'an activation link reaches lpa-front as its normalised path; other spellings go to the ' + 'legacy front',
  async () => {
    const link = `${TOKEN_PATHS.signupConfirm}${TOKEN}`;
    assert.deepEqual(await route(link), { fronts: [link], legacy: [] });
    assert.deepEqual(await route(`${link}?utm=x`), { fronts: [link], legacy: [] }, 'without the query string');
    for (const other of [
      `${TOKEN_PATHS.signupConfirm}short`,
      `${link}/x`,
      `${link}.php`,
      `${TOKEN_PATHS.signupConfirm}${TOKEN}%3B`,
      TOKEN_PATHS.signupConfirm,
    ]) {
      const r = await route(other);
      assert.deepEqual(r.fronts, [], other);
    }
  },
);

test('the access log writes every token path with [redacted]', async () => {
  const paths = [
    `${TOKEN_PATHS.signupConfirm}${TOKEN}`,
    `/forgot-password/reset/${TOKEN}?x=1`,
    `/user/change-email-address/verify/${TOKEN}`,
  ];
  for (const p of paths) await route(p);
  const log = nginx.prefix === '' ? '' : await readFile(path.join(nginx.prefix, 'logs/access.log'), 'utf8');
  assert.ok(!log.includes(TOKEN), 'no token in the access log');
  const logged = log
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { path: string }).path);
  for (const prefix of [TOKEN_PATHS.signupConfirm, '/forgot-password/reset/', '/user/change-email-address/verify/']) {
    assert.ok(logged.includes(`${prefix}[redacted]`), prefix);
  }
});
