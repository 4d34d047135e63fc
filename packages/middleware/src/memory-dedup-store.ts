/**
 * The default deduplication store: in process memory, bounded in size (least
 * recently used ids go first) and in time (ids expire `ttlMs` after their
 * commit). As seed 004 warns of its embedded store, it makes the process
 * stateful: a restart forgets every id, and two instances of a service do not
 * share it — use a shared store (Redis, a database) for that.
 */
import { ConfigCheck, freezeOptions } from '@tributary/core';
import type { DedupStore } from './dedup';

export interface MemoryDedupStoreOptions {
  /** Most ids kept (over all groups); the least recently used goes first. Default 100 000. */
  readonly maxEntries?: number;
  /** How long an id is remembered after its commit, in ms. Default 1 hour. */
  readonly ttlMs?: number;
  /** Clock in ms. Default Date.now. */
  readonly now?: () => number;
}

export const MEMORY_DEDUP_STORE_DEFAULTS = Object.freeze({ maxEntries: 100_000, ttlMs: 3_600_000 });

/** A {@link DedupStore} in memory, with a size and a way to forget. */
export interface MemoryDedupStore extends DedupStore {
  isDuplicated(groupId: string, id: string): boolean;
  commit(groupId: string, id: string): void;
  /** Ids currently remembered (expired ones may still count until touched or evicted). */
  readonly size: number;
  /** Forgets every id. */
  clear(): void;
}

/**
 * Creates an in-memory, TTL- and size-bounded {@link DedupStore}. Lookups
 * and commits are O(1) and synchronous.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function memoryDedupStore(options: MemoryDedupStoreOptions = {}): MemoryDedupStore {
  const o = freezeOptions({
    maxEntries: options.maxEntries ?? MEMORY_DEDUP_STORE_DEFAULTS.maxEntries,
    ttlMs: options.ttlMs ?? MEMORY_DEDUP_STORE_DEFAULTS.ttlMs,
    now: options.now ?? Date.now,
  });
  new ConfigCheck('memoryDedupStore')
    .integer(o.maxEntries, 'maxEntries', 1)
    .number(o.ttlMs, 'ttlMs', 1)
    .fn(o.now, 'now', false)
    .throwIfInvalid();
  return new LruTtlStore(o.maxEntries, o.ttlMs, o.now);
}

class LruTtlStore implements MemoryDedupStore {
  // Map iteration order is insertion order: re-inserting on use keeps the
  // least recently used id first, so eviction takes the first entry.
  readonly #expiries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(maxEntries: number, ttlMs: number, now: () => number) {
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#expiries.size;
  }

  isDuplicated(groupId: string, id: string): boolean {
    const key = keyOf(groupId, id);
    const expiry = this.#expiries.get(key);
    if (expiry === undefined) return false;
    this.#expiries.delete(key);
    if (expiry <= this.#now()) return false;
    this.#expiries.set(key, expiry);
    return true;
  }

  commit(groupId: string, id: string): void {
    const key = keyOf(groupId, id);
    this.#expiries.delete(key);
    this.#expiries.set(key, this.#now() + this.#ttlMs);
    while (this.#expiries.size > this.#maxEntries) {
      const oldest = this.#expiries.keys().next();
      if (oldest.done === true) break;
      this.#expiries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#expiries.clear();
  }
}

/** Group and id joined by a character neither contains in practice (NUL), so ("a:b","c") and ("a","b:c") differ. */
function keyOf(groupId: string, id: string): string {
  return `${groupId}\u0000${id}`;
}
