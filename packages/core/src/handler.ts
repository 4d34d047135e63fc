import type { TopicPartition, Message } from './message';
import type { Logger } from './logger';

/**
 * What a handler may do to the consumer that runs it (used by middleware: the
 * circuit breaker pauses, the dead-letter rate guard stops).
 */
export interface ConsumerControl {
  /** Pauses fetching; without arguments, every partition this consumer owns. */
  pause(partitions?: readonly TopicPartition[]): void;
  resume(partitions?: readonly TopicPartition[]): void;
  /** Stops the consumer with `reason` (surfaced by `stop()`/`onError`); in-flight work drains. */
  stop(reason: unknown): void;
}

/** Passed to every handler call. */
export interface HandlerContext {
  /**
   * Aborted when the drain of this work must end: when the consumer stops
   * and its drain ends (the deadline, drainTimeoutMs or stop()'s timeoutMs,
   * or stop()'s signal), or drainTimeoutMs after the revocation of the
   * record's partition began. Long work should give up; what it did not
   * finish is not committed.
   */
  readonly signal: AbortSignal;
  /**
   * Aborted as soon as the consumer begins to stop (before `signal`), or as
   * soon as the partition of the record(s) begins to be revoked (the
   * transport's `RecordBatch.signal`). Waits that are not work — a retry
   * backoff, a throttle, an open circuit breaker — should end on it, and a
   * batch handler should start no further record and report those it skipped
   * as `retry` (or throw): what is not acknowledged is delivered again later
   * (to the partition's next owner). A failed attempt after it aborted is
   * never retried nor dead-lettered by the core runtime: for a batch handler
   * call that returns once it aborted, its `retry` and `deadLetter` outcomes
   * are left uncommitted (no dead letter, no rate-limit slot, no fatal stop)
   * and its `ack`s stand. Its reason is a TributaryError ERR_ABORTED (the
   * consumer stops, or the partition is being revoked). Optional for
   * contexts built outside the core runtime; fall back to `signal`.
   */
  readonly stopping?: AbortSignal;
  /** 1 on first delivery in this process, 2 on the first retry, … */
  readonly attempt: number;
  /** The group the consumer belongs to; undefined for partition consumers. */
  readonly groupId: string | undefined;
  readonly logger: Logger;
  readonly control: ConsumerControl;
}

/** Handles one record. Throwing fails the record (see the consumer runtime for what follows). */
export type MessageHandler = (message: Message, ctx: HandlerContext) => Promise<void> | void;

/** Wraps a handler with behaviour (Watermill's `HandlerMiddleware`). */
export type HandlerMiddleware = (next: MessageHandler) => MessageHandler;

/** What became of one record of a batch. */
export type RecordOutcome =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly error?: unknown }
  | { readonly kind: 'dead-letter'; readonly reason: unknown };

export const ack: RecordOutcome = Object.freeze({ kind: 'ack' });
export function retry(error?: unknown): RecordOutcome {
  return error === undefined ? { kind: 'retry' } : { kind: 'retry', error };
}
export function deadLetter(reason: unknown): RecordOutcome {
  return { kind: 'dead-letter', reason };
}

/**
 * Handles a batch of records of one partition, in offset order. Resolving with
 * nothing acks every record; resolving with an array gives one outcome per
 * record (same order, same length, no holes nor undefined entries — else the
 * consumer stops with a TypeError); throwing retries the whole batch.
 */
export type BatchHandler = (
  messages: readonly Message[],
  ctx: HandlerContext,
) => Promise<void | readonly RecordOutcome[]> | void | readonly RecordOutcome[];
