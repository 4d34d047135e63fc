/**
 * Timeout middleware: bounds how long one call of the chain inside may take.
 */
import { ConfigCheck, MAX_DELAY_MS, TributaryError, abortedError, type HandlerMiddleware } from '@tributary/core';
import { recordContext, where } from './record-context';

export interface TimeoutOptions {
  /** Deadline of one call, in ms (1 … 2^31-1). */
  readonly timeoutMs: number;
}

/**
 * Gives the chain inside a deadline.
 *
 * - Inside, `ctx.signal` is a signal that aborts at the deadline (with the
 *   ERR_TIMEOUT error as its reason) or when the consumer's own signal
 *   aborts — handlers should pass it to their I/O (`fetch(url, { signal })`).
 * - At the deadline the call rejects with ERR_TIMEOUT (retriable, with the
 *   record's coordinates), without waiting for a handler that ignores the
 *   signal: the partition is not held hostage. Such a handler keeps running
 *   in the background and its eventual result is dropped, so the retry that
 *   follows may overlap it — another reason to honour the signal.
 * - When the consumer's signal aborts first, the call rejects with
 *   ERR_ABORTED at once.
 *
 * Place it inside withRetry so each attempt has its own deadline and a timed
 * out attempt is retried.
 *
 * @throws ConfigError (ERR_CONFIG) when `timeoutMs` is invalid.
 */
export function withTimeout(options: TimeoutOptions): HandlerMiddleware {
  const timeoutMs = (options as Partial<TimeoutOptions> | undefined)?.timeoutMs;
  new ConfigCheck('withTimeout').integer(timeoutMs, 'timeoutMs', 1, MAX_DELAY_MS).throwIfInvalid();
  const ms = timeoutMs as number;

  return (next) => (message, ctx) => {
    const outer = ctx.signal;
    if (outer.aborted) return Promise.reject(abortedError(outer));
    const controller = new AbortController();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        const error = new TributaryError('ERR_TIMEOUT', `handler did not finish ${where(message)} within ${ms} ms`, {
          context: recordContext(message),
        });
        settle();
        controller.abort(error);
        reject(error);
      }, ms);
      const onOuterAbort = (): void => {
        settle();
        controller.abort(outer.reason);
        reject(abortedError(outer));
      };
      // The consumer's signal lives as long as the consumer: remove the listener after every call.
      outer.addEventListener('abort', onOuterAbort, { once: true });
      function settle(): boolean {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        outer.removeEventListener('abort', onOuterAbort);
        return true;
      }
      // The executor form turns a synchronous throw of `next` into a rejection.
      new Promise<void>((r) => r(next(message, { ...ctx, signal: controller.signal }))).then(
        () => {
          if (settle()) resolve();
        },
        (err: unknown) => {
          // A handler that gave up after the deadline is not reported twice.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          if (settle()) reject(err);
        },
      );
    });
  };
}
