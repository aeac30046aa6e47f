/**
 * The edge under a hostile or failing neighbour, with real nginx and raw sockets:
 * - one client address holding many half-sent requests cannot stop another address being served (issue 17.5);
 * - an upstream's deliberate 503 (store down, load shedding) reaches the user with its Retry-After and marks no
 *   instance down, so public pages stay 200 (issue 18, "these fixes and the edge").
 * ADR 0025 gives the reasons and the sizes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generateNginxConf } from '../../deploy/nginx/generate.ts';
import type { EdgeOptions } from '../../deploy/nginx/generate.ts';
import { PATHS } from '../../src/paths.ts';
import { freePort, makeCertificates, startNginx } from '../helpers/services.ts';
import type { Certificates, StartedNginx } from '../helpers/services.ts';
import { rawRequest, startRecorder } from './edge-client.ts';
import type { RawResponse, Recorder } from './edge-client.ts';

/** Small on purpose, so a moderate flood shows the effect on 2 cores: nginx's default is 1024, ours 4096. */
const WORKER_CONNECTIONS = 128;
const PER_ADDRESS = 16;
/** Above both the per-address limit and worker_connections. */
const FLOOD = 160;

let certs: Certificates;
let certDir: string;
let front1: Recorder;
let front2: Recorder;
let edge: StartedNginx;
let edgePort: number;

async function startEdge(
  opts: Omit<EdgeOptions, 'certFile' | 'keyFile' | 'prefix' | 'publicHost'>,
): Promise<StartedNginx> {
  return startNginx(
    (prefix) =>
      generateNginxConf({
        ...opts,
        publicHost: `127.0.0.1:${String(opts.httpsPort)}`,
        certFile: certs.certFile,
        keyFile: certs.keyFile,
        prefix,
      }),
    { port: opts.httpsPort },
  );
}

before(async () => {
  certDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-edge-resilience-'));
  certs = await makeCertificates(certDir);
  [front1, front2] = await Promise.all([startRecorder('front1'), startRecorder('front2')]);
  edgePort = await freePort();
  edge = await startEdge({
    httpsPort: edgePort,
    // The generator's defaults: max_fails=1, fail_timeout=10s, so one counted failure takes a server out for 10 s.
    upstreams: [front1.address, front2.address],
    workerConnections: WORKER_CONNECTIONS,
    tcpFront: { perAddress: PER_ADDRESS },
    alsoRoute: [PATHS.aboutYou, PATHS.home], // a signed-in page and the home page, whatever EDGE_HELD_BACK holds
  });
});

after(async () => {
  await edge.stop();
  await Promise.all([front1.close(), front2.close()]);
  await rm(certDir, { recursive: true, force: true });
});

function get(p: string, localAddress?: string, port = edgePort, timeoutMs?: number): Promise<RawResponse> {
  return rawRequest(port, { tls: { ca: certs.ca }, path: p, localAddress, timeoutMs });
}

/**
 * The attack: FLOOD clients on 127.0.0.1, each opening a TLS connection, sending an incomplete request header
 * and holding it; a connection that is refused or closed is opened again (after 25 ms) until `done(held)` says
 * the flood has taken what it can (polled every 100 ms, at most 8 s: a busy machine completes handshakes more
 * slowly). Then the attacker stops opening new ones and holds what it has; resolves with those.
 */
async function flood(
  port: number,
  done: (held: tls.TLSSocket[]) => boolean | Promise<boolean>,
): Promise<tls.TLSSocket[]> {
  flooding = true;
  const attack = (): void => {
    if (!flooding) return;
    const options: tls.ConnectionOptions & { localAddress: string } = {
      host: '127.0.0.1',
      port,
      localAddress: '127.0.0.1',
      ca: certs.ca,
      ALPNProtocols: ['http/1.1'],
    };
    const socket = tls.connect(options);
    opened.add(socket);
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => {
      socket.write(`GET /accessibility HTTP/1.1\r\nHost: 127.0.0.1:${String(port)}\r\nX-Half: `);
    });
    socket.once('close', () => {
      opened.delete(socket);
      setTimeout(attack, 25);
    });
  };
  for (let i = 0; i < FLOOD; i++) attack();
  const held = (): tls.TLSSocket[] =>
    [...opened].filter((s) => !s.destroyed && s.readyState === 'open' && s.authorized);
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline && !(await done(held()))) await new Promise((r) => setTimeout(r, 100));
  flooding = false;
  await new Promise((r) => setTimeout(r, 300)); // the handshakes and refusals in flight settle
  return held();
}

