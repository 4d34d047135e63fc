/**
 * Counts outcomes over a sliding time window (split into buckets, so memory
 * stays fixed however many records pass): how many, and how many of them
 * were "hits" (failures for the circuit breaker, dead-letters for the rate
 * guard). Counts older than the window fall out a bucket at a time.
 */
export class RatioWindow {
  readonly #bucketMs: number;
  readonly #now: () => number;
  readonly #epochs: number[];
  readonly #totals: number[];
  readonly #hits: number[];

  /**
   * @param windowMs length of the window (> 0).
   * @param now clock in ms.
   * @param buckets resolution: the window slides in steps of windowMs / buckets.
   */
  constructor(windowMs: number, now: () => number, buckets = 10) {
    this.#bucketMs = windowMs / buckets;
    this.#now = now;
    this.#epochs = new Array<number>(buckets).fill(-Infinity);
    this.#totals = new Array<number>(buckets).fill(0);
    this.#hits = new Array<number>(buckets).fill(0);
  }

  /** Counts one outcome now. */
  add(hit: boolean): void {
    const epoch = Math.floor(this.#now() / this.#bucketMs);
    const i = epoch % this.#epochs.length;
    if (this.#epochs[i] !== epoch) {
      this.#epochs[i] = epoch;
      this.#totals[i] = 0;
      this.#hits[i] = 0;
    }
    this.#totals[i] = (this.#totals[i] as number) + 1;
    if (hit) this.#hits[i] = (this.#hits[i] as number) + 1;
  }

  /** Outcomes counted within the window. */
  counts(): { total: number; hits: number } {
    const epoch = Math.floor(this.#now() / this.#bucketMs);
    let total = 0;
    let hits = 0;
    for (let i = 0; i < this.#epochs.length; i++) {
      if (epoch - (this.#epochs[i] as number) < this.#epochs.length) {
        total += this.#totals[i] as number;
        hits += this.#hits[i] as number;
      }
    }
    return { total, hits };
  }

  /** Forgets every outcome. */
  reset(): void {
    this.#epochs.fill(-Infinity);
    this.#totals.fill(0);
    this.#hits.fill(0);
  }
}
