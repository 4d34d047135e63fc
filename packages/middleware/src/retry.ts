/**
 * Retry middleware: calls the rest of the chain again, with exponential
 * backoff and jitter (core's {@link Backoff}), while the failure is worth it.
 */
import {
  Backoff,
  ConfigCheck,
  RetriesExhaustedError,
  abortedError,
  isPermanentError,
  isProgrammerError,
  isUnrecoverableError,
  sleep,
  type BackoffOptions,
  type HandlerMiddleware,
  type Message,
} from '@tributary/core';
import { recordContext } from './record-context';
import { emitRecordEvent, markInsideRetry } from './record-events';

/** What {@link RetryOptions.onRetry} is told before each backoff wait. */
export interface RetryInfo {
  readonly error: unknown;
  /** The attempt that failed (1 for the first call). */
  readonly attempt: number;
  readonly delayMs: number;
  readonly message: Message;
}

/**
 * Options of {@link withRetry}: a backoff policy — core's BackoffOptions
 * with core's defaults (`DEFAULT_BACKOFF`: 3 attempts counting the first,
 * 100 ms → 30 s, ×2, full jitter; `maxAttempts: Infinity` retries forever) —
 * and:
 */
export interface RetryOptions extends BackoffOptions {
  /**
   * Whether a failure is worth another attempt. Default: every error that
   * `isPermanentError` does not call permanent — so an unclassified `Error`
   * is retried (a handler's plain `Error` is usually a dependency having a
   * bad moment), while non-retriable TributaryErrors (decode, validation,
   * exhausted retries) are not. Pass `isRetryableError` from core for the
   * stricter, pattern-based choice.
   *
   * Programmer errors (TypeError, RangeError, SyntaxError, ReferenceError)
   * and unrecoverable errors are never retried, whatever this says.
   */
  readonly retryIf?: (error: unknown, attempt: number) => boolean;
  /** Called before each backoff wait (after the `retry` record event); a throw is logged and ignored. */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Randomness for jitter in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

const defaultRetryIf = (error: unknown): boolean => !isPermanentError(error);

/**
 * Retries the rest of the chain for a record.
 *
 * - A success resolves at once.
 * - A failure that is not worth retrying (see {@link RetryOptions.retryIf})
 *   is rethrown unchanged.
 * - When `maxAttempts` attempts have failed, rejects with a
 *   RetriesExhaustedError (ERR_RETRIES_EXHAUSTED, not retriable, the last
 *   error as `cause`, the record's coordinates as `context`) — which
 *   withDeadLetter further out dead-letters, and which the consumer runtime
 *   does not retry again.
 * - When `ctx.stopping` (or `ctx.signal`) aborts (the consumer begins to stop), the backoff
 *   wait ends at once and the call rejects with ERR_ABORTED: the record is
 *   not acknowledged and is delivered again later.
 *
 * Inside, `ctx.attempt` counts this middleware's attempts (1, 2, …). Every
 * retry is told to outer middleware as a `retry` record event (logged at
 * warn by withLogging, counted by withMetrics, a span event of withTracing).
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withRetry(options: RetryOptions = {}): HandlerMiddleware {
  const { retryIf = defaultRetryIf, onRetry, random = Math.random, ...policy } = options;
  const check = new ConfigCheck('withRetry').fn(retryIf, 'retryIf').fn(onRetry, 'onRetry');
  const backoff = check.nested('', () => new Backoff(policy, random));
  check.throwIfInvalid();
  const policyOf = backoff as Backoff;

  return (next) => async (message, ctx) => {
    for (let attempt = 1; ; attempt++) {
      try {
        // Middleware inside (withDeadLetter) asks whether this failure will be retried.
        const willRetry = (error: unknown): boolean =>
          !(ctx.stopping ?? ctx.signal).aborted &&
          !isProgrammerError(error) &&
          !isUnrecoverableError(error) &&
          retryIf(error, attempt) &&
          policyOf.canRetry(attempt);
        await next(message, markInsideRetry({ ...ctx, attempt }, willRetry));
        return;
      } catch (error) {
        // Backoff is a wait, not work: it ends as soon as the consumer begins to stop.
        const wait = ctx.stopping ?? ctx.signal;
        if (wait.aborted) throw abortedError(wait);
        if (isProgrammerError(error) || isUnrecoverableError(error) || !retryIf(error, attempt)) throw error;
        if (!policyOf.canRetry(attempt)) throw new RetriesExhaustedError(attempt, error, recordContext(message));
        const delayMs = policyOf.delayFor(attempt);
        emitRecordEvent(ctx, message, { type: 'retry', error, attempt, delayMs });
        try {
          onRetry?.({ error, attempt, delayMs, message });
        } catch (err) {
          ctx.logger.warn({ err }, 'withRetry: onRetry threw; ignored');
        }
        // Rejects with ERR_ABORTED when the consumer gives up: the record stays unacknowledged.
        await sleep(delayMs, wait);
      }
    }
  };
}
