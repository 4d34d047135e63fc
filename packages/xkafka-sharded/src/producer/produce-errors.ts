import { TributaryError, errorMessage, isTributaryError, type RecordContext } from '@tributary/core';
import type { ProduceResult } from './produce-result';

/**
 * A record was dropped by the `'drop'` exhausted policy (code ERR_DROPPED):
 * its retries ran out (or its error was permanent) and it was not sent. The
 * last failure is `cause`.
 */
export class ProducerDroppedError extends TributaryError {
  readonly attempts: number;

  constructor(attempts: number, lastError: unknown, context?: RecordContext) {
    super('ERR_DROPPED', `record dropped after ${attempts} attempt(s): ${errorMessage(lastError)}`, {
      cause: lastError,
      ...(context === undefined ? {} : { context }),
    });
    this.name = 'ProducerDroppedError';
    this.attempts = attempts;
  }
}

/**
 * `produceBatch` failed fast at record `index`: records before it were sent
 * (`sent`), records after it were not tried. The code is the failure's own
 * (ERR_PRODUCE when it had none); the failure is `cause`.
 */
export class ProduceBatchError extends TributaryError {
  readonly index: number;
  readonly sent: readonly ProduceResult[];

  constructor(index: number, sent: readonly ProduceResult[], cause: unknown) {
    super(isTributaryError(cause) ? cause.code : 'ERR_PRODUCE', `produceBatch failed at record ${index}: ${errorMessage(cause)}`, {
      cause,
      retriable: isTributaryError(cause) ? cause.retriable : true,
      ...(isTributaryError(cause) && cause.context !== undefined ? { context: cause.context } : {}),
    });
    this.name = 'ProduceBatchError';
    this.index = index;
    this.sent = Object.freeze([...sent]);
  }
}
