/**
 * The one error of every shared-state store (ADR 0021): the store a request needs cannot be reached in time (down,
 * hung, failing over). The platform's error handler answers it with 503, Retry-After and the service's "try again
 * later" page. It lives with the stores, which import nothing of the app (ADR 0029); the message is for the log.
 */

/** Seconds a client is told to wait after a 503: long enough for a Redis failover or restart (ADR 0021). */
export const STORE_RETRY_AFTER_SECONDS = 10;

export class StoreUnavailableError extends Error {
  readonly statusCode = 503;
  /** Response headers the error page carries (Retry-After); never taken from request data. */
  readonly headers: Readonly<Record<string, string>>;
  constructor(logMessage: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(logMessage);
    this.name = 'StoreUnavailableError';
    this.headers = { 'retry-after': String(options.retryAfterSeconds ?? STORE_RETRY_AFTER_SECONDS) };
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
