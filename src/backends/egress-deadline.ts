// One deadline per egress request: DNS, connect, sending and reading the body all race the same clock, and an
// abort carries the EgressError that says why.
import { EgressError } from './egress-types.ts';

export interface Deadline {
  readonly signal: AbortSignal;
  remaining(): number;
  clear(): void;
}

export function startDeadline(timeoutMs: number): Deadline {
  const controller = new AbortController();
  const end = Date.now() + timeoutMs;
  const timer = setTimeout(
    () => controller.abort(new EgressError('TIMEOUT', `request timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  return {
    signal: controller.signal,
    remaining: () => Math.max(0, end - Date.now()),
    clear: () => clearTimeout(timer),
  };
}

export function abortReason(signal: AbortSignal): EgressError {
  const reason: unknown = signal.reason;
  return reason instanceof EgressError ? reason : new EgressError('TIMEOUT', 'request aborted');
}

/** Races a promise against the deadline. */
export function withinDeadline<T>(promise: Promise<T>, deadline: Deadline): Promise<T> {
  if (deadline.signal.aborted) return Promise.reject(abortReason(deadline.signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(deadline.signal));
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        deadline.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        deadline.signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
