import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openStore } from '../../backends/sqlite-store.ts';
import type { Store } from '../../backends/sqlite-store.ts';
import { apiClientFor } from '../../backends/api-client.ts';
import type { ApiClient } from '../../backends/api-client.ts';
import { DEFAULT_RETRY, OUTBOX_KIND, createFeedbackService } from './feedback-service.ts';
import type { FeedbackLogger, FeedbackSubmission } from './feedback-service.ts';
import { runInTrace } from '../../platform/trace-context.ts';
import type { Tracing } from '../../platform/trace-context.ts';
import { createTracing } from '../../platform/tracing.ts';
import { startOtlpReceiver } from '../../../test/helpers/otlp.ts';

const SECRET_DETAILS = 'my private details 7f3a';
const SECRET_EMAIL = 'private.person@example.com';

const submission: FeedbackSubmission = {
  rating: 'very-satisfied',
  details: SECRET_DETAILS,
  email: SECRET_EMAIL,
  phone: '01234 567890',
  agent: 'Mozilla/5.0 (test)',
  fromPage: '/cookies',
};

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: unknown;
  status?: number | 'hang';
}

/** A stand-in for the LPA API on 127.0.0.1: answers each POST with the status `respond` gives. */
class FakeApi {
  readonly received: Received[] = [];
  respond: () => number | 'hang' = () => 201;
  #server: Server | undefined;
  #hanging: (() => void)[] = [];
  port = 0;

  async start(t: TestContext): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = this.respond();
        this.received.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: text === '' ? undefined : JSON.parse(text),
          status,
        });
        if (status === 'hang') {
          this.#hanging.push(() => res.destroy());
          return;
        }
        res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{}' : '{"detail":"nope"}');
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    this.port = address.port;
    t.after(() => this.stop());
  }

  async stop(): Promise<void> {
    for (const h of this.#hanging) h();
    this.#hanging = [];
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }

  get deliveries(): Received[] {
    return this.received.filter((r) => r.method === 'POST' && r.url === '/user-feedback');
  }
}

