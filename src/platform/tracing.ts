/**
 * Request tracing with the OpenTelemetry SDK, loaded only when OTEL_ENABLED is true (tracing-loader.ts
 * `loadTracing`; docs/adr/0026). Spans are made by hand at the two places that matter, not by monkey-patching
 * node:http: one server span per request (the Fastify plugin below) and one client span per LPA API call
 * (`outbound`, used by api-client.ts). Spans go to an OTLP/HTTP collector through egress (otlp-exporter.ts).
 *
 * Sampling: a span whose parent is ours (a request's own span, or a feedback row's stored trace) follows the
 * parent. Anything else, including a trusted proxy's header, is sampled at OTEL_SAMPLE_RATIO by a random draw:
 * the sampled flag of an incoming header is never obeyed, and the draw does not depend on the trace id, which a
 * client may choose, so no client can make the service record (and export) its requests.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createContextKey, trace } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  RandomIdGenerator,
  SamplingDecision,
} from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { createOtlpExporter } from '../backends/otlp-exporter.ts';
import type { TraceIds, Tracing, TracingConfig, TracingLogger } from './trace-context.ts';
import {
  currentTrace,
  incomingTrace,
  parseTraceparent,
  runInTrace,
  setRequestTrace,
  traceHeaders,
  trustedPeerCheck,
} from './trace-context.ts';
import { loggablePath } from '../paths.ts';

/** Marks a remote parent that is our own stored span (a retried delivery), whose sampled flag we set ourselves. */
const OWN_PARENT = createContextKey('lpa-front own stored parent');

export class LpaSampler implements Sampler {
  readonly #ratio: number;
  readonly #random: () => number;

  constructor(ratio: number, random: () => number = Math.random) {
    this.#ratio = ratio;
    this.#random = random;
  }

  shouldSample(context: Context): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent !== undefined && (!parent.isRemote || context.getValue(OWN_PARENT) === true)) {
      return {
        decision: (parent.traceFlags & 1) === 1 ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD,
      };
    }
    return {
      decision: this.#random() < this.#ratio ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD,
    };
  }

  toString(): string {
    return `LpaSampler{ratio=${String(this.#ratio)}}`;
  }
}

function idsOf(span: Span): TraceIds {
  const sc = span.spanContext();
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
}

/** A context whose span is `ids` (local: our own span in this process). */
function localContext(ids: TraceIds): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: ids.traceId,
    spanId: ids.spanId,
    traceFlags: ids.sampled ? 1 : 0,
    isRemote: false,
  });
}

export interface TracingOptions {
  /** How often queued spans are sent (ms). */
  readonly exportDelayMs?: number;
  readonly random?: () => number;
}

export function createTracing(config: TracingConfig, logger: TracingLogger, options: TracingOptions = {}): Tracing {
  if (config.otelEndpoint === undefined) throw new Error('tracing: OTEL_EXPORTER_OTLP_ENDPOINT is required');
  const base: IdGenerator = config.otelAwsXray ? new AWSXRayIdGenerator() : new RandomIdGenerator();
  // A load balancer's X-Amzn-Trace-Id names a trace but no parent span: the request's span then starts that
  // trace (a root span with the given id), set here for the one synchronous startSpan call.
  let givenTraceId: string | undefined;
  const idGenerator: IdGenerator = {
    generateTraceId: () => givenTraceId ?? base.generateTraceId(),
    generateSpanId: () => base.generateSpanId(),
  };
  const exporter = createOtlpExporter({
    endpoint: config.otelEndpoint,
    allowPrivate: config.egressAllowPrivate,
    serviceName: 'lpa-front',
    logger,
  });
  const provider = new BasicTracerProvider({
    sampler: new LpaSampler(config.otelSampleRatio, options.random),
    idGenerator,
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs ?? 5000, maxQueueSize: 2048 }),
    ],
  });
  const tracer = provider.getTracer('lpa-front');
  const isTrusted = trustedPeerCheck(config.trustedProxies);
  const serverSpans = new WeakMap<FastifyRequest, Span>();

  function endServerSpan(request: FastifyRequest, status: number | undefined): void {
    const span = serverSpans.get(request);
    if (span === undefined) return;
    serverSpans.delete(request);
    if (status === undefined) span.setAttribute('lpa.aborted', true);
    else span.setAttribute('http.response.status_code', status);
    if (status === undefined || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  async function tracingPlugin(app: FastifyInstance): Promise<void> {
    app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const joined = incomingTrace(request.headers, isTrusted(request.socket.remoteAddress));
      const parent =
        joined?.parentId === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: joined.traceId,
              spanId: joined.parentId,
              traceFlags: 0,
              isRemote: true,
            });
      const route = request.routeOptions.url;
      givenTraceId = joined !== undefined && joined.parentId === undefined ? joined.traceId : undefined;
      let span: Span;
      try {
        span = tracer.startSpan(
          `${request.method} ${route ?? 'unmatched'}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'http.request.method': request.method,
              'url.path': loggablePath(request.url),
              ...(route === undefined ? {} : { 'http.route': route }),
              'lpa.request_id': request.id,
            },
          },
          parent,
        );
      } finally {
        givenTraceId = undefined;
      }
      serverSpans.set(request, span);
      const ids = idsOf(span);
      setRequestTrace(request, ids);
      // The rest of the request (hooks, handler, the API calls it makes) runs with this span current.
      runInTrace(ids, done);
    });
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      endServerSpan(request, reply.statusCode);
      done();
    });
    app.addHook('onRequestAbort', (request: FastifyRequest, done: HookHandlerDoneFunction) => {
      endServerSpan(request, undefined);
      done();
    });
  }

  return {
    plugin: fp(tracingPlugin, { name: 'lpa-tracing' }),

    async outbound(name, storedParent, fn) {
      const stored = parseTraceparent(storedParent);
      const now = currentTrace();
      let parent: Context = ROOT_CONTEXT;
      if (stored !== undefined) {
        parent = trace.setSpanContext(ROOT_CONTEXT.setValue(OWN_PARENT, true), {
          traceId: stored.traceId,
          spanId: stored.parentId,
          traceFlags: stored.sampled ? 1 : 0,
          isRemote: true,
        });
      } else if (now !== undefined) {
        parent = localContext(now);
      }
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT }, parent);
      const ids = idsOf(span);
      try {
        const result = await runInTrace(ids, () => fn(traceHeaders(ids)));
        const status = (result as { status?: unknown } | null)?.status;
        if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
        return result;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        const code = (err as { code?: unknown } | null)?.code;
        span.setAttribute('error.type', typeof code === 'string' ? code : 'UNEXPECTED');
        throw err;
      } finally {
        span.end();
      }
    },

    async shutdown() {
      // A collector that is down must not fail the drain: the exporter has logged it already.
      await provider.shutdown().catch(() => undefined);
    },
  };
}
