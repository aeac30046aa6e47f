/**
 * The LPA API client. Every call goes through egress (the only outbound HTTP: allowed origin only, no
 * private addresses unless configured, bounded time and size, no redirects), with the headers the PHP
 * front sends: JSON in and out, `User-Agent: LPA-FRONT`, the user's `Token` when there is one, and a trace
 * header. With tracing on (docs/adr/0026) each call is a client span and carries `traceparent` and
 * `X-Trace-Id: Root=…;Parent=…;Sampled=…` (the form the API's nginx logs); with it off, `X-Trace-Id` is the
 * request id, so one id still follows a submission through both logs.
 *
 * `call()` is generic so sign-in and later features reuse it; it returns any HTTP status as it is and throws
 * only EgressError (transport). Feature methods (`postFeedback`) turn unexpected statuses into ApiError.
 */
import type { Egress, EgressLogger, EgressResponse } from './egress.ts';
import { createEgress, privateHostsFor } from './egress.ts';

export const API_USER_AGENT = 'LPA-FRONT';

/**
 * What the client needs of tracing (platform/trace-context.ts's `Tracing` has it): run a call inside a client span
 * with the headers to send. Declared here so backends import nothing of platform (ADR 0029).
 */
export interface OutboundTracer {
  outbound<T>(
    name: string,
    parent: string | undefined,
    fn: (headers: Record<string, string>) => Promise<T>,
  ): Promise<T>;
}

export interface ApiCallOptions {
  readonly json?: unknown;
  /** The signed-in user's API token. */
  readonly token?: string;
  /** A token the call is about rather than made with (`CheckedToken`, the API's /v2/session-* calls). */
  readonly checkedToken?: string;
  /** The request id of the page request that caused this call. */
  readonly traceId?: string;
  /** A stored traceparent to continue (a retried delivery); default: the current span. */
  readonly parentTrace?: string;
  /** Sent as `Idempotency-Key` (docs/adr/0027). */
  readonly idempotencyKey?: string;
}

/** How a feedback delivery is identified and traced, the same on every attempt (docs/adr/0027). */
export interface FeedbackDeliveryOptions {
  readonly traceId?: string;
  readonly parentTrace?: string;
  /** The outbox row's key: the header `Idempotency-Key` and the body's `idempotencyKey`. */
  readonly idempotencyKey?: string;
}

/** The body of POST /user-feedback, as the live front sends it. */
export interface FeedbackPayload {
  readonly rating: string;
  readonly details: string;
  readonly email: string;
  readonly phone: string;
  readonly agent: string;
  readonly fromPage: string;
}

/** The API answered with a status the caller did not expect. `code` is `HTTP_<status>`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = `HTTP_${String(status)}`;
  }

  /** A failure that retrying will not fix (the API refused the content), as opposed to an outage. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 425 && this.status !== 429;
  }
}

export interface ApiClient {
  readonly baseUrl: URL;
  call(method: string, path: string, options?: ApiCallOptions): Promise<EgressResponse>;
  /** Resolves when the API accepted the feedback (2xx); ApiError or EgressError otherwise. */
  postFeedback(payload: FeedbackPayload, options?: FeedbackDeliveryOptions): Promise<void>;
  /** Resolves when the API's /ping answers 2xx. */
  ping(): Promise<void>;
  close(): void;
}

export interface ApiClientOptions {
  /** e.g. https://api.example/ or https://api.example/v2 (calls are relative to its path). */
  readonly baseUrl: URL | string;
  readonly egress: Egress;
  /** Request tracing when OTEL_ENABLED is true. */
  readonly tracing?: OutboundTracer | undefined;
}

// Header values must not be able to add headers or lines; ids and tokens here are plain ASCII.
const HEADER_VALUE = /^[\x21-\x7e]{1,4096}$/;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9-]{8,64}$/;
const PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;

/** The path as a span name: no query, and ids (user ids are 32 hex digits) replaced, so names stay few. */
function spanPath(path: string): string {
  return (path.split('?')[0] ?? '').replace(/\/[0-9a-f]{16,}(?=\/|$)/gi, '/{id}');
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = new URL(options.baseUrl);
  const prefix = baseUrl.pathname.replace(/\/+$/, '');
  const { egress, tracing } = options;

  function urlFor(path: string): URL {
    if (!PATH.test(path) || path.split(/[/?]/).includes('..'))
      throw new Error(`api-client: not a valid API path: ${path}`);
    return new URL(prefix + path, baseUrl.origin);
  }

  async function call(method: string, path: string, callOptions: ApiCallOptions = {}): Promise<EgressResponse> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'user-agent': API_USER_AGENT,
    };
    if (callOptions.json !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    if (callOptions.traceId !== undefined && HEADER_VALUE.test(callOptions.traceId))
      headers['x-trace-id'] = callOptions.traceId;
    if (callOptions.token !== undefined) {
      if (!HEADER_VALUE.test(callOptions.token))
        throw new Error('api-client: token has characters a header cannot carry');
      headers.token = callOptions.token;
    }
    if (callOptions.checkedToken !== undefined) {
      if (!HEADER_VALUE.test(callOptions.checkedToken))
        throw new Error('api-client: token has characters a header cannot carry');
      headers.checkedtoken = callOptions.checkedToken;
    }
    if (callOptions.idempotencyKey !== undefined) {
      if (!IDEMPOTENCY_KEY.test(callOptions.idempotencyKey)) throw new Error('api-client: not a valid idempotency key');
      // A structured-field string, as draft-ietf-httpapi-idempotency-key-header writes it.
      headers['idempotency-key'] = `"${callOptions.idempotencyKey}"`;
    }
    const url = urlFor(path);
    const send = (extra: Record<string, string>): Promise<EgressResponse> =>
      egress.request(url, {
        method,
        headers: { ...headers, ...extra },
        ...(callOptions.json === undefined ? {} : { json: callOptions.json }),
      });
    if (tracing === undefined) return send({});
    return tracing.outbound(`${method} ${spanPath(path)}`, callOptions.parentTrace, send);
  }

  return {
    baseUrl,
    call,
    async postFeedback(payload, postOptions = {}) {
      const { idempotencyKey } = postOptions;
      const res = await call('POST', '/user-feedback', {
        // The key in the body too, for an API that reads it there (today's drops fields it does not know).
        json: idempotencyKey === undefined ? payload : { ...payload, idempotencyKey },
        ...postOptions,
      });
      if (res.status < 200 || res.status > 299)
        throw new ApiError(res.status, `POST /user-feedback answered ${String(res.status)}`);
    },
    async ping() {
      const res = await call('GET', '/ping');
      if (res.status < 200 || res.status > 299)
        throw new ApiError(res.status, `GET /ping answered ${String(res.status)}`);
    },
    close: () => {
      egress.close();
    },
  };
}

export interface ApiClientConfig {
  readonly apiBaseUrl: URL;
  /** EGRESS_ALLOW_PRIVATE: only the API's own host is taken from it. */
  readonly egressAllowPrivate: readonly string[];
}

/** The client for the configured API, with its own egress limited to the API's origin. */
export function apiClientFor(
  config: ApiClientConfig,
  logger: EgressLogger,
  timeoutMs = 10_000,
  tracing?: OutboundTracer,
): ApiClient {
  const egress = createEgress({
    allowedOrigins: [config.apiBaseUrl.origin],
    allowPrivateFor: privateHostsFor(config.egressAllowPrivate, config.apiBaseUrl),
    timeoutMs,
    maxResponseBytes: 1024 * 1024,
    logger,
  });
  return createApiClient({ baseUrl: config.apiBaseUrl, egress, tracing });
}
