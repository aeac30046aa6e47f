/**
 * The bodies of one pre-rendered page (views.ts `staticView`), reused once they have been written (docs/adr/0016).
 *
 * A page is its constant parts with a value (nonce, CSRF token) between each two. Joining them makes a new
 * 13–40 KB buffer per response, and V8 counts every such buffer against its external-memory limit: at a few
 * hundred MB a second that forced a full mark-compact (7–10 ms, every request waits) several times a second.
 *
 * Instead a body, once its response has finished, goes back to its page's free list; the next response takes it
 * and overwrites only the values, which sit at the same offsets when they have the same lengths (nonces and
 * tokens do). A body is in at most one response at a time: it is taken off the list by one response and put
 * back only by that response's `finish` event, which Node emits after the operating system has taken the last
 * byte. A response that never finishes (the client went away) never gives its body back.
 *
 * Idle bodies are bounded by bytes, not only by count (docs/adr/0032): the pools of one app share a ByteBudget, so
 * more pages or variants of a page (Welsh, consent states) share the same memory rather than each adding 64 bodies.
 * A body that does not fit is left to the garbage collector, as before pooling.
 *
 * Pages whose gaps vary in length (typed answers, the dashboard's content) cannot reuse a body in place: their bodies
 * come from `SizedBodies`, free lists by size class under the same budget (spliced-page.ts, docs/adr/0063).
 */
/** What a body waits on: the response it was sent in (a node:http ServerResponse). */
export interface Finishes {
  once(event: 'finish', listener: () => void): unknown;
}

/** Values spliced in raw must not need escaping: nonces are base64, tokens hex. */
export const SPLICE_SAFE = /^[A-Za-z0-9+/=_-]*$/;

/** The parts with the values between them, in one new buffer (values are ASCII: SPLICE_SAFE). */
export function splice(parts: readonly Buffer[], partBytes: number, values: readonly string[]): Buffer {
  if (values.length !== parts.length - 1) throw new Error('splice: one value goes between each two parts');
  // nothing to splice: the page itself, never written to
  if (values.length === 0 && parts[0] !== undefined) return parts[0];
  let size = partBytes;
  for (const value of values) {
    if (!SPLICE_SAFE.test(value)) throw new Error('splice: a value to splice in would need escaping');
    size += value.length;
  }
  const chunks: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) chunks.push(Buffer.from(values[i - 1] ?? '', 'latin1'));
    chunks.push(part);
  });
  return Buffer.concat(chunks, size);
}

/** Bytes of idle bodies the pools of one app keep between them: room for every current page's in-flight bodies. */
export const POOLED_BODY_BYTES = 8 * 1024 * 1024;

/** A byte allowance shared by several pools: idle bodies take from it, and give back when reused. */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit (true), or nothing (false). */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

export class BodyPool {
  readonly #parts: readonly Buffer[];
  readonly #partBytes: number;
  readonly #max: number;
  readonly #budget: ByteBudget;
  readonly #free: Buffer[] = [];
  /** The value lengths pooled bodies are laid out for (the first response's), and where each value starts. */
  #lengths: readonly number[] | undefined;
  #offsets: readonly number[] = [];

  /** At most `max` idle bodies, and only while `budget` (usually shared by every pool of the app) has room for them. */
  constructor(parts: readonly Buffer[], max = 64, budget: ByteBudget = new ByteBudget(POOLED_BODY_BYTES)) {
    this.#parts = parts;
    this.#partBytes = parts.reduce((n, p) => n + p.length, 0);
    this.#max = max;
    this.#budget = budget;
  }

  /** Bodies waiting to be reused. */
  get free(): number {
    return this.#free.length;
  }

  /** A body with `values` in it, for `res` only: it comes back to the pool when `res` has finished. */
  body(values: readonly string[], res: Finishes): Buffer {
    const lengths = (this.#lengths ??= this.#layout(values));
    if (values.length === 0 || values.some((v, i) => v.length !== lengths[i]))
      return splice(this.#parts, this.#partBytes, values);
    let body = this.#free.pop();
    if (body === undefined) {
      body = splice(this.#parts, this.#partBytes, values);
    } else {
      this.#budget.give(body.length);
      const reused = body;
      this.#offsets.forEach((offset, i) => {
        const value = values[i] ?? '';
        if (!SPLICE_SAFE.test(value)) throw new Error('splice: a value to splice in would need escaping');
        reused.write(value, offset, 'latin1');
      });
    }
    const taken = body;
    res.once('finish', () => {
      if (this.#free.length < this.#max && this.#budget.take(taken.length)) this.#free.push(taken);
    });
    return body;
  }

  #layout(values: readonly string[]): readonly number[] {
    const offsets: number[] = [];
    let at = 0;
    values.forEach((value, i) => {
      at += this.#parts[i]?.length ?? 0;
      offsets.push(at);
      at += value.length;
    });
    this.#offsets = offsets;
    return values.map((v) => v.length);
  }
}

/** The smallest size class of `SizedBodies` (a page is rarely smaller). */
const MIN_SIZED_BODY = 16 * 1024;

/**
 * Bodies for pages whose spliced values vary in length: free lists by size class (powers of two from 16 KiB), each body
 * written whole per response and given back when that response has finished, idle bodies counted against `budget`.
 */
export class SizedBodies {
  readonly #budget: ByteBudget;
  readonly #free = new Map<number, Buffer[]>();

  constructor(budget: ByteBudget) {
    this.#budget = budget;
  }

  /** A body of at least `size` bytes (the caller overwrites them), back to its list when `res` has finished. */
  take(size: number, res: Finishes): Buffer {
    let capacity = MIN_SIZED_BODY;
    while (capacity < size) capacity *= 2;
    let body = this.#free.get(capacity)?.pop();
    if (body === undefined) {
      body = Buffer.alloc(capacity); // zeroed: only on a miss, and never pooled memory
    } else {
      this.#budget.give(body.length);
    }
    const taken = body;
    res.once('finish', () => {
      if (!this.#budget.take(taken.length)) return; // left to the garbage collector
      let list = this.#free.get(taken.length);
      if (list === undefined) {
        list = [];
        this.#free.set(taken.length, list);
      }
      list.push(taken);
    });
    return body;
  }
}
