/**
 * How a key chooses its shard.
 *
 * - `'hash'`: `fnv1a(key) mod shardCount`, fixed for the life of the
 *   consumer (the Go package's behaviour). Load follows the key
 *   distribution: with few distinct keys some shards get several busy keys
 *   while others idle.
 * - `'balanced'` (default): a key with no record in flight is bound to the
 *   least-loaded shard; it stays bound while any of its records is in
 *   flight, so its records still run one at a time, in order. Spreads a small
 *   key set evenly over the shards.
 */
export type ShardRouting = 'balanced' | 'hash';

/** 32-bit FNV-1a of the UTF-16 code units of `key` (fast, stable across runs). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Binding {
  readonly shard: number;
  inFlight: number;
}

/**
 * Maps keys to shard indexes. Every `route(key)` must be matched by exactly
 * one `release(key)` once that record is finished (done, dead-lettered or
 * dropped): the balanced strategy keeps a key on its shard until then.
 */
export class ShardRouter {
  readonly shardCount: number;
  readonly routing: ShardRouting;
  readonly #load: (shard: number) => number;
  readonly #bindings = new Map<string, Binding>();
  #cursor = 0;

  /** @param load current load of a shard (records queued or running there); read by the balanced strategy. */
  constructor(shardCount: number, routing: ShardRouting, load: (shard: number) => number) {
    this.shardCount = shardCount;
    this.routing = routing;
    this.#load = load;
  }

  /** The shard for the next record of `key`. */
  route(key: string): number {
    if (this.routing === 'hash') return hashKey(key) % this.shardCount;
    const bound = this.#bindings.get(key);
    if (bound !== undefined) {
      bound.inFlight++;
      return bound.shard;
    }
    const shard = this.#leastLoaded();
    this.#bindings.set(key, { shard, inFlight: 1 });
    return shard;
  }

  /** One record of `key` routed earlier is finished. */
  release(key: string): void {
    if (this.routing === 'hash') return;
    const bound = this.#bindings.get(key);
    if (bound === undefined) return;
    if (--bound.inFlight <= 0) this.#bindings.delete(key);
  }

  /** Keys with records in flight (balanced strategy; 0 for hash). */
  get boundKeys(): number {
    return this.#bindings.size;
  }

  #leastLoaded(): number {
    // Scan from a rotating start so ties do not always favour shard 0.
    const n = this.shardCount;
    const start = this.#cursor;
    this.#cursor = (start + 1) % n;
    let best = start;
    let bestLoad = this.#load(start);
    for (let i = 1; i < n && bestLoad > 0; i++) {
      const shard = (start + i) % n;
      const load = this.#load(shard);
      if (load < bestLoad) {
        best = shard;
        bestLoad = load;
      }
    }
    return best;
  }
}
