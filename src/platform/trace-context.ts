/**
 * Request tracing, the part that is always loaded: trace header parsing and formatting, the trusted-peer check and
 * the current trace (AsyncLocalStorage). Nothing here imports @opentelemetry; tracing-loader.ts imports the SDK
 * (tracing.ts) only when OTEL_ENABLED is true, so with tracing off it is never loaded (docs/adr/0026;
 * test/integration/tracing-off.integration.test.ts checks the module graph).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import net from 'node:net';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';

/** A trace position: 32 hex trace id, 16 hex span id, and whether it is recorded. */
export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

/** What an incoming header asks to join: a trace, and the caller's span when it names one. */
export interface IncomingTrace {
  readonly traceId: string;
  readonly parentId: string | undefined;
}

/** The tracing module's contract (tracing.ts); the rest of the app sees only this. */
export interface Tracing {
  /** Fastify plugin: one server span per request, joined to a trusted incoming trace header. */
  readonly plugin: FastifyPluginAsync;
  /**
   * Runs `fn` inside a client span, giving it the headers to send (`traceparent` and `X-Trace-Id`). The span's
   * parent is `parent` (a stored traceparent: a retried delivery) or else the current span.
   */
  outbound<T>(
    name: string,
    parent: string | undefined,
    fn: (headers: Record<string, string>) => Promise<T>,
  ): Promise<T>;
  /** Sends the spans still queued and stops exporting. */
  shutdown(): Promise<void>;
}

export interface TracingConfig {
  readonly otelEnabled: boolean;
  readonly otelEndpoint: URL | undefined;
  readonly otelSampleRatio: number;
  readonly otelAwsXray: boolean;
  readonly trustedProxies: readonly string[];
  readonly egressAllowPrivate: readonly string[];
}

/** The part of a pino Logger tracing uses (exporter failures). */
export interface TracingLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

// ---------------------------------------------------------------------------------------------------------
// The current trace

const current = new AsyncLocalStorage<TraceIds>();
const byRequest = new WeakMap<FastifyRequest, TraceIds>();

/** Runs `fn` with `ids` as the current trace (tracing.ts; everything `fn` starts sees it). */
export function runInTrace<T>(ids: TraceIds, fn: () => T): T {
  return current.run(ids, fn);
}

/** Records the request's server span, for lines written after its async context is gone (the access line). */
export function setRequestTrace(request: FastifyRequest, ids: TraceIds): void {
  byRequest.set(request, ids);
}

export function requestTrace(request: FastifyRequest): TraceIds | undefined {
  return byRequest.get(request);
}

export function currentTrace(): TraceIds | undefined {
  return current.getStore();
}

/** The current position as a traceparent, to be stored and resumed later (feedback outbox), or undefined. */
export function currentTraceparent(): string | undefined {
  const ids = current.getStore();
  return ids === undefined ? undefined : formatTraceparent(ids);
}

/** pino `mixin`: the trace and span id on every line written inside a trace (set only when tracing is on). */
export function traceLogMixin(): Record<string, string> {
  const ids = current.getStore();
  return ids === undefined ? {} : { traceId: ids.traceId, spanId: ids.spanId };
}

// ---------------------------------------------------------------------------------------------------------
// Header formats

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
// W3C Trace Context level 1: version 00 exactly (we never guess at a future version's layout), lowercase hex.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const XRAY_ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** A W3C traceparent, or undefined when it is not exactly valid (all-zero ids included). */
export function parseTraceparent(
  value: string | undefined,
): { readonly traceId: string; readonly parentId: string; readonly sampled: boolean } | undefined {
  if (value?.length !== 55) return undefined;
  const m = TRACEPARENT.exec(value);
  if (m === null) return undefined;
  const [, traceId = '', parentId = '', flags = '00'] = m;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/**
 * An AWS X-Ray header (`X-Amzn-Trace-Id` from a load balancer, or the `X-Trace-Id` the API receives):
 * `Root=1-<8 hex>-<24 hex>` with an optional `Parent=<16 hex>`; other fields (Self, Sampled, Lineage) are
 * ignored. Undefined unless Root is exactly valid, a field repeats, or the header is implausibly long.
 */
export function parseXrayHeader(value: string | undefined): IncomingTrace | undefined {
  if (value === undefined || value.length > 256) return undefined;
  let root: string | undefined;
  let parent: string | undefined;
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) return undefined;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 'Root') {
      if (root !== undefined) return undefined;
      root = val;
    } else if (key === 'Parent') {
      if (parent !== undefined || !SPAN_ID.test(val) || val === ZERO_SPAN) return undefined;
      parent = val;
    }
  }
  const m = root === undefined ? null : XRAY_ROOT.exec(root);
  if (m === null) return undefined;
  const traceId = `${m[1] ?? ''}${m[2] ?? ''}`;
  if (traceId === ZERO_TRACE) return undefined;
  return { traceId, parentId: parent };
}

export function formatTraceparent(ids: TraceIds): string {
  return `00-${ids.traceId}-${ids.spanId}-${ids.sampled ? '01' : '00'}`;
}

/** The `X-Trace-Id` the LPA API's nginx logs (its map wants `Root=`), in the PHP front's exact layout. */
export function formatXTraceId(ids: TraceIds): string {
  return `Root=1-${ids.traceId.slice(0, 8)}-${ids.traceId.slice(8)};Parent=${ids.spanId};Sampled=${ids.sampled ? '1' : '0'}`;
}

/** Both outgoing headers for a client span. */
export function traceHeaders(ids: TraceIds): Record<string, string> {
  return { traceparent: formatTraceparent(ids), 'x-trace-id': formatXTraceId(ids) };
}

// ---------------------------------------------------------------------------------------------------------
// Trust

/**
 * Whether a direct peer is one of TRUSTED_PROXIES (addresses or CIDR ranges, as config checked them). Only the
 * socket's own address counts: a header that arrived from anywhere else is ignored, whatever X-Forwarded-For says.
 */
export function trustedPeerCheck(proxies: readonly string[]): (address: string | undefined) => boolean {
  if (proxies.length === 0) return () => false;
  const list = new net.BlockList();
  for (const item of proxies) {
    const [addr = '', bits] = item.split('/');
    const type = net.isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return (address) => {
    if (address === undefined) return false;
    const family = net.isIP(address);
    if (family === 0) return false;
    return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** The trace an incoming request asks to join: traceparent first, then X-Amzn-Trace-Id; only from a trusted peer. */
export function incomingTrace(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  peerIsTrusted: boolean,
): IncomingTrace | undefined {
  if (!peerIsTrusted) return undefined;
  const single = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  const w3c = parseTraceparent(single(headers.traceparent));
  if (w3c !== undefined) return { traceId: w3c.traceId, parentId: w3c.parentId };
  return parseXrayHeader(single(headers['x-amzn-trace-id']));
}