/** Every flood socket open now, so each test ends its flood whatever happened. */
const opened = new Set<tls.TLSSocket>();
let flooding = false;

function endFlood(): void {
  flooding = false;
  for (const s of opened) s.destroy();
  opened.clear();
}

describe('one client address cannot take the edge offline', () => {
  test(
    '127.0.0.1 holding many half-sent requests: 127.0.0.2 is still served, and 127.0.0.1 ' + 'holds at most its share',
    async () => {
      try {
        const held = await flood(edgePort, (open) => open.length >= PER_ADDRESS);
        front1.seen.length = 0;
        front2.seen.length = 0;
        const res = await get('/accessibility', '127.0.0.2', edgePort, 5000);
        assert.equal(res.status, 200, 'another address is served during the flood');
        const seen = [...front1.seen, ...front2.seen];
        assert.equal(
          seen[0]?.headers['x-forwarded-for'],
          '127.0.0.2',
          'the http layer sees the real client behind the TCP front',
        );
        assert.ok(
          held.length <= PER_ADDRESS,
          `127.0.0.1 holds ${String(held.length)} connections, at most ${String(PER_ADDRESS)}`,
        );
        assert.ok(held.length >= PER_ADDRESS / 2, `the flood did hold connections (${String(held.length)})`);
        const log = await edge.errorLog();
        assert.doesNotMatch(log, /worker_connections are not enough/);
        assert.match(log, /limiting connections by zone "lpa_per_address"/);
      } finally {
        endFlood();
      }
      // Once the flood ends, 127.0.0.1 is served again.
      assert.equal((await get('/accessibility', '127.0.0.1')).status, 200);
    },
  );

  test('the same flood without the TCP front does stop the other address (what the front prevents)', async () => {
    const port = await freePort();
    const unguarded = await startEdge({
      httpsPort: port,
      upstreams: [front1.address],
      workerConnections: WORKER_CONNECTIONS,
      tcpFront: false,
    });
    try {
      // Until every connection nginx has is a half-sent header: it closes connections still in their handshake to make
      // room, so only those fill it. Its one worker also spends a connection on its listener and one on its master.
      const held = await flood(port, (open) => open.length >= WORKER_CONNECTIONS - 2);
      assert.equal(held.length, WORKER_CONNECTIONS - 2, 'without the front one address holds every connection');
      // Within client_header_timeout (10 s from the first of them), when nginx would close the held ones.
      await assert.rejects(get('/accessibility', '127.0.0.2', port, 1500), 'the other address is not served');
      assert.match(await unguarded.errorLog(), /worker_connections are not enough/);
    } finally {
      endFlood();
      await unguarded.stop();
    }
  });
});

describe("an upstream's 503 is an answer, not a failure", () => {
  test(
    'both instances answer 503 with Retry-After for a signed-in page: the user gets it, ' + 'public pages stay 200',
    async () => {
      front1.seen.length = 0;
      front2.seen.length = 0;
      const handler = (req: IncomingMessage, res: ServerResponse): void => {
        if (req.url === PATHS.aboutYou) {
          // What lpa-front sends when the session store is down, or when it sheds load.
          res.statusCode = 503;
          res.setHeader('retry-after', '30');
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end('<p>Sorry, the service is unavailable. Try again later.</p>');
          return;
        }
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end('public page');
      };
      front1.handler = handler;
      front2.handler = handler;
      try {
        for (let round = 0; round < 6; round++) {
          const down = await get(PATHS.aboutYou);
          assert.equal(down.status, 503, `round ${String(round)}: the upstream's 503`);
          assert.equal(down.header('retry-after'), '30', 'with its Retry-After');
          assert.match(down.body.toString('utf8'), /Try again later/, "the upstream's page, not nginx's");
          for (const p of ['/accessibility', PATHS.home, PATHS.ping]) {
            const res = await get(p);
            assert.equal(res.status, 200, `round ${String(round)}: ${p} after a 503 (status ${String(res.status)})`);
          }
        }
        const signedIn = [...front1.seen, ...front2.seen].filter((r) => r.url === PATHS.aboutYou).length;
        assert.equal(signedIn, 6, 'a 503 is not retried on the other instance');
        assert.ok(front1.seen.length > 0 && front2.seen.length > 0, 'both instances stayed in rotation');
      } finally {
        front1.handler = undefined;
        front2.handler = undefined;
      }
    },
  );
});
