// Request tracing against real servers on loopback: the app, a recording stand-in for the LPA API, and an
// OTLP/HTTP receiver that decodes what the app exports (docs/adr/0026).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { startTestApp } from '../helpers/app.ts';
import type { Started } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { startOtlpReceiver, startRecorder } from '../helpers/otlp.ts';
import type { Recorder } from '../helpers/otlp.ts';
import { PATHS } from '../../src/paths.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';
const FEEDBACK = { rating: 'satisfied', details: 'tracing test', email: '', phone: '' };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
const X_TRACE_ID = /^Root=1-([0-9a-f]{8})-([0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=([01])$/;

async function setUp(t: TestContext, env: Record<string, string>) {
  const receiver = await startOtlpReceiver();
  const lpaApi = await startRecorder();
  const app = await startTestApp({
    env: {
      API_BASE_URL: lpaApi.origin,
      EGRESS_ALLOW_PRIVATE: '127.0.0.1',
      OTEL_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin,
      ...env,
    },
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.close(); // services.close() ends with tracing.shutdown(), which sends every queued span
    await receiver.close();
    await lpaApi.close();
  };
  t.after(close);
  return { receiver, lpaApi, app, close };
}

/** Sends feedback with `headers` on both requests; returns the trace position the API received with it. */
async function sendFeedback(app: Started, lpaApi: Recorder, headers: Record<string, string>) {
  const browser = new Browser(app.origin);
  const form = await browser.get(PATHS.feedback, headers);
  const res = await browser.post(PATHS.feedback, { _csrf: csrfTokenFrom(form.text), ...FEEDBACK }, headers);
  assert.equal(res.status, 303);
  const delivery = lpaApi.requests.filter((r) => r.path === '/user-feedback').at(-1);
  assert.ok(delivery);
  const tp = TRACEPARENT.exec(String(delivery.headers.traceparent));
  const xt = X_TRACE_ID.exec(String(delivery.headers['x-trace-id']));
  assert.ok(tp, `traceparent ${String(delivery.headers.traceparent)}`);
  assert.ok(xt, `X-Trace-Id ${String(delivery.headers['x-trace-id'])}`);
  const sent = { traceId: tp[1] ?? '', spanId: tp[2] ?? '', sampled: tp[3] === '01' };
  // The two headers name the same position.
  assert.deepEqual({ traceId: `${xt[1] ?? ''}${xt[2] ?? ''}`, spanId: xt[3], sampled: xt[4] === '1' }, sent);
  return sent;
}

test(
  "one trace from a trusted proxy's traceparent, through the app, to the API; exported; on " + 'every log line',
  async (t) => {
    const { receiver, lpaApi, app, close } = await setUp(t, { TRUSTED_PROXIES: '127.0.0.1', OTEL_SAMPLE_RATIO: '1' });
    // The proxy's header says "not sampled": the service decides for itself (ratio 1 here).
    const sent = await sendFeedback(app, lpaApi, { traceparent: `00-${T}-${S}-00` });
    assert.equal(sent.traceId, T, 'the API call continues the incoming trace');
    assert.equal(sent.sampled, true);
    await close();

    const post = receiver.spans.find((s) => s.name === `POST ${PATHS.feedback}`);
    const call = receiver.spans.find((s) => s.name === 'POST /user-feedback');
    assert.ok(post && call, JSON.stringify(receiver.spans.map((s) => s.name)));
    assert.equal(post.service, 'lpa-front');
    assert.deepEqual(
      [post.traceId, post.parentSpanId, post.kind],
      [T, S, 2],
      "a server span, child of the proxy's span",
    );
    assert.deepEqual(
      [call.traceId, call.parentSpanId, call.spanId, call.kind],
      [T, post.spanId, sent.spanId, 3],
      "a client span, child of the request's",
    );
    assert.equal(post.attributes['http.response.status_code'], '303');
    assert.equal(call.attributes['http.response.status_code'], '204');
    assert.ok(
      receiver.requests.every((r) => r.headers.traceparent === undefined),
      'the export itself is not traced',
    );

    const lines = app.logs;
    const access = lines.find((l) => l.msg === 'request' && l.method === 'POST');
    assert.equal(access?.traceId, T, 'the access line');
    const delivered = lines.find((l) => l.msg === 'feedback delivered to the API');
    assert.deepEqual([delivered?.traceId, delivered?.spanId], [T, post.spanId], 'a line written by the handler');
  },
);

test('headers from an untrusted peer, or in a bad format, are ignored: a new trace', async (t) => {
  const { lpaApi, app } = await setUp(t, { TRUSTED_PROXIES: '10.0.0.0/8', OTEL_SAMPLE_RATIO: '1' });
  const sent = await sendFeedback(app, lpaApi, {
    traceparent: `00-${T}-${S}-01`,
    'x-amzn-trace-id': `Root=1-${T.slice(0, 8)}-${T.slice(8)}`,
  });
  assert.notEqual(sent.traceId, T);
});

test(
  "a trusted load balancer's X-Amzn-Trace-Id (Root only) names the trace; its sampled flag " + 'cannot force recording',
  async (t) => {
    const { receiver, lpaApi, app, close } = await setUp(t, {
      TRUSTED_PROXIES: '127.0.0.1',
      OTEL_SAMPLE_RATIO: '0',
      OTEL_AWS_XRAY: 'true',
    });
    const sent = await sendFeedback(app, lpaApi, {
      'x-amzn-trace-id': `Root=1-${T.slice(0, 8)}-${T.slice(8)};Sampled=1`,
    });
    assert.equal(sent.traceId, T);
    assert.equal(sent.sampled, false, 'ratio 0: not recorded, whatever the header asked');
    const w3c = await sendFeedback(app, lpaApi, { traceparent: `00-${T}-${S}-01` });
    assert.deepEqual([w3c.traceId, w3c.sampled], [T, false], "nor can a traceparent's");
    await close();
    assert.deepEqual(receiver.spans, [], 'nothing sampled, nothing exported');
    assert.equal(receiver.requests.length, 0);
  },
);
