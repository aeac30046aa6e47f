/**
 * Per-route request time limits (issue 23, docs/adr/0052). Node's `requestTimeout` is one number for the whole
 * server, and an upload over a slow line needs minutes where a form needs seconds. So Node's limit is set to the
 * longest one (the upload's, plus slack, as a backstop) and this wrapper applies REQUEST_TIMEOUT_MS to every other
 * request, from the moment its head is parsed (the head itself is bounded by Node's `headersTimeout`).
 *
 * Upload routes have their own time and minimum-rate limits, checked while the body streams (multipart.ts). A reply
 * sent on one before its body is all read (refused, redirected to sign in) closes the connection, so a sender that
 * keeps trickling after the answer does not hold its socket until the backstop.
 *
 * Each request is also recorded with its own deadline while it is in flight (`InFlight`): the shutdown drain waits
 * for each one up to that deadline, an upload's being UPLOAD_TIMEOUT_MS (docs/adr/0060).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RequestDeadlineOptions {
  /** REQUEST_TIMEOUT_MS: the whole body of any other request must have arrived within this. */
  readonly requestTimeoutMs: number;
  /** True for a request whose route enforces its own limits (the upload routes, UPLOAD_PATHS). */
  readonly ownLimits: (method: string, path: string) => boolean;
  /** UPLOAD_TIMEOUT_MS: the longest such a route lets its body take (it answers by then), for `inFlight`. */
  readonly ownLimitMs: number;
  /** Where requests are recorded, with their deadlines, until their response is done. */
  readonly inFlight: InFlight;
  /** Answers 408 as Node would (the app's clientError handler), then the socket is closed. */
  readonly onTimeout: (socket: Socket) => void;
}

/** Time allowed after a route's own deadline for its answer to go out (a 408, the upload's error page, a scan). */
export const ANSWER_SLACK_MS = 5000;

/** Node's server-wide requestTimeout: the longest limit of any route, plus slack so the route answers first. */
export function serverRequestTimeoutMs(requestTimeoutMs: number, uploadTimeoutMs: number): number {
  return Math.max(requestTimeoutMs, uploadTimeoutMs + ANSWER_SLACK_MS);
}

/**
 * The requests whose response is not done yet, and the time (performance.now()) by which the last of them must be.
 * A request with its own limit (an upload) is kept with its deadline; any other is only counted, with the latest
 * deadline of those: they all have the same limit, so the last to arrive has the latest. (A Map entry per request
 * doubled the CPU of a static page: bench/results/s10-ab-inflight-static.md.)
 */
export class InFlight {
  readonly #own = new Map<ServerResponse, number>();
  #others = 0;
  #latestOther = -Infinity;
  readonly #otherDone = (): void => {
    this.#others--;
    if (this.#others === 0) this.#latestOther = -Infinity;
  };

  /** `own`: the request's route has its own limit (kept with its deadline); else counted. */
  add(res: ServerResponse, deadline: number, own: boolean): void {
    if (own) {
      this.#own.set(res, deadline);
      res.once('close', () => this.#own.delete(res)); // finished, or its socket gone
      return;
    }
    this.#others++;
    if (deadline > this.#latestOther) this.#latestOther = deadline;
    res.once('close', this.#otherDone);
  }

  get size(): number {
    return this.#own.size + this.#others;
  }

  /** The latest deadline of any request in flight; -Infinity when there is none. */
  latestDeadline(): number {
    let latest = this.#latestOther; // a loop, not Math.max(...): tens of thousands of slow uploads would overflow it
    for (const deadline of this.#own.values()) if (deadline > latest) latest = deadline;
    return latest;
  }
}

export class RequestTimeoutError extends Error {
  readonly code = 'ERR_HTTP_REQUEST_TIMEOUT';
  constructor() {
    super('Request timeout');
    this.name = 'RequestTimeoutError';
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Whether a body follows the head (RFC 9112 6.3: a request has one only with Content-Length or Transfer-Encoding).
 * A request without one is whole once its head is parsed, so it needs no timer (most requests: every page's GET).
 */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function withRequestDeadline(handler: Handler, options: RequestDeadlineOptions): Handler {
  return (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    const own = options.ownLimits(req.method ?? '', path);
    options.inFlight.add(res, performance.now() + (own ? options.ownLimitMs : options.requestTimeoutMs), own);
    if (own) {
      res.once('finish', () => {
        if (!req.complete) req.socket.destroySoon();
      });
    } else if (hasBody(req)) {
      const socket = req.socket;
      const timer = setTimeout(() => {
        if (req.complete || socket.destroyed) return;
        // As Node's own check: a reply already under way cannot be followed by a 408, so the socket just closes.
        if (res.headersSent && !res.writableFinished) socket.destroy();
        else {
          options.onTimeout(socket);
          socket.destroySoon();
        }
      }, options.requestTimeoutMs);
      const clear = (): void => {
        clearTimeout(timer);
        socket.removeListener('close', clear); // a keep-alive socket carries many requests
      };
      req.once('end', clear);
      socket.once('close', clear);
    }
    handler(req, res);
  };
}
