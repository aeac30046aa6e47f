/** An error that maps to an HTTP status; its message is for the log only, never shown to users. */
export class HttpError extends Error {
  readonly statusCode: number;
  /** Response headers the error page must carry (e.g. Retry-After); never taken from request data. */
  readonly headers: Readonly<Record<string, string>>;
  constructor(statusCode: number, logMessage: string, headers: Readonly<Record<string, string>> = {}) {
    super(logMessage);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

export function httpError(statusCode: number, logMessage: string): HttpError {
  return new HttpError(statusCode, logMessage);
}

/** Seconds a client is told to wait after a 503: long enough for a Redis failover or restart (ADR 0021). */
export const STORE_RETRY_AFTER_SECONDS = 10;

/**
 * A store the request needs cannot be reached in time (down, hung, failing over): 503 with Retry-After and the
 * service's "try again later" page. Any caller that needs shared state may throw it; the message is for the log.
 */
export class StoreUnavailableError extends HttpError {
  constructor(logMessage: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(503, logMessage, { 'retry-after': String(options.retryAfterSeconds ?? STORE_RETRY_AFTER_SECONDS) });
    this.name = 'StoreUnavailableError';
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