class CaptureLogger implements FeedbackLogger {
  readonly lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  debug(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
  info(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
  text(): string {
    return JSON.stringify(this.lines);
  }
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-feedback-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function apiFor(t: TestContext, port: number, logger: CaptureLogger, timeoutMs = 2000): ApiClient {
  const api = apiClientFor(
    { apiBaseUrl: new URL(`http://127.0.0.1:${String(port)}`), egressAllowPrivate: ['127.0.0.1'] },
    logger,
    timeoutMs,
  );
  t.after(() => {
    api.close();
  });
  return api;
}

function openTestStore(t: TestContext, dir: string): Store {
  const store = openStore(dir);
  t.after(() => {
    store.close();
  });
  return store;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('without an API', () => {
  test('the feedback table is the destination; agent is truncated, nothing else changed', async (t) => {
    const store = openTestStore(t, tempDir(t));
    const logger = new CaptureLogger();
    const service = createFeedbackService({ store, logger, now: () => 1_700_000_000_000 });
    const result = await service.submit({
      ...submission,
      agent: 'A'.repeat(600),
      details: '<script>alert(1)</script>',
    });
    assert.equal(result.stored, 'feedback');
    const rows = store.listFeedback(10);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.createdAt, 1_700_000_000_000);
    assert.deepEqual(rows[0].payload, {
      rating: 'very-satisfied',
      details: '<script>alert(1)</script>',
      email: SECRET_EMAIL,
      phone: '01234 567890',
      agent: 'A'.repeat(512),
      fromPage: '/cookies',
    });
    assert.deepEqual(store.outboxCounts(), { pending: 0, parked: 0, delivered: 0 });
    assert.equal(await service.deliverDue(), 0);
    service.start();
    await service.stop();
    assert.ok(!logger.text().includes(SECRET_EMAIL));
  });

  test('an empty fromPage is stored as Unknown', async (t) => {
    const store = openTestStore(t, tempDir(t));
    const service = createFeedbackService({ store, logger: new CaptureLogger() });
    await service.submit({ ...submission, fromPage: '' });
    assert.equal((store.listFeedback(1)[0]?.payload as Record<string, string>).fromPage, 'Unknown');
  });
});

describe('with the API', () => {
  test('delivers at once with the live headers and body, and keeps no copy', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    const service = createFeedbackService({ store, api: apiFor(t, fake.port, logger), logger });
    const result = await service.submit(submission, { traceId: 'TRACE123' });
    assert.deepEqual(result, { stored: 'outbox', id: 1, delivered: true });
    assert.equal(fake.deliveries.length, 1);
    const [sent] = fake.deliveries;
    assert.equal(sent?.headers.accept, 'application/json, application/problem+json');
    assert.equal(sent.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(sent.headers['user-agent'], 'LPA-FRONT');
    assert.equal(sent.headers['x-trace-id'], 'TRACE123');
    assert.equal(sent.headers.token, undefined);
    const key = /^"([0-9a-f-]{36})"$/.exec(String(sent.headers['idempotency-key']))?.[1];
    assert.ok(key, 'an Idempotency-Key: a quoted UUID');
    assert.deepEqual(sent.body, {
      rating: 'very-satisfied',
      details: SECRET_DETAILS,
      email: SECRET_EMAIL,
      phone: '01234 567890',
      agent: 'Mozilla/5.0 (test)',
      fromPage: '/cookies',
      idempotencyKey: key,
    });
    const row = store.getOutbox(1);
    assert.equal(row?.kind, OUTBOX_KIND);
    assert.notEqual(row.deliveredAt, null);
    assert.equal(row.payload, null);
    assert.equal(store.listFeedback(10).length, 0);
    assert.ok(!logger.text().includes(SECRET_DETAILS) && !logger.text().includes(SECRET_EMAIL));
  });

  test('API 500, then it recovers: the retry loop delivers, exactly once, nothing lost', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    let failing = true;
    fake.respond = () => (failing ? 500 : 201);
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    const service = createFeedbackService({
      store,
      api: apiFor(t, fake.port, logger),
      logger,
      retry: { pollMs: 20, baseDelayMs: 40, maxDelayMs: 200, leaseMs: 5000 },
    });
    t.after(() => service.stop());
    const result = await service.submit(submission);
    assert.deepEqual(result, { stored: 'outbox', id: 1, delivered: false }, 'the user still gets success');
    assert.equal(store.getOutbox(1)?.lastErrorCode, 'HTTP_500');
    assert.deepEqual(store.outboxCounts(), { pending: 1, parked: 0, delivered: 0 });
    service.start();
    await until(() => fake.deliveries.length >= 3); // the loop keeps trying while the API fails
    failing = false;
    await until(() => store.getOutbox(1)?.deliveredAt !== null);
    await service.stop();
    assert.deepEqual(
      fake.deliveries.map((d) => d.status).filter((s) => s !== 500),
      [201],
      'accepted exactly once, after the failures',
    );
    assert.ok((store.getOutbox(1)?.attempts ?? 0) >= 4);
    assert.deepEqual(fake.deliveries.at(-1)?.body, fake.deliveries[0]?.body, 'the same submission, unchanged');
    assert.ok(logger.lines.some((l) => l.level === 'warn' && l.obj.code === 'HTTP_500'));
    assert.ok(!logger.text().includes(SECRET_DETAILS));
  });

  test('API down, the process stops, then starts again later: delivered from the reopened store', async (t) => {
    const dir = tempDir(t);
    const fake = new FakeApi();
    await fake.start(t);
    fake.respond = () => 503;
    let clock = 1_000_000;
    const logger = new CaptureLogger();
    const first = openStore(dir);
    const before = createFeedbackService({
      store: first,
      api: apiFor(t, fake.port, logger),
      logger,
      now: () => clock,
      random: () => 0.5,
    });
    assert.equal((await before.submit(submission)).stored, 'outbox');
    await before.stop();
    first.close();

    fake.respond = () => 204;
    const second = openTestStore(t, dir);
    const after = createFeedbackService({
      store: second,
      api: apiFor(t, fake.port, logger),
      logger,
      now: () => clock,
      random: () => 0.5,
    });
    assert.equal(await after.deliverDue(), 0, 'not due before its backoff');
    clock += DEFAULT_RETRY.baseDelayMs;
    assert.equal(await after.deliverDue(), 1);
    assert.equal(fake.deliveries.length, 2);
    assert.deepEqual(fake.deliveries[1]?.body, fake.deliveries[0]?.body);
    assert.deepEqual(second.outboxCounts(), { pending: 0, parked: 0, delivered: 1 });
  });

  test('a row whose deliverer died (lease ran out) is delivered by the loop', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    let clock = 5_000;
    // Written and leased, as submit does, but the process "crashed" before trying.
    store.enqueue(
      OUTBOX_KIND,
      { rating: 'satisfied', details: 'x', email: '', phone: '', agent: '', fromPage: 'Unknown' },
      clock,
      clock + DEFAULT_RETRY.leaseMs,
    );
    const service = createFeedbackService({ store, api: apiFor(t, fake.port, logger), logger, now: () => clock });
    assert.equal(await service.deliverDue(), 0);
    clock += DEFAULT_RETRY.leaseMs;
    assert.equal(await service.deliverDue(), 1);
  });

  test('API refuses the content (400): parked, kept, not retried', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    fake.respond = () => 400;
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    let clock = 0;
    const service = createFeedbackService({ store, api: apiFor(t, fake.port, logger), logger, now: () => clock });
    assert.equal((await service.submit(submission)).stored, 'outbox');
    clock += 365 * 24 * 3600_000;
    assert.equal(await service.deliverDue(), 0);
    assert.equal(fake.deliveries.length, 1);
    const row = store.getOutbox(1);
    assert.equal(row?.nextAttemptAt, null);
    assert.equal(row.lastErrorCode, 'HTTP_400');
    assert.deepEqual((row.payload as { payload: Record<string, string> }).payload.details, SECRET_DETAILS);
    assert.ok(logger.lines.some((l) => l.level === 'error'));
  });

  test('after maxAttempts a row is parked, not dropped', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    fake.respond = () => 502;
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    let clock = 0;
    const service = createFeedbackService({
      store,
      api: apiFor(t, fake.port, logger),
      logger,
      now: () => clock,
      retry: { maxAttempts: 3 },
    });
    await service.submit(submission);
    for (let i = 0; i < 5; i++) {
      clock += DEFAULT_RETRY.maxDelayMs;
      await service.deliverDue();
    }
    assert.equal(fake.deliveries.length, 3);
    assert.deepEqual(store.outboxCounts(), { pending: 0, parked: 1, delivered: 0 });
  });

