/**
 * The one backoff implementation of Tributary: exponential delays with
 * jitter, an attempt budget, an abortable sleep and a retry loop. The consumer
 * runtime, the retry middleware and the higher packages all reuse it, so a
 * retry policy means the same thing everywhere.
 */
import { ConfigCheck, freezeOptions } from './config';
import { RetriesExhaustedError, TributaryError, errorMessage, isPermanentError } from './errors';

/**
 * Largest delay a timer can wait for: Node fires `setTimeout` at once for
 * anything above 2^31-1 ms (about 24.8 days), so longer delays are refused.
 */
export const MAX_DELAY_MS = 2_147_483_647;

/** How a delay is randomised (see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). */
export type BackoffJitter = 'full' | 'equal' | 'none';

/**
 * A retry policy: delays grow from `initialMs` by `multiplier` per retry up
 * to `maxMs`, then `jitter` randomises them. Every field is optional.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `initialMs` | 100 | cap of the delay before the first retry |
 * | `maxMs` | 30 000 | largest delay (≥ `initialMs`, ≤ {@link MAX_DELAY_MS}) |
 * | `multiplier` | 2 | growth per retry (≥ 1) |
 * | `jitter` | `'full'` | `'full'`: uniform in [0, d); `'equal'`: d/2 + uniform in [0, d/2); `'none'`: d |
 * | `maxAttempts` | 3 | total attempts including the first (so 2 retries); `Infinity` retries forever |
 */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly multiplier?: number;
  /**
   * Full jitter is the default: it spreads retries of many clients that failed
   * together (a broker restart) over the whole window, which AWS measured as
   * the least total work for the same completion time.
   */
  readonly jitter?: BackoffJitter;
  readonly maxAttempts?: number;
}

/** The defaults, frozen (see {@link BackoffOptions}). */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: 100,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 'full',
  maxAttempts: 3,
});

const JITTERS: readonly BackoffJitter[] = ['full', 'equal', 'none'];

/**
 * A validated, frozen retry policy.
 *
 * Attempts are counted from 1: attempt 1 is the first call, and the delay
 * before retry `n` (which is attempt `n + 1`) is `delayFor(n)`.
 */
export class Backoff {
  readonly options: Readonly<Required<BackoffOptions>>;
  readonly #random: () => number;

