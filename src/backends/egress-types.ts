// What egress.ts offers its callers: the options, the request and response shapes, and its one error type.

export type EgressErrorCode =
  'ORIGIN_NOT_ALLOWED' | 'ADDRESS_NOT_ALLOWED' | 'TIMEOUT' | 'TOO_LARGE' | 'NETWORK' | 'REDIRECT_REFUSED';

export class EgressError extends Error {
  readonly code: EgressErrorCode;

  constructor(code: EgressErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EgressError';
    this.code = code;
  }
}

/** The part of a pino Logger that egress uses. */
export interface EgressLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
}

export interface EgressOptions {
  /** Origins requests may go to, e.g. 'https://api.example.gov.uk' (scheme, host and port; no path). */
  allowedOrigins: readonly string[];
  /**
   * Hosts (as written in allowedOrigins) that may resolve to loopback, private (RFC 1918), unique-local or
   * CGNAT addresses: an API inside the VPC, or 127.0.0.1 in tests. Link-local (cloud metadata),
   * unspecified, multicast and reserved addresses stay refused even for these.
   */
  allowPrivateFor?: readonly string[];
  /** Bound on the whole request: DNS, connect, sending, and reading the response body. */
  timeoutMs: number;
  /** Bound on establishing the TCP connection; defaults to timeoutMs. */
  connectTimeoutMs?: number;
  /** Responses whose body is larger are aborted with TOO_LARGE. */
  maxResponseBytes: number;
  logger: EgressLogger;
  /** Resolves a host name to its addresses (DNS); injectable for tests. Default: dns.lookup, all addresses. */
  resolve?: (host: string) => Promise<string[]>;
  /** Extra trusted CA certificates (PEM) for https origins, e.g. a private CA. Default: Node's bundle. */
  ca?: string | Buffer | (string | Buffer)[];
}

export interface EgressRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Serialised as the body, with content-type application/json unless a content-type header is given. */
  json?: unknown;
  /** How many same-origin redirects to follow (default 0: any 3xx is returned as it is). */
  followRedirects?: number;
}

export interface EgressResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** JSON.parse of the body, typed as the caller expects (validate it: the type is not checked). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
  json<T>(): T;
}

export interface Egress {
  request(url: string | URL, init?: EgressRequestInit): Promise<EgressResponse>;
  /** Closes the keep-alive connections. */
  close(): void;
}
