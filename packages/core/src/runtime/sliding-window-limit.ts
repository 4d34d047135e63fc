/**
 * Admits at most `max` events in any span of `windowMs` (an exact sliding
 * window, so no burst of 2 × max across a fixed-window boundary).
 *
 * It remembers the times of the last `max` admitted events in a ring: a new
 * event is admitted when the oldest of them has left the window. O(1) per
 * event; memory grows with the events actually admitted, up to `max` numbers.
 * A refused event is not counted.
 */
export class SlidingWindowLimit {
  readonly max: number;
  readonly windowMs: number;
  readonly #now: () => number;
  // Times of the last `max` admitted events; once full, #head is the oldest.
  readonly #times: number[] = [];
  #head = 0;

  /**
   * @param max events admitted per window (≥ 1).
   * @param windowMs length of the window in ms (> 0).
   * @param now a monotonic clock in ms.
   */
  constructor(max: number, windowMs: number, now: () => number = () => performance.now()) {
    this.max = max;
    this.windowMs = windowMs;
    this.#now = now;
  }

  /** Admits one event now and returns true, or returns false when `max` were admitted within the last `windowMs`. */
  tryAcquire(): boolean {
    const now = this.#now();
    if (this.#times.length < this.max) {
      this.#times.push(now);
      return true;
    }
    if (now - (this.#times[this.#head] as number) < this.windowMs) return false;
    this.#times[this.#head] = now;
    this.#head = (this.#head + 1) % this.max;
    return true;
  }
}
