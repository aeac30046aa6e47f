/**
 * Sends finished spans to an OpenTelemetry collector as OTLP/HTTP JSON (POST <endpoint>/v1/traces), through
 * egress like every other outbound call (docs/adr/0010): only the configured collector's origin, its address
 * checked (loopback or private only when listed in EGRESS_ALLOW_PRIVATE), bounded in time and size. Loaded only
 * with tracing on (docs/adr/0026). The encoding is the OTLP JSON mapping: hex ids, nanosecond strings, kinds
 * and status codes as numbers. https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 */
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Egress } from './egress.ts';
import { createEgress, privateHostsFor } from './egress.ts';

/** Where export failures go (the app's pino logger fits); declared here so backends import nothing of platform. */
export interface ExporterLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface OtlpExporterOptions {
  /** The collector's base URL, e.g. http://127.0.0.1:4318 (spans go to /v1/traces under it). */
  readonly endpoint: URL;
  /** EGRESS_ALLOW_PRIVATE: only the collector's own host is taken from it. */
  readonly allowPrivate: readonly string[];
  readonly serviceName: string;
  readonly logger: ExporterLogger;
  /** For tests: an egress of their own. */
  readonly egress?: Egress;
  readonly timeoutMs?: number;
}

type OtlpValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpValue[] } };

function value(v: AttributeValue): OtlpValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return {
    arrayValue: { values: v.filter((x) => x !== null && x !== undefined).map((x) => value(x as AttributeValue)) },
  };
}

function attributes(attrs: Attributes): { key: string; value: OtlpValue }[] {
  const out: { key: string; value: OtlpValue }[] = [];
  for (const [key, v] of Object.entries(attrs)) if (v !== undefined) out.push({ key, value: value(v) });
  return out;
}

function nanos(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

/** The OTLP JSON body for one batch (one resource, one scope: everything here is lpa-front's own). */
export function encodeSpans(spans: readonly ReadableSpan[], serviceName: string): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': serviceName }) },
        scopeSpans: [
          {
            scope: { name: 'lpa-front' },
            spans: spans.map((s) => {
              const sc = s.spanContext();
              return {
                traceId: sc.traceId,
                spanId: sc.spanId,
                ...(s.parentSpanContext === undefined ? {} : { parentSpanId: s.parentSpanContext.spanId }),
                name: s.name,
                kind: s.kind + 1, // the API counts from INTERNAL = 0, OTLP from UNSPECIFIED = 0
                startTimeUnixNano: nanos(s.startTime),
                endTimeUnixNano: nanos(s.endTime),
                attributes: attributes(s.attributes),
                status: { code: s.status.code },
              };
            }),
          },
        ],
      },
    ],
  };
}

export function createOtlpExporter(options: OtlpExporterOptions): SpanExporter {
  const url = new URL(
    'v1/traces',
    options.endpoint.href.endsWith('/') ? options.endpoint : `${options.endpoint.href}/`,
  );
  const egress =
    options.egress ??
    createEgress({
      allowedOrigins: [options.endpoint.origin],
      allowPrivateFor: privateHostsFor(options.allowPrivate, options.endpoint),
      timeoutMs: options.timeoutMs ?? 10_000,
      maxResponseBytes: 64 * 1024,
      logger: options.logger,
    });
  const { logger } = options;
  const pending = new Set<Promise<void>>();

  async function send(spans: ReadableSpan[]): Promise<ExportResult> {
    try {
      const res = await egress.request(url, { method: 'POST', json: encodeSpans(spans, options.serviceName) });
      if (res.status >= 200 && res.status < 300) return { code: ExportResultCode.SUCCESS };
      logger.warn({ status: res.status, spans: spans.length }, 'trace export refused by the collector');
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      logger.warn(
        { error: typeof code === 'string' ? code : 'UNEXPECTED', spans: spans.length },
        'trace export failed',
      );
    }
    return { code: ExportResultCode.FAILED };
  }

  return {
    export(spans, resultCallback) {
      const p = send(spans).then(resultCallback);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async forceFlush() {
      await Promise.allSettled([...pending]);
    },
    async shutdown() {
      await Promise.allSettled([...pending]);
      if (options.egress === undefined) egress.close();
    },
  };
}
