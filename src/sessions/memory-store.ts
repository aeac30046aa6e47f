import type { LoadedSession, SessionBase, SessionChanges, SessionData, SessionStore } from './session-store.ts';
import { DELETE } from './session-store.ts';
import { ExpiringMap } from './expiring-map.ts';

interface Entry {
  data: SessionData;
  expiresAt: number;
}

/**
 * In-process session store: the embedded default when no Redis is configured, and the store most unit
 * and integration tests use. Expired entries are swept lazily and each minute; at `maxEntries` the oldest
 * sessions are evicted (expiring-map.ts).
 * `structuredClone` keeps callers from sharing mutable objects with the store.
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #entries: ExpiringMap<Entry>;
  readonly #now: () => number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    const maxEntries = options.maxEntries ?? 100_000;
    // Still full after a sweep: drop the oldest sessions (1% at a time) rather than refuse new visitors, so a flood
    // of anonymous form views cannot stop the site working. Production shares sessions in Redis.
    this.#entries = new ExpiringMap({
      now: this.#now,
      maxEntries,
      expiresAt: (entry) => entry.expiresAt,
      evictBatch: Math.max(1, Math.floor(maxEntries / 100)),
    });
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
      this.#entries.add(id, entry);
    }
    if (entry === undefined || entry.expiresAt <= this.#now()) {
      entry = { data: new Map(), expiresAt: 0 };
      this.#entries.add(id, entry);
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
    this.#entries.close();
    return Promise.resolve();
  }

  sweep(): void {
    this.#entries.sweep();
  }
}
