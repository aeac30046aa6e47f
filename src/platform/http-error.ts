/** An error that maps to an HTTP status; its message is for the log only, never shown to users. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, logMessage: string) {
    super(logMessage);
    this.name = 'HttpError';
    this.statusCode = statusCode;
  }
}

export function httpError(statusCode: number, logMessage: string): HttpError {
  return new HttpError(statusCode, logMessage);
}
