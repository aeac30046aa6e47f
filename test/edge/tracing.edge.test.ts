/**
 * One trace across the edge (the generated nginx config, real nginx), the app and the LPA API (a recording
 * stand-in), as a real OTLP receiver sees it (docs/adr/0026). /ping/json is used because it calls the API's
 * /ping inside a request, with no form or session in the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateNginxConf } from '../../deploy/nginx/generate.ts';
import { freePort, makeCertificates, startNginx } from '../helpers/services.ts';
import { startTestApp } from '../helpers/app.ts';
import { startOtlpReceiver, startRecorder } from '../helpers/otlp.ts';
import { rawRequest } from './edge-client.ts';
import { PATHS } from '../../src/paths.ts';

const T = '0af7651916cd43dd8448eb211c80319c';
const S = 'b7ad6b7169203331';

test('a traceparent sent to the edge reaches the API in the same trace, and the spans say so', async (t) => {
  const certDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-tracing-edge-'));
  t.after(() => rm(certDir, { recursive: true, force: true }));
  const certs = await makeCertificates(certDir);
  const receiver = await startOtlpReceiver();
  const lpaApi = await startRecorder(() => ({ status: 200, body: '{}' }));
  const app = await startTestApp({
    env: {
      API_BASE_URL: lpaApi.origin,
      EGRESS_ALLOW_PRIVATE: '127.0.0.1',
      TRUSTED_PROXIES: '127.0.0.1', // nginx
      OTEL_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin,
      OTEL_SAMPLE_RATIO: '1',
    },
  });
  const httpsPort = await freePort();
  const nginx = await startNginx(
    (prefix) =>
      generateNginxConf({
        publicHost: `127.0.0.1:${String(httpsPort)}`,
        httpsPort,
        upstreams: [new URL(app.origin).host],
        certFile: certs.certFile,
        keyFile: certs.keyFile,
        prefix,
      }),
    { port: httpsPort },
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await nginx.stop();
    await app.close(); // sends the queued spans
    await receiver.close();
    await lpaApi.close();
  };
  t.after(stop);

  const res = await rawRequest(httpsPort, {
    tls: { ca: certs.ca },
    path: PATHS.pingJson,
    headers: { traceparent: `00-${T}-${S}-01` },
  });
  assert.equal(res.status, 200);
  const ping = lpaApi.requests.find((r) => r.path === '/ping');
  const [version, traceId, parentId, flags] = String(ping?.headers.traceparent).split('-');
  assert.deepEqual([version, traceId, flags], ['00', T, '01'], String(ping?.headers.traceparent));
  assert.ok(
    String(ping?.headers['x-trace-id']).startsWith(`Root=1-${T.slice(0, 8)}-${T.slice(8)};Parent=${String(parentId)};`),
  );

  await stop();
  const server = receiver.spans.find((s) => s.name === `GET ${PATHS.pingJson}`);
  const client = receiver.spans.find((s) => s.name === 'GET /ping');
  assert.ok(server && client, JSON.stringify(receiver.spans.map((s) => s.name)));
  assert.deepEqual(
    [server.traceId, server.parentSpanId],
    [T, S],
    'the request joined the trace that came through the edge',
  );
  assert.deepEqual([client.traceId, client.parentSpanId, client.spanId], [T, server.spanId, parentId]);
});