  /**
   * @param options validated once: every bad field is reported in one ConfigError.
   * @param random source of randomness in [0, 1) for jitter; inject a constant for deterministic tests.
   * @throws ConfigError (ERR_CONFIG) naming every invalid field.
   */
  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    const check = new ConfigCheck('backoff');
    const resolved = checkBackoffOptions(check, options);
    check.fn(random, 'random', false).throwIfInvalid();
    this.options = freezeOptions(resolved);
    this.#random = random;
    Object.freeze(this);
  }

  /**
   * Delay in whole milliseconds before retry number `attempt` (1 for the first
   * retry): `min(maxMs, initialMs × multiplier^(attempt-1))`, then jittered.
   *
   * @throws RangeError when `attempt` is not an integer ≥ 1 (a caller bug, never retried).
   */
  delayFor(attempt: number): number {
    if (!Number.isInteger(attempt) || attempt < 1) {
      throw new RangeError(`Backoff.delayFor: attempt must be an integer ≥ 1 (got ${attempt})`);
    }
    const { initialMs, maxMs, multiplier, jitter } = this.options;
    // Overflows to Infinity for large attempts, which min() caps.
    const cap = Math.min(maxMs, initialMs * multiplier ** (attempt - 1));
    const r = Math.min(Math.max(this.#random(), 0), 1);
    let delay: number;
    switch (jitter) {
      case 'full':
        delay = cap * r;
        break;
      case 'equal':
        delay = cap / 2 + (cap / 2) * r;
        break;
      case 'none':
        delay = cap;
        break;
    }
    return Math.min(Math.floor(delay), Math.floor(maxMs));
  }

  /** True when another attempt is allowed after `attemptsMade` attempts (the first call included). */
  canRetry(attemptsMade: number): boolean {
    return attemptsMade < this.options.maxAttempts;
  }
}

/** Applies the defaults to `options` and records every invalid field in `check`. */
function checkBackoffOptions(check: ConfigCheck, options: BackoffOptions): Required<BackoffOptions> {
  // Only the policy's own fields: callers may pass a wider object (retry options, consumer options).
  const o: Required<BackoffOptions> = {
    initialMs: options.initialMs ?? DEFAULT_BACKOFF.initialMs,
    maxMs: options.maxMs ?? DEFAULT_BACKOFF.maxMs,
    multiplier: options.multiplier ?? DEFAULT_BACKOFF.multiplier,
    jitter: options.jitter ?? DEFAULT_BACKOFF.jitter,
    maxAttempts: options.maxAttempts ?? DEFAULT_BACKOFF.maxAttempts,
  };
  check
    .number(o.initialMs, 'initialMs', 0, MAX_DELAY_MS)
    .number(o.maxMs, 'maxMs', 0, MAX_DELAY_MS)
    .number(o.multiplier, 'multiplier', 1)
    .oneOf(o.jitter, 'jitter', JITTERS)
    .check(
      o.maxAttempts === Infinity || (Number.isInteger(o.maxAttempts) && o.maxAttempts >= 1),
      'maxAttempts',
      `must be an integer ≥ 1 or Infinity (got ${String(o.maxAttempts)})`,
    );
  if (Number.isFinite(o.initialMs) && Number.isFinite(o.maxMs)) {
    check.check(o.maxMs >= o.initialMs, 'maxMs', `must be ≥ initialMs (${o.initialMs}) (got ${o.maxMs})`);
  }
  return o;
}

/** The ERR_ABORTED error for an aborted signal; `cause` is `signal.reason`. */
export function abortedError(signal: AbortSignal): TributaryError {
  return new TributaryError('ERR_ABORTED', `aborted: ${errorMessage(signal.reason)}`, { cause: signal.reason });
}

/**
 * Resolves after `ms` milliseconds. Rejects with ERR_ABORTED (cause =
 * `signal.reason`) at once if `signal` is already aborted, or as soon as it
 * aborts — the timer is cleared then, so an aborted sleep keeps nothing alive.
 * Rejects with a RangeError when `ms` is not in [0, {@link MAX_DELAY_MS}].
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!(ms >= 0 && ms <= MAX_DELAY_MS)) {
    return Promise.reject(new RangeError(`sleep: ms must be between 0 and ${MAX_DELAY_MS} (got ${ms})`));
  }
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options of {@link retryWithBackoff}: a policy plus the loop's hooks. */
export interface RetryWithBackoffOptions extends BackoffOptions {
  /** Aborting stops the loop at once (also mid-attempt and mid-delay) with ERR_ABORTED. */
  readonly signal?: AbortSignal;
  /**
   * Whether a failure of attempt `attempt` is worth another try. Default:
   * `!isPermanentError(err)` — programmer errors, unrecoverable errors and
   * non-retriable TributaryErrors are not retried; anything else is.
   */
  readonly shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each delay with the failure, the attempt that failed and the delay that follows. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Randomness for jitter, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

const defaultShouldRetry = (err: unknown): boolean => !isPermanentError(err);

/**
 * Calls `fn` until it resolves, retrying failures with backoff.
 *
 * - Resolves with the first successful result.
 * - A failure `shouldRetry` rejects is rethrown unchanged.
 * - When `maxAttempts` attempts have failed, rejects with a
 *   RetriesExhaustedError whose `cause` is the last failure (and which is
 *   itself permanent, so an outer retry loop does not multiply this one).
 * - When `signal` aborts, rejects with ERR_ABORTED (cause = `signal.reason`)
 *   at once: during a delay, and during an attempt too — `fn` gets the signal
 *   and should stop its work, but the loop does not wait for it.
 *
 * @param fn called with the attempt number (1 for the first call) and the signal.
 * @throws ConfigError when the options are invalid (before `fn` is called).
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number, signal?: AbortSignal) => Promise<T>,
  options: RetryWithBackoffOptions = {},
): Promise<T> {
  const { signal, shouldRetry = defaultShouldRetry, onRetry, random = Math.random, ...policy } = options;
  const check = new ConfigCheck('retryWithBackoff');
  checkBackoffOptions(check, policy);
  check
    .fn(fn, 'fn', false)
    .fn(shouldRetry, 'shouldRetry')
    .fn(onRetry, 'onRetry')
    .fn(random, 'random')
    .check(signal === undefined || signal instanceof AbortSignal, 'signal', 'must be an AbortSignal')
    .throwIfInvalid();
  const backoff = new Backoff(policy, random);

  for (let attempt = 1; ; attempt++) {
    try {
      return await runAttempt(fn, attempt, signal);
    } catch (err) {
      if (signal?.aborted) throw abortedError(signal);
      if (!shouldRetry(err, attempt)) throw err;
      if (!backoff.canRetry(attempt)) throw new RetriesExhaustedError(attempt, err);
      const delayMs = backoff.delayFor(attempt);
      onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, signal);
    }
  }
}

/** One call of `fn`, settled early with ERR_ABORTED when `signal` aborts first. */
function runAttempt<T>(
  fn: (attempt: number, signal?: AbortSignal) => Promise<T>,
  attempt: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return new Promise<T>((resolve) => resolve(fn(attempt)));
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    // The executor form turns a synchronous throw of `fn` into a rejection.
    new Promise<T>((r) => r(fn(attempt, signal))).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // fn's failure is passed on unchanged, whatever was thrown.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(err);
      },
    );
  });
}
