/**
 * The bounded map under the in-process stores (sessions, the deny-list, sign-in throttle counters): entries expire,
 * expired ones are swept each minute, and at `maxEntries` a new entry first sweeps, then drops the oldest (Map order:
 * first added), so a flood of new keys costs memory up to the bound and no more, and never refuses one.
 */
export interface ExpiringMapOptions<V> {
  readonly now: () => number;
  readonly maxEntries: number;
  /** When the entry stops counting (epoch ms); read at each sweep, so an entry may slide by changing it in place. */
  readonly expiresAt: (value: V) => number;
  /** How many of the oldest go at once when still full after a sweep. Default 1. */
  readonly evictBatch?: number;
  /**
   * false: when full, drop the oldest at once, without a sweep first (a sweep visits every entry; the throttle, whose
   * keys a flood of source addresses creates, keeps each hit cheap). Default true.
   */
  readonly sweepWhenFull?: boolean;
  /** Told of each entry a sweep or an eviction removes (not of `delete`), to tidy an index kept beside the map. */
  readonly dropped?: (key: string, value: V) => void;
}

export class ExpiringMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #options: ExpiringMapOptions<V>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: ExpiringMapOptions<V>) {
    this.#options = options;
    this.#sweeper = setInterval(() => {
      this.sweep();
    }, 60_000);
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry, expired or not (the caller compares its expiry with the clock it uses). */
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Sets `key` as the newest entry, making room first when the map is full. */
  add(key: string, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#options.maxEntries && this.#options.sweepWhenFull !== false) this.sweep();
    if (this.#entries.size >= this.#options.maxEntries) this.evictOldest(this.#options.evictBatch ?? 1);
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  evictOldest(count: number): void {
    let left = count;
    for (const [key, value] of this.#entries) {
      if (left-- <= 0) break;
      this.#drop(key, value);
    }
  }

  sweep(): void {
    const now = this.#options.now();
    for (const [key, value] of this.#entries) if (this.#options.expiresAt(value) <= now) this.#drop(key, value);
  }

  /** Empties the map and stops its sweeper. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#entries.clear();
  }

  #drop(key: string, value: V): void {
    this.#entries.delete(key);
    this.#options.dropped?.(key, value);
  }
}
