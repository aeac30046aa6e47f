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
