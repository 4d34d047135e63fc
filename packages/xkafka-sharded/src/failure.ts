import { errorMessage, type Logger } from '@tributary/core';

/**
 * What the consumer does with a record once its retries are exhausted (or
 * its error is permanent, see core's `isPermanentError`):
 *
 * - `'block'`: keep retrying (delays stay at `retry.maxMs`); the record's key
 *   waits — with `parkKey: false` its whole shard waits. Nothing is skipped
 *   and nothing stops; the committed offset stays below the record.
 * - `'dlq-commit'`: publish the record to the dead-letter topic with the
 *   reason, then mark it done (its offset may be committed).
 * - `'stop'`: stop consuming; `wait()`/`consume()` reject with ERR_STOPPED
 *   (cause: the exhausted error). The record is not committed.
 */
export type ExhaustedPolicy = 'block' | 'dlq-commit' | 'stop';

/**
 * - `'retry'`: an attempt failed and will be retried after `delayMs`.
 * - `'exhausted'`: retries ran out (or the error is permanent); the policy
 *   acts next. Under `'block'` it is reported once, then `'retry'` events go on.
 * - `'dlq'`: the record was published to `deadLetterTopic` and is done.
 * - `'stop'`: the consumer stops because of this record (stop policy, or a
 *   failed dead-letter publish).
 */
export type FailureStage = 'retry' | 'exhausted' | 'dlq' | 'stop';

/** One failure event, with the record's coordinates. */
export interface FailureEvent {
  readonly stage: FailureStage;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The record key. */
  readonly key: string | null;
  /** The ordering key the key extractor gave. */
  readonly shardKey: string;
  /** The attempt that failed (1 for the first delivery). */
  readonly attempt: number;
  /** The failure: the handler's error, the exhausted error, or the stop error. */
  readonly error: unknown;
  /** The group, for group consumers. */
  readonly groupId: string | undefined;
  /** `'retry'` only: the wait before the next attempt. */
  readonly delayMs?: number;
  /** `'dlq'` only: where the record was published. */
  readonly deadLetterTopic?: string;
}

/**
 * Receives every failure event, synchronously, on the record's processing
 * path: keep it cheap (count, log, alert). An exception it throws is logged
 * and otherwise ignored.
 */
export type FailureHook = (event: FailureEvent) => void;

/** Calls `hook` (if any) and shields the caller from its exceptions. */
export function emitFailure<E>(hook: ((event: E) => void) | undefined, event: E, logger: Logger): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch (err) {
    logger.error({ err }, `failure hook threw: ${errorMessage(err)}`);
  }
}
