import { Backoff } from '@tributary/core';

/** After a failed commit, the next try waits this long (growing ×2 up to 5 s) even if nothing new completes. */
const RETRY = { initialMs: 100, maxMs: 5_000, multiplier: 2, jitter: 'none', maxAttempts: Infinity } as const;

/**
 * Coalesces commits: a request commits at most `intervalMs` later; while a
 * commit is in flight, further requests fold into one more commit after it.
 * So commits never overlap (an older commit can never land after a newer
 * one) and a busy consumer commits about once per interval, not per record.
 * A failed commit is tried again with backoff, also when no further record
 * completes (an idle partition would otherwise keep a stale commit).
 */
export class CommitScheduler {
  readonly #intervalMs: number;
  readonly #commit: () => Promise<boolean>;
  readonly #retry = new Backoff(RETRY);
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<boolean> | undefined;
  #again = false;
  #closed = false;

  /** @param commit resolves false when the commit failed (it reports its own errors); must not reject. */
  constructor(intervalMs: number, commit: () => Promise<boolean>) {
    this.#intervalMs = intervalMs;
    this.#commit = commit;
  }

  /** Something became committable: commit soon. */
  request(): void {
    this.#schedule(this.#intervalMs);
  }

  /** Commits now (after any commit in flight) and resolves when done. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight !== undefined) await this.#inFlight;
    this.#again = false;
    await this.#run();
  }

  /** No more commits start; a pending timer is cleared. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    if (this.#inFlight !== undefined) {
      this.#again = true;
      return;
    }
    this.#timer ??= setTimeout(this.#fire, delayMs);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    void this.#run();
  };

  async #run(): Promise<void> {
    const run = this.#commit();
    this.#inFlight = run;
    let ok = true;
    try {
      ok = await run;
    } finally {
      this.#inFlight = undefined;
      if (ok) this.#failures = 0;
      if (this.#again) {
        this.#again = false;
        this.request();
      } else if (!ok) {
        this.#schedule(this.#retry.delayFor(++this.#failures));
      }
    }
  }
}
