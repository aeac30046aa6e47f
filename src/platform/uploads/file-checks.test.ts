import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { FileCheck, sniff, imageSize } from './file-checks.ts';
import type { Verdict } from './file-checks.ts';
import { displayName } from './file-name.ts';
import { makePdf, objectStream, makePng, makeJpeg, makeHeic } from '../../../test/helpers/upload-fixtures.ts';

const LIMITS = { maxBytes: 20 * 1024 * 1024, maxImagePixels: 50_000_000, maxInflatedBytes: 8 * 1024 * 1024 };

/** Streams `data` in pieces of `size` bytes, as an upload would arrive. */
async function check(name: string, data: Buffer, size = 1000, limits = LIMITS): Promise<Verdict> {
  const c = new FileCheck(name, limits);
  for (let at = 0; at < data.length; at += size) {
    if ((await c.write(data.subarray(at, at + size))) !== undefined) break;
  }
  return c.end();
}

const reason = (v: Verdict): string => (v.ok ? 'ok' : v.reason);

test('accepted files: each kind, in one piece and byte by byte', async () => {
  const cases: [string, Buffer, string][] = [
    ['benefits.pdf', makePdf(), 'application/pdf'],
    ['photo.PNG', makePng(640, 480), 'image/png'],
    ['letter.jpg', makeJpeg(4000, 3000), 'image/jpeg'],
    ['scan.jpeg', makeJpeg(10, 10), 'image/jpeg'],
    ['phone.heic', makeHeic(4032, 3024), 'image/heic'],
  ];
  for (const [name, data, type] of cases) {
    for (const size of [data.length, 1, 7]) {
      const v = await check(name, data, size);
      assert.ok(v.ok, `${name} in ${String(size)}-byte pieces: ${reason(v)}`);
      assert.equal(v.mediaType, type);
      assert.equal(v.bytes, data.length);
    }
  }
});

test('refused files, each for its reason', async () => {
  const elf = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(200)]);
  const mz = Buffer.concat([Buffer.from('MZ\x90\x00', 'latin1'), Buffer.alloc(200)]);
  const pdfJs = (o: string[]): Buffer => makePdf({ objects: o });
  const js = '<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>';
  const cases: [string, string, Buffer, string][] = [
    ['renamed executable', 'evidence.pdf', elf, 'unknown-type'],
    ['Windows executable as PNG', 'photo.png', mz, 'unknown-type'],
    ['exe extension', 'setup.exe', mz, 'extension'],
    ['no extension', 'evidence', makePdf(), 'extension'],
    ['PDF named .png', 'photo.png', makePdf(), 'type-mismatch'],
    ['PNG named .pdf', 'letter.pdf', makePng(10, 10), 'type-mismatch'],
    [
      'HTML named .pdf',
      'letter.pdf',
      Buffer.from('<html><script>alert(1)</script></html>'.padEnd(100)),
      'unknown-type',
    ],
    [
      'SVG named .png',
      'x.png',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'.padEnd(100)),
      'unknown-type',
    ],
    ['empty', 'a.pdf', Buffer.alloc(0), 'empty'],
    ['truncated PDF', 'a.pdf', makePdf().subarray(0, 400), 'truncated'],
    ['truncated PNG', 'a.png', makePng(100, 100).subarray(0, 60), 'truncated'],
    ['truncated JPEG', 'a.jpg', makeJpeg(100, 100).subarray(0, 30), 'truncated'],
    ['too large', 'a.pdf', makePdf({ text: 'x'.repeat(2000) }), 'too-large'],
    ['PNG over the pixel cap', 'a.png', makePng(10_000, 10_000, true), 'image-too-large'],
    ['JPEG over the pixel cap', 'a.jpg', makeJpeg(65_000, 65_000), 'image-too-large'],
    ['HEIC over the pixel cap', 'a.heic', makeHeic(20_000, 20_000), 'image-too-large'],
    [
      'JPEG without a frame header',
      'a.jpg',
      Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2, ...Buffer.alloc(80), 0xff, 0xd9]),
      'image-unreadable',
    ],
    [
      'PDF with /OpenAction JavaScript',
      'a.pdf',
      makePdf({ catalogExtra: '/OpenAction 6 0 R', objects: [js] }),
      'pdf-active-content',
    ],
    [
      'PDF with /JS hex-escaped',
      'a.pdf',
      makePdf({ objects: ['<< /S /J#61vaScript /J#53 (x) >>'] }),
      'pdf-active-content',
    ],
    ['PDF with /Launch', 'a.pdf', makePdf({ objects: ['<< /S /Launch /F (cmd.exe) >>'] }), 'pdf-active-content'],
    [
      'PDF with an embedded file',
      'a.pdf',
      makePdf({ objects: ['<< /Type /EmbeddedFile /Length 0 >>\nstream\n\nendstream'] }),
      'pdf-active-content',
    ],
    [
      'PDF with JavaScript in a compressed object stream',
      'a.pdf',
      pdfJs([objectStream([js, '<< /Type /Annot >>'])]),
      'pdf-active-content',
    ],
    [
      'encrypted PDF',
      'a.pdf',
      makePdf({ objects: ['<< /Filter /Standard /V 2 >>'], catalogExtra: '/Encrypt 6 0 R' }),
      'pdf-encrypted',
    ],
    [
      'object stream under another filter',
      'a.pdf',
      pdfJs([`<< /Type /ObjStm /N 1 /First 4 /Filter /LZWDecode /Length 3 >>\nstream\nabc\nendstream`]),
      'pdf-unreadable',
    ],
    [
      'object stream that does not inflate',
      'a.pdf',
      pdfJs([`<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 9 >>\nstream\nnot ` + `zlib!\nendstream`]),
      'pdf-unreadable',
    ],
  ];
  for (const [what, name, data, expected] of cases) {
    const limits = what === 'too large' ? { ...LIMITS, maxBytes: 1500 } : LIMITS;
    for (const size of [data.length || 1, 3]) {
      assert.equal(reason(await check(name, data, size, limits)), expected, `${what} in ${String(size)}-byte pieces`);
    }
  }
});

