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

/**
 * A response's headers, read-only, as the WHATWG `Headers` reads them (names in any case; a repeated header's values
 * joined with ", "; Set-Cookie one by one). Not `Headers` itself: making one loads Node's fetch implementation
 * (undici), about 13 MiB of a worker's memory for nothing else (docs/adr/0032).
 */
export class EgressHeaders {
  readonly #values = new Map<string, string[]>();

  /** From Node's `rawHeaders` (name, value, name, value, ...). */
  constructor(raw: readonly string[]) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] ?? '').toLowerCase();
      const value = (raw[i + 1] ?? '').trim();
      const list = this.#values.get(name);
      if (list === undefined) this.#values.set(name, [value]);
      else list.push(value);
    }
  }

  get(name: string): string | null {
    return this.#values.get(name.toLowerCase())?.join(', ') ?? null;
  }

  has(name: string): boolean {
    return this.#values.has(name.toLowerCase());
  }

  getSetCookie(): string[] {
    return [...(this.#values.get('set-cookie') ?? [])];
  }
}

export interface EgressResponse {
  status: number;
  headers: EgressHeaders;
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
