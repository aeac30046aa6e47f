/**
 * One table of Accept-Encoding cases (RFC 9110 §12.5.3), run against the negotiator and against what the real
 * app sends for a pre-rendered page (gzip only) and a static asset (br and gzip): both must agree with the table.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import type { Coding, Encoding } from '../../src/platform/accept-encoding.ts';
import { negotiateEncoding } from '../../src/platform/accept-encoding.ts';
import { chooseEncoding } from '../../src/platform/assets.ts';
import { acceptsGzip } from '../../src/platform/compression.ts';
import { PATHS } from '../../src/paths.ts';
import { build } from '../helpers/app.ts';

interface Case {
  readonly header: string | undefined;
  /** The answer when br and gzip are both ready (an asset). */
  readonly both: Encoding;
  /** The answer when only gzip is ready (a pre-rendered page). */
  readonly gzipOnly: Encoding;
}

export const CASES: readonly Case[] = [
  { header: undefined, both: 'identity', gzipOnly: 'identity' },
  { header: '', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'br', both: 'br', gzipOnly: 'identity' },
  { header: 'gzip, deflate, br, zstd', both: 'br', gzipOnly: 'gzip' },
  { header: 'x-gzip', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'identity', both: 'identity', gzipOnly: 'identity' },
  { header: 'deflate', both: 'identity', gzipOnly: 'identity' },
  // `*` stands for any coding not named.
  { header: '*', both: 'br', gzipOnly: 'gzip' },
  { header: '*;q=0', both: 'identity', gzipOnly: 'identity' },
  // q=0 excludes, and an explicit name beats `*` wherever each stands (the first disagreement).
  { header: 'gzip;q=0, *', both: 'br', gzipOnly: 'identity' },
  { header: '*, gzip;q=0', both: 'br', gzipOnly: 'identity' },
  { header: 'br;q=0, *', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'br;q=0, gzip;q=0, *', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=0', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=0.000', both: 'identity', gzipOnly: 'identity' },
  { header: 'br;q=0, gzip', both: 'gzip', gzipOnly: 'gzip' },
  // Invalid q (more than three decimals, above 1, not a number, empty) refuses: the second disagreement.
  { header: 'gzip;q=0.0000', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=0.0000, *', both: 'br', gzipOnly: 'identity' },
  { header: 'gzip;q=2', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=1.5', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=abc', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=-1', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip;q=1.000', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'gzip;q=0.001', both: 'gzip', gzipOnly: 'gzip' },
  // Highest q wins; equal q falls to our order (br before gzip).
  { header: 'br;q=0.5, gzip;q=0.8', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'gzip;q=0.8, br;q=0.8', both: 'br', gzipOnly: 'gzip' },
  { header: 'gzip;q=0.5, *;q=0.9', both: 'br', gzipOnly: 'gzip' },
  // identity;q=0 refuses an uncompressed body; when nothing else is acceptable it is sent anyway (no 406).
  { header: 'gzip, identity;q=0', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'identity;q=0', both: 'identity', gzipOnly: 'identity' },
  { header: 'br, identity;q=0', both: 'br', gzipOnly: 'identity' },
  // The client ranks identity above the codings it accepts.
  { header: 'gzip;q=0.5, identity', both: 'identity', gzipOnly: 'identity' },
  { header: 'gzip, identity;q=0.5', both: 'gzip', gzipOnly: 'gzip' },
  // Case and whitespace.
  { header: 'GZIP', both: 'gzip', gzipOnly: 'gzip' },
  { header: 'Gzip;Q=0, BR', both: 'br', gzipOnly: 'identity' },
  { header: '  gzip ; q = 0 ,  * ', both: 'br', gzipOnly: 'identity' },
  { header: 'gzip\t;\tq=0.5', both: 'gzip', gzipOnly: 'gzip' },
  { header: ' , ,gzip', both: 'gzip', gzipOnly: 'gzip' },
  // A refusal is never undone by naming the coding again.
  { header: 'gzip;q=0, gzip', both: 'identity', gzipOnly: 'identity' },
  // Other parameters are not q.
  { header: 'gzip;level=0', both: 'gzip', gzipOnly: 'gzip' },
];

const BOTH: Readonly<Record<Coding, boolean>> = { br: true, gzip: true };
const GZIP_ONLY: Readonly<Partial<Record<Coding, boolean>>> = { gzip: true };

for (const c of CASES) {
  test(`negotiator: ${JSON.stringify(c.header)} → ${c.both} (br+gzip), ${c.gzipOnly} (gzip only)`, () => {
    assert.equal(negotiateEncoding(c.header, BOTH), c.both);
    assert.equal(negotiateEncoding(c.header, GZIP_ONLY), c.gzipOnly);
    assert.equal(chooseEncoding(c.header, { br: Buffer.alloc(1), gzip: Buffer.alloc(1) }), c.both);
    assert.equal(chooseEncoding(c.header, { gzip: Buffer.alloc(1) }), c.gzipOnly);
    assert.equal(acceptsGzip(c.header), c.gzipOnly === 'gzip');
  });
}

/** GET with exactly the header given (fetch would add its own Accept-Encoding). */
function get(
  origin: string,
  path: string,
  acceptEncoding: string | undefined,
): Promise<{ status: number; encoding: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'] ?? 'identity' });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('the real app: a pre-rendered page and a static asset answer every case as the table says', async (t) => {
  const { origin, services } = await build(t);
  const asset = [...services.assets.files.entries()].find(
    ([, file]) => file.br !== undefined && file.gzip !== undefined,
  )?.[0];
  assert.ok(asset !== undefined, 'a built asset with br and gzip variants (run `npm run build`)');
  for (const c of CASES) {
    const page = await get(origin, PATHS.accessibility, c.header);
    assert.equal(page.status, 200);
    assert.equal(page.encoding, c.gzipOnly, `page, Accept-Encoding: ${String(c.header)}`);
    const file = await get(origin, asset, c.header);
    assert.equal(file.status, 200);
    assert.equal(file.encoding, c.both, `asset, Accept-Encoding: ${String(c.header)}`);
  }
});
