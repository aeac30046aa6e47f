import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createClamd, parseScanReply, parseVersion } from './clamd.ts';
import type { Clamd } from './clamd.ts';
import { loadConfig } from '../config/config.ts';
import { startClamd, EICAR, EICAR_SIGNATURE } from '../../test/helpers/services.ts';
import type { StartedClamd } from '../../test/helpers/services.ts';
import { makePdf, makePng } from '../../test/helpers/upload-fixtures.ts';

function clientFor(address: string, timeoutMs = 10_000, chunkBytes?: number): Clamd {
  const config = loadConfig({ NODE_ENV: 'test', CLAMD_ADDRESS: address, CLAMD_TIMEOUT_MS: String(timeoutMs) });
  return createClamd({ address: config.clamdAddress, timeoutMs: config.clamdTimeoutMs, chunkBytes });
}

async function* pieces(...parts: (string | Buffer)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
}

const pdfWithEicar = (): Buffer => makePdf({ objects: [`<< /Length ${EICAR.length} >>\nstream\n${EICAR}\nendstream`] });

for (const transport of ['unix', 'tcp'] as const) {
  test(`clamd over ${transport}: verdicts from a real clamd with a test signature database`, async (t) => {
    const clamd: StartedClamd = await startClamd({ transport });
    t.after(() => clamd.stop());
    const client = clientFor(clamd.address);
    const infected = { status: 'infected', signature: EICAR_SIGNATURE };

    await t.test('EICAR as a file is infected', async () => {
      assert.deepEqual(await client.scan(pieces(EICAR)), infected);
    });
    await t.test('EICAR inside a real PDF is found by clamd', async () => {
      const pdf = pdfWithEicar();
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.deepEqual(await client.scan(pieces(pdf)), infected);
    });
    await t.test('EICAR split across source pieces and INSTREAM chunks is infected', async () => {
      const pdf = pdfWithEicar();
      const cut = pdf.indexOf(EICAR) + 20;
      // 7-byte INSTREAM chunks: the signature straddles many chunk boundaries, and the two source pieces.
      const tiny = clientFor(clamd.address, 10_000, 7);
      assert.deepEqual(await tiny.scan(pieces(pdf.subarray(0, cut), pdf.subarray(cut))), infected);
    });
    await t.test('a clean PDF and a clean PNG are clean', async () => {
      assert.deepEqual(await client.scan(pieces(makePdf())), { status: 'clean' });
      assert.deepEqual(await client.scan(pieces(makePng(64, 48))), { status: 'clean' });
    });
    await t.test('an empty stream is clean (nothing to find), a 20 MiB one is scanned whole', async () => {
      assert.deepEqual(await client.scan(pieces()), { status: 'clean' });
      const big = Buffer.alloc(20 * 1024 * 1024, 0x41);
      big.write(EICAR, big.length - EICAR.length - 1, 'latin1');
      assert.deepEqual(await client.scan(pieces(big)), infected, 'EICAR in the last bytes of 20 MiB');
    });
    await t.test('version answers with the engine', async () => {
      const v = await client.version();
      assert.match(v?.engine ?? '', /^ClamAV \d+\.\d+/);
    });
    await t.test('clamd stopped: unavailable, never clean', async () => {
      await clamd.stop();
      const r = await client.scan(pieces(makePdf()));
      assert.equal(r.status, 'unavailable');
      assert.equal(await client.version(), undefined);
    });
  });
}

test("a stream over clamd's StreamMaxLength is an error, never clean", async (t) => {
  const clamd = await startClamd({ streamMaxBytes: 1024 * 1024 });
  t.after(() => clamd.stop());
  const r = await clientFor(clamd.address).scan(pieces(Buffer.alloc(3 * 1024 * 1024, 0x20)));
  assert.notEqual(r.status, 'clean');
  assert.ok(r.status === 'error' || r.status === 'unavailable', JSON.stringify(r));
  if (r.status === 'error') assert.match(r.reason, /size limit|ERROR/);
});

test('no CLAMD_ADDRESS: not configured, every scan unavailable', async () => {
  const config = loadConfig({ NODE_ENV: 'test' });
  const client = createClamd({ address: config.clamdAddress, timeoutMs: config.clamdTimeoutMs });
  assert.equal(client.configured, false);
  assert.deepEqual(await client.scan(pieces(makePdf())), { status: 'unavailable', reason: 'CLAMD_ADDRESS is not set' });
  assert.equal(await client.version(), undefined);
});

/** A fake daemon on loopback that answers with `behave`, for the answers a real clamd rarely gives. */
async function fakeClamd(behave: (socket: net.Socket) => void): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    behave(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `tcp://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

test('hung, silent, garbled or closing daemons are never clean', async (t) => {
  const cases: { name: string; behave: (s: net.Socket) => void; status: string }[] = [
    {
      name: 'never answers',
      behave: (s) => {
        s.resume();
      },
      status: 'unavailable',
    },
    {
      name: 'closes without a word',
      behave: (s) => {
        s.once('data', () => s.destroy());
      },
      status: 'unavailable',
    },
    {
      name: 'answers ERROR',
      behave: (s) => {
        s.once('data', () => s.end("INSTREAM: Can't allocate memory ERROR\0"));
      },
      status: 'error',
    },
    {
      name: 'answers something else',
      behave: (s) => {
        s.once('data', () => s.end('stream: OK-ish\0'));
      },
      status: 'error',
    },
    // Then stops reading, so the client has to wait for the socket to drain and sees the answer mid-stream.
    {
      name: 'answers OK before the end of the stream',
      behave: (s) => {
        s.once('data', () => {
          s.write('stream: OK\0');
          s.pause();
        });
      },
      status: 'error',
    },
    {
      name: 'floods without a NUL',
      behave: (s) => {
        s.once('data', () => s.write(Buffer.alloc(10_000, 0x41)));
      },
      status: 'unavailable',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const fake = await fakeClamd(c.behave);
      try {
        const r = await clientFor(fake.address, 300).scan(
          pieces(Buffer.alloc(200_000, 1), Buffer.alloc(16 * 1024 * 1024)),
        );
        assert.equal(r.status, c.status, JSON.stringify(r));
      } finally {
        await fake.close();
      }
    });
  }
});

test('reply and version parsing', () => {
  assert.deepEqual(parseScanReply('stream: OK'), { status: 'clean' });
  assert.deepEqual(parseScanReply('stream: Win.Test.EICAR_HDB-1 FOUND'), {
    status: 'infected',
    signature: 'Win.Test.EICAR_HDB-1',
  });
  assert.equal(parseScanReply('INSTREAM size limit exceeded. ERROR').status, 'error');
  assert.equal(parseScanReply('').status, 'error');
  assert.equal(parseScanReply('stream: OK ').status, 'error');
  const v = parseVersion('ClamAV 1.4.6/27123/Fri Dec  4 08:35:00 2026');
  assert.equal(v?.engine, 'ClamAV 1.4.6');
  assert.equal(v.databaseVersion, 27123);
  assert.equal(v.databaseDate?.toISOString(), '2026-12-04T08:35:00.000Z');
  assert.deepEqual(parseVersion('ClamAV 1.4.6'), {
    engine: 'ClamAV 1.4.6',
    databaseVersion: undefined,
    databaseDate: undefined,
  });
  assert.equal(parseVersion('PONG'), undefined);
});
