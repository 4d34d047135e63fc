/**
 * Tracks the records of one partition from delivery to completion and answers
 * the one question a commit needs: up to where is *everything* done?
 *
 * Records may complete in any order (key-sharded workers finish out of
 * order); the committable offset only ever covers the contiguous processed
 * prefix, so a commit never skips an unprocessed record.
 *
 * Offsets must be tracked in increasing order (as a partition delivers them);
 * gaps between offsets (compaction, transaction markers) are fine.
 */
export class OffsetTracker {
  // Ring of tracked offsets in delivery order, with a parallel done flag.
  #offsets: number[] = [];
  #done: boolean[] = [];
  #head = 0;
  // Done records at or after #head.
  #doneCount = 0;
  #next: number | undefined;
  #last: number | undefined;

  /**
   * @param committed the partition's committed offset when tracking starts
   *   (the next offset to read), if known.
   */
  constructor(committed?: number) {
    this.#next = committed;
  }

  /** Starts tracking a delivered record. */
  track(offset: number): void {
    if (this.#last !== undefined && offset <= this.#last) {
      throw new RangeError(`offsets must be tracked in increasing order: ${offset} after ${this.#last}`);
    }
    this.#last = offset;
    this.#offsets.push(offset);
    this.#done.push(false);
  }

  /** Marks a tracked record done. Unknown or already-done offsets are ignored. */
  complete(offset: number): void {
    const index = this.#indexOf(offset);
    if (index < 0 || this.#done[index]) return;
    this.#done[index] = true;
    this.#doneCount++;
    this.#advance();
  }

  /** Records tracked and not yet done. */
  get pending(): number {
    return this.#offsets.length - this.#head - this.#doneCount;
  }

  /**
   * The offset to commit (next to read) so that every record below it is
   * done, or undefined when nothing has completed since tracking began.
   */
  committable(): number | undefined {
    return this.#next;
  }

  /** Lowest tracked offset not yet done, if any. */
  lowestPending(): number | undefined {
    return this.#head < this.#offsets.length ? this.#offsets[this.#head] : undefined;
  }

  /** Forgets everything (after a seek or revocation); the next track starts afresh. */
  reset(committed?: number): void {
    this.#offsets = [];
    this.#done = [];
    this.#head = 0;
    this.#doneCount = 0;
    this.#next = committed;
    this.#last = undefined;
  }

  #advance(): void {
    while (this.#head < this.#offsets.length && this.#done[this.#head]) {
      this.#next = (this.#offsets[this.#head] as number) + 1;
      this.#head++;
      this.#doneCount--;
    }
    // Compact once the consumed prefix dominates, keeping operations amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#offsets.length) {
      this.#offsets = this.#offsets.slice(this.#head);
      this.#done = this.#done.slice(this.#head);
      this.#head = 0;
    }
  }

  #indexOf(offset: number): number {
    // Offsets are increasing: binary search the live window.
    let lo = this.#head;
    let hi = this.#offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.#offsets[mid] as number;
      if (value === offset) return mid;
      if (value < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
