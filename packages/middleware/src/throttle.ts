/**
 * Throttle middleware: at most `perSecond` calls of the chain inside per
 * second, with a token bucket.
 */
import { ConfigCheck, MAX_DELAY_MS, abortedError, type HandlerMiddleware } from '@tributary/core';

export interface ThrottleOptions {
  /** Calls allowed per second (> 0; fractions allowed: 0.5 is one call every 2 s). */
  readonly perSecond: number;
  /**
   * Calls that may go at once after a quiet spell (the bucket's size).
   * Default 1: calls are evenly spaced and no second sees more than
   * `perSecond` + 1 of them.
   */
  readonly burst?: number;
  /** Clock in ms. Default `performance.now` (monotonic). */
  readonly now?: () => number;
}

/**
 * Limits the rate of calls: a call takes a token from the bucket, which
 * refills at `perSecond` and holds at most `burst`; without a token the call
 * waits for its turn (first come, first served, across every consumer and
 * partition sharing this middleware instance).
 *
 * The wait ends early with ERR_ABORTED when `ctx.stopping` (or `ctx.signal`) aborts (the record
 * is not acknowledged and is delivered again), leaving its place in line to
 * the next call. Tokens never pile up beyond `burst`, not even while the
 * event loop was busy, so a stall does not release a crowd at once.
 *
 * Placed inside withRetry, retries take tokens too — right when the limit
 * protects a downstream service from calls.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withThrottle(options: ThrottleOptions): HandlerMiddleware {
  const o = (options ?? {}) as Partial<ThrottleOptions>;
  const burst = o.burst ?? 1;
  new ConfigCheck('withThrottle')
    .check(typeof o.perSecond === 'number' && Number.isFinite(o.perSecond) && o.perSecond > 0, 'perSecond', `must be a number > 0 (got ${String(o.perSecond)})`)
    .integer(burst, 'burst', 1)
    .fn(o.now, 'now')
    .throwIfInvalid();
  const bucket = new TokenBucket((o.perSecond as number) / 1000, burst, o.now ?? (() => performance.now()));
  return (next) => async (message, ctx) => {
    await bucket.take(ctx.stopping ?? ctx.signal);
    await next(message, ctx);
  };
}

interface Waiter {
  readonly resolve: () => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * Tokens refill continuously and never beyond `burst`, also while the event
 * loop was busy: waiters are released one token at a time from a FIFO queue
 * by a single timer, so a stall never releases a pile of them at once.
 */
class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;
  readonly #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(perMs: number, burst: number, now: () => number) {
    this.#perMs = perMs;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#updatedAt = now();
  }

  /** Resolves when a token is taken; rejects with ERR_ABORTED (leaving the queue) when `signal` aborts first. */
  take(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortedError(signal));
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          if (this.#queue.length === 0) this.#stopTimer();
          reject(abortedError(signal));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#schedule();
    });
  }

  #refill(): void {
    const t = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (t - this.#updatedAt) * this.#perMs);
    this.#updatedAt = t;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    this.#refill();
    const waitMs = Math.max(0, Math.ceil((1 - this.#tokens) / this.#perMs));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      while (this.#queue.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        const waiter = this.#queue.shift() as Waiter;
        waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
      this.#schedule();
    }, Math.min(waitMs, MAX_DELAY_MS));
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