test('a PDF zip bomb stops at the inflate cap, with flat memory', async () => {
  // 200 MiB of zeros deflate to about 200 KiB; the cap is 8 MiB.
  const bomb = deflateSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 });
  const pdf = makePdf({
    objects: [`<< /Filter /FlateDecode /Length ${bomb.length} ` + `>>\nstream\n${bomb.toString('latin1')}\nendstream`],
  });
  const before = process.memoryUsage().rss;
  assert.equal(reason(await check('bomb.pdf', pdf, 64 * 1024)), 'pdf-inflate-limit');
  assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024, 'did not inflate the whole bomb');
});

test('a compressed content stream without active content is accepted', async () => {
  const content = deflateSync(Buffer.from('BT /F1 12 Tf 72 700 Td (hello) Tj ET'));
  const pdf = makePdf({
    objects: [
      `<< /Filter /FlateDecode /Length ${content.length} ` + `>>\nstream\n${content.toString('latin1')}\nendstream`,
      objectStream(['<< /Type /Annot /Subtype /Link >>']),
    ],
  });
  assert.equal(reason(await check('ok.pdf', pdf, 5)), 'ok');
});

test('sniff and imageSize read only the header', () => {
  assert.equal(sniff(Buffer.from('GIF89a')), undefined);
  assert.equal(sniff(makeHeic(1, 1)), 'heic');
  assert.deepEqual(imageSize('png', makePng(123, 45, true)), { width: 123, height: 45 });
  assert.deepEqual(imageSize('jpeg', makeJpeg(640, 480)), { width: 640, height: 480 });
  assert.deepEqual(imageSize('heic', makeHeic(4032, 3024)), { width: 4032, height: 3024 });
});

test('displayName: only ever shown, cleaned and capped', () => {
  const cases: [string, string][] = [
    ['../../etc/passwd', 'passwd'],
    ['C:\\fakepath\\letter.pdf', 'letter.pdf'],
    ['evil\u0000.pdf', 'evil.pdf'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['a\u2066b\u2069c\u200Bd.png', 'abcd.png'],
    ['  many   spaces\t.pdf ', 'many spaces.pdf'], // the tab is a control character: removed
    ['...hidden.pdf', 'hidden.pdf'],
    ['', 'file'],
    ['\u0001\u0002', 'file'],
    ['../', 'file'],
  ];
  for (const [raw, shown] of cases) assert.equal(displayName(raw), shown, JSON.stringify(raw));
  const long = displayName(`${'a'.repeat(10_000)}.pdf`);
  assert.equal(long.length, 100); // all ASCII but the ellipsis: one UTF-16 unit each
  assert.ok(long.endsWith('\u2026.pdf'));
});