  test('a hanging API does not hold the user: submit returns after waitMs, stop waits for the attempt', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    fake.respond = () => 'hang';
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    const service = createFeedbackService({ store, api: apiFor(t, fake.port, logger, 400), logger, waitMs: 50 });
    const result = await service.submit(submission);
    // The attempt is still in flight when submit answers (no clock reading, which a loaded machine can stretch).
    assert.equal(store.getOutbox(1)?.lastErrorCode, null, 'returned before the API timeout');
    assert.deepEqual(result, { stored: 'outbox', id: 1, delivered: false });
    await service.stop();
    assert.equal(store.getOutbox(1)?.lastErrorCode, 'TIMEOUT');
    assert.deepEqual(store.outboxCounts(), { pending: 1, parked: 0, delivered: 0 });
  });

  test('API unreachable (connection refused): stored, success for the user', async (t) => {
    const fake = new FakeApi();
    await fake.start(t);
    const port = fake.port;
    await fake.stop();
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    const service = createFeedbackService({ store, api: apiFor(t, port, logger), logger });
    const result = await service.submit(submission);
    assert.deepEqual(result, { stored: 'outbox', id: 1, delivered: false });
    assert.equal(store.getOutbox(1)?.lastErrorCode, 'NETWORK');
  });
});

describe('one row, many attempts: the same idempotency key and the same trace (issue 18.6)', () => {
  // The fault: the API commits the feedback but answers after the app's timeout, so the app retries a row
  // the API already has. Each attempt must say it is the same delivery.
  const T = '4bf92f3577b34da6a3ce929d0e0e4736';
  const S = '00f067aa0ba902b7';

  async function committedLate(t: TestContext, tracing?: Tracing) {
    const fake = new FakeApi();
    await fake.start(t);
    let attempt = 0;
    fake.respond = () => (++attempt <= 2 ? 'hang' : 201); // received (committed) each time; answered only the third
    const logger = new CaptureLogger();
    const store = openTestStore(t, tempDir(t));
    const lpaApi = apiClientFor(
      { apiBaseUrl: new URL(`http://127.0.0.1:${String(fake.port)}`), egressAllowPrivate: ['127.0.0.1'] },
      logger,
      300,
      tracing,
    );
    t.after(() => {
      lpaApi.close();
    });
    let clock = 1_000_000;
    const service = createFeedbackService({ store, api: lpaApi, logger, now: () => clock, waitMs: 1000 });
    const submit = () => service.submit(submission, { traceId: 'REQ12345' });
    const first =
      tracing === undefined ? await submit() : await runInTrace({ traceId: T, spanId: S, sampled: true }, submit);
    assert.deepEqual(first, { stored: 'outbox', id: 1, delivered: false });
    assert.equal(store.getOutbox(1)?.lastErrorCode, 'TIMEOUT');
    for (let retry = 0; retry < 2; retry++) {
      clock += DEFAULT_RETRY.maxDelayMs;
      await service.deliverDue(); // outside any request: what the retry loop does
    }
    await service.stop();
    assert.equal(store.getOutbox(1)?.deliveredAt !== null, true);
    assert.equal(fake.deliveries.length, 3, 'the API saw the same feedback three times');
    return fake.deliveries;
  }

  test(
    'a row from before keys existed is sent with a key made from its id; a row with a bad key ' + 'is parked',
    async (t) => {
      const fake = new FakeApi();
      await fake.start(t);
      const logger = new CaptureLogger();
      const store = openTestStore(t, tempDir(t));
      const payload = { rating: 'satisfied', details: 'x', email: '', phone: '', agent: '', fromPage: 'Unknown' };
      store.enqueue(OUTBOX_KIND, payload, 0);
      store.enqueue(OUTBOX_KIND, { v: 2, key: 'bad"key\r\nX-Evil: 1', payload }, 0);
      const service = createFeedbackService({ store, api: apiFor(t, fake.port, logger), logger, now: () => 1 });
      assert.equal(await service.deliverDue(), 1);
      assert.deepEqual(
        fake.deliveries.map((d) => d.headers['idempotency-key']),
        ['"lpa-front-outbox-1"'],
      );
      assert.deepEqual([store.getOutbox(2)?.lastErrorCode, store.getOutbox(2)?.nextAttemptAt], ['BAD_PAYLOAD', null]);
    },
  );

  test('tracing off: the same Idempotency-Key header, body key and X-Trace-Id on every attempt', async (t) => {
    const deliveries = await committedLate(t);
    const keys = deliveries.map((d) => d.headers['idempotency-key']);
    assert.match(String(keys[0]), /^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/);
    assert.deepEqual(new Set(keys).size, 1, JSON.stringify(keys));
    assert.deepEqual(
      deliveries.map((d) => (d.body as { idempotencyKey?: string }).idempotencyKey),
      Array<string>(3).fill(String(keys[0]).slice(1, -1)),
    );
    assert.deepEqual(
      deliveries.map((d) => d.headers['x-trace-id']),
      ['REQ12345', 'REQ12345', 'REQ12345'],
    );
  });

  test("tracing on: every attempt continues the submitting request's trace, recorded as it was", async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    // Ratio 0: only a parent's own decision can make these spans recorded, so the stored one must be followed.
    const tracing = createTracing(
      {
        otelEnabled: true,
        otelEndpoint: new URL(receiver.origin),
        otelSampleRatio: 0,
        otelAwsXray: false,
        trustedProxies: [],
        egressAllowPrivate: ['127.0.0.1'],
      },
      new CaptureLogger(),
    );
    const deliveries = await committedLate(t, tracing);
    await tracing.shutdown();
    assert.equal(new Set(deliveries.map((d) => d.headers['idempotency-key'])).size, 1);
    for (const d of deliveries) {
      const [version, traceId, , flags] = String(d.headers.traceparent).split('-');
      assert.deepEqual([version, traceId, flags], ['00', T, '01']);
      assert.ok(String(d.headers['x-trace-id']).startsWith(`Root=1-${T.slice(0, 8)}-${T.slice(8)};Parent=`));
      assert.ok(String(d.headers['x-trace-id']).endsWith(';Sampled=1'));
    }
    assert.equal(receiver.spans.length, 3);
    assert.deepEqual(
      receiver.spans.map((s) => [s.traceId, s.parentSpanId, s.name]),
      Array(3).fill([T, S, 'POST /user-feedback']),
    );
  });
});
