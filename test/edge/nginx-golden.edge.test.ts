/**
 * The nginx generator's output, byte for byte, for a table of option sets that covers every branch it has.
 * The golden files were written by the generator as it stood before it rendered a template, so a change to
 * the template or the code that feeds it shows here as a diff. Regenerate on purpose only:
 * `UPDATE_GOLDEN=1 node --test test/edge/nginx-golden.edge.test.ts`, then review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EDGE_HELD_BACK, PATHS } from '../../src/paths.ts';
import { generateNginxConf, renderHttpBlock, renderStreamBlock } from '../../deploy/nginx/generate.ts';
import type { EdgeOptions } from '../../deploy/nginx/generate.ts';

const GOLDEN = path.join(import.meta.dirname, 'golden');

const BASE: EdgeOptions = {
  publicHost: 'www.example.test',
  httpsPort: 443,
  httpPort: 80,
  certFile: '/etc/ssl/lpa/fullchain.pem',
  keyFile: '/etc/ssl/lpa/key.pem',
  upstreams: ['10.0.0.1:8005', { address: '10.0.0.2:8005', maxFails: 2, failTimeout: '5s' }],
};
const FASTCGI = { kind: 'fastcgi', servers: ['10.0.0.9:9000'], scriptFilename: '/app/public/index.php' } as const;

/** [golden file name, what is rendered]. */
const CASES: [string, () => string][] = [
  ['http-base.conf', () => renderHttpBlock(BASE)],
  [
    'http-legacy-http.conf',
    () =>
      renderHttpBlock({
        ...BASE,
        legacy: { kind: 'http', servers: ['10.0.0.9:80', { address: 'unix:/run/php.sock', down: true }] },
      }),
  ],
  ['http-legacy-fastcgi.conf', () => renderHttpBlock({ ...BASE, legacy: FASTCGI, tcpFront: false })],
  [
    'http-legacy-fastcgi-static.conf',
    () => renderHttpBlock({ ...BASE, legacy: { ...FASTCGI, staticRoot: '/app/public' }, httpPort: undefined }),
  ],
  [
    'http-tuned.conf',
    () =>
      renderHttpBlock({
        ...BASE,
        listenAddress: '0.0.0.0',
        http2: false,
        keepalive: 8,
        clientMaxBodySize: '64k',
        proxyConnectTimeout: 1,
        proxySendTimeout: 5,
        proxyReadTimeout: 60,
        proxyTries: 3,
        fallbackCsp: "default-src 'none'",
        accessLog: 'off',
        traceSamplePercent: 12.5,
        alsoRoute: [...Object.keys(EDGE_HELD_BACK).slice(0, 2), PATHS.evidence],
        upload: { maxBodySize: '30m', bodyTimeout: 5, readTimeout: 60 },
      }),
  ],
  ['http-trace-0.conf', () => renderHttpBlock({ ...BASE, traceSamplePercent: 0, accessLog: '/var/log/nginx/lpa.log' })],
  ['http-trace-100.conf', () => renderHttpBlock({ ...BASE, traceSamplePercent: 100, prefix: '/srv/edge' })],
  ['stream-default.conf', () => renderStreamBlock(BASE)],
  [
    'stream-balancer.conf',
    () =>
      renderStreamBlock({
        ...BASE,
        listenAddress: '[::1]',
        tcpFront: { perAddress: 40, socketDir: '/run/lpa', proxyProtocolFrom: ['10.0.0.0/16', '::1'] },
      }),
  ],
  ['stream-none.conf', () => renderStreamBlock({ ...BASE, tcpFront: false })],
  ['standalone.conf', () => generateNginxConf({ ...BASE, prefix: '/srv/edge', tcpFront: { perAddress: 40 } })],
  [
    'standalone-builtin-stream.conf',
    () =>
      generateNginxConf({
        ...BASE,
        prefix: '/srv/edge',
        workerProcesses: 'auto',
        workerConnections: 1024,
        errorLog: 'stderr',
        tcpFront: { perAddress: 9, streamModule: false },
        legacy: FASTCGI,
      }),
  ],
  [
    'standalone-no-front.conf',
    () => generateNginxConf({ ...BASE, prefix: '/srv/edge', tcpFront: false, workerProcesses: 2 }),
  ],
];

for (const [name, render] of CASES) {
  test(`nginx generator output is unchanged: ${name}`, async () => {
    const actual = render();
    const file = path.join(GOLDEN, name);
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(file, actual);
    assert.equal(actual, await readFile(file, 'utf8'));
  });
}
