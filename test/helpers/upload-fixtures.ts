/**
 * Small real files made in the test, for the upload checks and the virus scanner: a PDF that PDF readers open,
 * a PNG with correct CRCs, JPEG and HEIC headers. Each takes what the test needs to vary.
 */
import { crc32, deflateSync } from 'node:zlib';

/**
 * A one-page PDF; `objects` are extra indirect objects (bodies, without `n 0 obj`), `catalogExtra` goes into the
 * catalog.
 */
export function makePdf(opts: { text?: string; objects?: readonly string[]; catalogExtra?: string } = {}): Buffer {
  const text = (opts.text ?? 'Evidence of benefits').replace(/[()\\]/g, '');
  const stream = `BT /F1 18 Tf 72 720 Td (${text}) Tj ET`;
  const bodies = [
    `<< /Type /Catalog /Pages 2 0 R ${opts.catalogExtra ?? ''}>>`,
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ...(opts.objects ?? []),
  ];
  let out = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  bodies.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** An object stream (PDF 1.5) holding `inner` objects, deflated: how real PDFs hide dictionaries from a plain scan. */
export function objectStream(inner: readonly string[], firstNumber = 100): string {
  let header = '';
  let body = '';
  inner.forEach((o, i) => {
    header += `${firstNumber + i} ${body.length} `;
    body += `${o}\n`;
  });
  const data = deflateSync(Buffer.from(header + body, 'latin1'));
  return (
    `<< /Type /ObjStm /N ${inner.length} /First ${header.length} /Filter /FlateDecode ` +
    `/Length ${data.length} >>\nstream\n${data.toString('latin1')}\nendstream`
  );
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A valid greyscale PNG of width x height (rows of zeros; large sizes only in the header when `headerOnly`). */
export function makePng(width: number, height: number, headerOnly = false): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, adaptive filter, no interlace
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr)];
  if (!headerOnly) parts.push(pngChunk('IDAT', deflateSync(Buffer.alloc((width + 1) * height))));
  parts.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** A baseline JPEG header (SOI, APP0 JFIF, SOF0 with the size), then `tail` and EOI. */
export function makeJpeg(width: number, height: number, tail = Buffer.alloc(0)): Buffer {
  const app0 = Buffer.from([
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  ]);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, tail, Buffer.from([0xff, 0xd9])]);
}

function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

/** The start of a HEIC file: ftyp (brand heic) and meta > iprp > ipco > ispe with the size. */
export function makeHeic(width: number, height: number): Buffer {
  const ftyp = box('ftyp', Buffer.from('heic\0\0\0\0mif1heic', 'latin1'));
  const ispeBody = Buffer.alloc(12);
  ispeBody.writeUInt32BE(width, 4);
  ispeBody.writeUInt32BE(height, 8);
  const ipco = box('ipco', box('ispe', ispeBody));
  const meta = box('meta', Buffer.concat([Buffer.alloc(4), box('hdlr', Buffer.alloc(24)), box('iprp', ipco)]));
  return Buffer.concat([ftyp, meta, box('mdat', Buffer.alloc(64))]);
}

/** The evidence form's multipart body: the `_csrf` field first, then one PDF under `file`. */
export function uploadBody(boundary: string, token: string, name: string, data: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
        'Content-Type: application/pdf\r\n\r\n',
    ),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}
