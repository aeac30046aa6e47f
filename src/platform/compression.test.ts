import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync, inflateRawSync, constants } from 'node:zlib';
import fc from 'fast-check';
import { prepareGzipSplice, spliceGzip } from './compression.ts';

function join(parts: readonly Buffer[], nonce: Buffer): Buffer {
  const out: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(nonce);
    out.push(p);
  });
  return Buffer.concat(out);
}

const page = [
  Buffer.from('<!DOCTYPE html><html><head><script nonce="'),
  Buffer.from('">document.body.className += " js-enabled";</script></head><body>'.repeat(40)),
  Buffer.from('<p>Repeated text that compresses well. </p>'.repeat(300) + '</body></html>'),
];

describe('spliceGzip', () => {
  test('decompresses to exactly the joined body, for many random nonces', () => {
    const splice = prepareGzipSplice(page);
    for (let i = 0; i < 500; i++) {
      const nonce = randomBytes(16).toString('base64');
      const gz = spliceGzip(splice, nonce);
      assert.deepEqual(gunzipSync(gz), join(page, Buffer.from(nonce)));
    }
  });

  test('is much smaller than the page and differs only where the nonce is', () => {
    const splice = prepareGzipSplice(page);
    const a = spliceGzip(splice, 'A'.repeat(24));
    const b = spliceGzip(splice, 'B'.repeat(24));
    assert.ok(a.length < join(page, Buffer.from('A'.repeat(24))).length / 4, `${String(a.length)} bytes`);
    assert.equal(a.length, b.length);
    assert.notDeepEqual(a, b);
  });

  test('the gzip header and trailer are well formed (magic, method, CRC-32 and ISIZE checked by zlib)', () => {
    const gz = spliceGzip(prepareGzipSplice(page), 'nonce123');
    assert.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 0x08]);
    const body = join(page, Buffer.from('nonce123'));
    assert.equal(gz.readUInt32LE(gz.length - 4), body.length);
    // A corrupted CRC must be refused: proves the trailer is really checked, not ignored.
    const bad = Buffer.from(gz);
    bad.writeUInt32LE((bad.readUInt32LE(bad.length - 8) ^ 1) >>> 0, bad.length - 8);
    assert.throws(() => gunzipSync(bad));
  });

  test('each constant part is a self-contained raw deflate stream (no back-references across parts)', () => {
    const splice = prepareGzipSplice(page);
    splice.deflated.forEach((d, i) => {
      // Inflating a part on its own, without anything before it, gives that part back.
      assert.deepEqual(inflateRawSync(d, { finishFlush: constants.Z_SYNC_FLUSH }), page[i]);
      assert.deepEqual([...d.subarray(-4)], [0x00, 0x00, 0xff, 0xff], 'ends with a sync flush');
    });
  });

  test('edge cases: one part, empty parts, empty nonce, a nonce longer than one stored block', () => {
    const cases: [Buffer[], Buffer][] = [
      [[Buffer.from('only one part')], Buffer.from('x')],
      [[Buffer.alloc(0), Buffer.from('middle'), Buffer.alloc(0)], Buffer.from('n')],
      [[Buffer.from('a'), Buffer.from('b')], Buffer.alloc(0)],
      [[Buffer.from('head'), Buffer.from('tail')], randomBytes(70_000)],
      [[Buffer.alloc(0)], Buffer.alloc(0)],
    ];
    for (const [parts, nonce] of cases) {
      assert.deepEqual(gunzipSync(spliceGzip(prepareGzipSplice(parts), nonce)), join(parts, nonce));
    }
  });

  test('property: any parts and any nonce round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 6 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 9 }),
        (arrays, nonceBytes, level) => {
          const parts = arrays.map((a) => Buffer.from(a));
          const nonce = Buffer.from(nonceBytes);
          assert.deepEqual(gunzipSync(spliceGzip(prepareGzipSplice(parts, level), nonce)), join(parts, nonce));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("an independent decoder (gzip(1), not Node's zlib binding) accepts it and checks the CRC", () => {
    const splice = prepareGzipSplice(page);
    for (let i = 0; i < 20; i++) {
      const nonce = randomBytes(16).toString('base64');
      const out = execFileSync('gzip', ['-d', '-c'], { input: spliceGzip(splice, nonce) });
      assert.deepEqual(out, join(page, Buffer.from(nonce)));
    }
  });
});

describe('spliceGzip with a value per gap', () => {
  test('gap i gets value i (a nonce and a CSRF token in any order)', () => {
    const parts = [
      Buffer.from('<a nonce="'),
      Buffer.from('"><input value="'),
      Buffer.from('"><b nonce="'),
      Buffer.from('">end'),
    ];
    const values = ['N0nce+/=', 'abcdef0123456789', 'N0nce+/='];
    const expected = Buffer.from(
      `<a nonce="${values[0] ?? ''}"><input value="${values[1] ?? ''}"><b ` + `nonce="${values[2] ?? ''}">end`,
    );
    assert.deepEqual(gunzipSync(spliceGzip(prepareGzipSplice(parts), values)), expected);
  });

  test('too few values is an error, not a short page', () => {
    assert.throws(
      () => spliceGzip(prepareGzipSplice([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]), ['x']),
      RangeError,
    );
  });
});
