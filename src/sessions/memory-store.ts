import type { LoadedSession, SessionBase, SessionChanges, SessionData, SessionStore } from './session-store.ts';
import { DELETE } from './session-store.ts';

interface Entry {
  data: SessionData;
  expiresAt: number;
}

/**
 * In-process session store: the embedded default when no Redis is configured, and the store most unit
 * and integration tests use. Expired entries are swept lazily and by a bounded periodic sweep; at
 * `maxEntries` the oldest sessions are evicted.
 * `structuredClone` keeps callers from sharing mutable objects with the store.
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#sweeper = setInterval(() => {
      this.sweep();
    }, 60_000);
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  load(id: string): Promise<SessionData | null> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return Promise.resolve(null);
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return Promise.resolve(null);
    }
    return Promise.resolve(structuredClone(entry.data));
  }

  async loadAndSlide(id: string, ttlSeconds: number): Promise<LoadedSession> {
    const data = await this.load(id);
    const entry = this.#entries.get(id);
    if (data !== null && entry !== undefined) entry.expiresAt = this.#now() + ttlSeconds * 1000;
    return { data, slid: true };
  }

  commit(id: string, changes: SessionChanges, ttlSeconds: number, base?: SessionBase): Promise<boolean> {
    let entry = this.#entries.get(id);
    // An existing session that has gone since it was loaded (destroyed, expired) is not re-created (ADR 0021).
    if (base === undefined && (entry === undefined || entry.expiresAt <= this.#now())) return Promise.resolve(false);
    const source = base === undefined || base === 'new' ? undefined : this.#entries.get(base.copyFrom);
    if (source !== undefined && source.expiresAt > this.#now() && entry === undefined) {
      entry = { data: structuredClone(source.data), expiresAt: source.expiresAt };
      this.#entries.set(id, entry);
    }
    if (entry === undefined || entry.expiresAt <= this.#now()) {
      if (this.#entries.size >= this.#maxEntries) this.sweep();
      // Still full: drop the oldest sessions (Map order is creation order) rather than refuse new visitors,
      // so a flood of anonymous form views cannot stop the site working. Production shares sessions in Redis.
      if (this.#entries.size >= this.#maxEntries) this.evictOldest(Math.max(1, Math.floor(this.#maxEntries / 100)));
      entry = { data: new Map(), expiresAt: 0 };
      this.#entries.set(id, entry);
    }
    for (const [key, value] of changes) {
      if (value === DELETE) entry.data.delete(key);
      else entry.data.set(key, structuredClone(value));
    }
    entry.expiresAt = this.#now() + ttlSeconds * 1000;
    return Promise.resolve(true);
  }

  touch(id: string, ttlSeconds: number): Promise<void> {
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.expiresAt > this.#now()) entry.expiresAt = this.#now() + ttlSeconds * 1000;
    return Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.#entries.delete(id);
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#entries.clear();
    return Promise.resolve();
  }

  evictOldest(count: number): void {
    let left = count;
    for (const id of this.#entries.keys()) {
      if (left-- <= 0) break;
      this.#entries.delete(id);
    }
  }

  sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id);
  }
}
