/**
 * A time bound on Redis commands without a timer per command (ADR 0021, amended in session 10).
 *
 * ioredis's own `commandTimeout` arms a `setTimeout` for every command and, when clearing it, `delete`s a property,
 * which turns every command object into a slow dictionary: about 3.5 µs of CPU per command here, more than a signed-in
 * page's session read costs otherwise (bench/NOTES.md). Every bound here has the same length, so deadlines are due in
 * the order they were made: one queue, and one sweep timer while anything is pending. A call not settled by its
 * deadline is rejected with `CommandTimeoutError`; the command itself is left to finish or fail, and its late answer is
 * ignored, as with ioredis's timeout.
 */

/** A Redis call that outlasted its bound (a hung server, or a network that drops packets). */
export class CommandTimeoutError extends Error {
  constructor(ms: number) {
    super(`Command timed out after ${String(ms)} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/** Resolves or rejects as `pending` does, or rejects with CommandTimeoutError once the bound has passed. */
export type Bound = <T>(pending: Promise<T>) => Promise<T>;

interface Entry {
  readonly due: number;
  readonly reject: (err: Error) => void;
  settled: boolean;
}

export class CommandDeadlines {
  readonly #ms: number;
  readonly #sweepMs: number;
  readonly #now: () => number;
  #queue: Entry[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `ms`: the bound; a call is rejected between `ms` and `ms` plus one sweep (a tenth of it, at most 100 ms) late. */
  constructor(ms: number, options: { now?: () => number } = {}) {
    if (!Number.isFinite(ms) || ms <= 0) throw new Error('a command bound must be a positive number of ms');
    this.#ms = ms;
    this.#sweepMs = Math.max(1, Math.min(100, Math.floor(ms / 10)));
    this.#now = options.now ?? performance.now.bind(performance);
  }

  readonly bound: Bound = <T>(pending: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const entry: Entry = { due: this.#now() + this.#ms, reject, settled: false };
      this.#queue.push(entry);
      if (this.#timer === undefined) {
        this.#timer = setInterval(this.#sweep, this.#sweepMs);
        this.#timer.unref();
      }
      pending.then(
        (value) => {
          entry.settled = true;
          resolve(value);
        },
        (err: unknown) => {
          entry.settled = true;
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });

  /** Calls waiting for an answer or their deadline (tests). */
  get pending(): number {
    let n = 0;
    for (let i = this.#head; i < this.#queue.length; i++) if (this.#queue[i]?.settled === false) n++;
    return n;
  }

  readonly #sweep = (): void => {
    const now = this.#now();
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head];
      if (entry === undefined) break;
      if (!entry.settled) {
        if (entry.due > now) break;
        entry.settled = true;
        entry.reject(new CommandTimeoutError(this.#ms));
      }
      this.#head++;
    }
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.close();
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  };

  /** Stops the sweep timer (the next bound starts it again). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** For a client that bounds its own commands (ioredis's `commandTimeout`), or none is wanted (tests). */
export const unbounded: Bound = (pending) => pending;
