/**
 * Loopback stand-ins for tracing tests: an OTLP/HTTP JSON receiver (what a collector's otlphttp receiver
 * accepts at /v1/traces), and a recording HTTP server for the LPA API. Both on 127.0.0.1, a free port each.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Recorder {
  readonly origin: string;
  readonly port: number;
  readonly requests: Recorded[];
  close(): Promise<void>;
}

/** A server that records every request and answers with `answer` (default 204). */
export async function startRecorder(
  answer: (r: Recorded) => { status: number; body?: string } = () => ({ status: 204 }),
): Promise<Recorder> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(r);
      const { status, body } = answer(r);
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    origin: `http://127.0.0.1:${String(address.port)}`,
    port: address.port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** One span as the receiver decoded it from OTLP JSON. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly service: unknown;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpBody {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: (Omit<ReceivedSpan, 'attributes' | 'service'> & { attributes?: OtlpAttribute[] })[] }[];
  }[];
}

function attributeMap(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = Object.values(a.value)[0];
  return out;
}

/** A receiver that decodes every export (content-type application/json only) into `spans`. */
export async function startOtlpReceiver(): Promise<Recorder & { readonly spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const recorder = await startRecorder((r) => {
    if (r.method !== 'POST' || r.path !== '/v1/traces' || r.headers['content-type'] !== 'application/json')
      return { status: 415 };
    const body = JSON.parse(r.body) as OtlpBody;
    for (const rs of body.resourceSpans ?? []) {
      const service = attributeMap(rs.resource?.attributes)['service.name'];
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) spans.push({ ...s, attributes: attributeMap(s.attributes), service });
      }
    }
    return { status: 200, body: '{}' };
  });
  return Object.assign(recorder, { spans });
}
