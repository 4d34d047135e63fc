import { errorMessage, isPermanentError, isTributaryError } from '../errors';
import type { Message, ProducerRecord } from '../message';

/**
 * Headers added to a dead-lettered record. The original key, value and
 * headers travel untouched; these say why and from where.
 */
export const DeadLetterHeaders = {
  reason: 'tributary-dlq-reason',
  errorCode: 'tributary-dlq-error-code',
  topic: 'tributary-dlq-original-topic',
  partition: 'tributary-dlq-original-partition',
  offset: 'tributary-dlq-original-offset',
  attempts: 'tributary-dlq-attempts',
  handler: 'tributary-dlq-handler',
  firstFailureAt: 'tributary-dlq-first-failure-at',
  lastFailureAt: 'tributary-dlq-last-failure-at',
  groupId: 'tributary-dlq-group',
} as const;

export interface DeadLetterDetails {
  /** Destination topic. */
  readonly topic: string;
  /** The error (or other reason) that sent the record here. */
  readonly reason: unknown;
  readonly attempts: number;
  readonly handler?: string;
  readonly groupId?: string;
  /** Epoch ms of the first and last failure. */
  readonly firstFailureAt?: number;
  readonly lastFailureAt?: number;
}

/** The default dead-letter topic of a record: `<topic>.dlq` (seed 004). */
export function defaultDeadLetterTopic(message: Pick<Message, 'topic'>): string {
  return `${message.topic}.dlq`;
}

/**
 * The `tributary-dlq-error-code` of a failure: the code of a TributaryError,
 * else the name of an Error (`TypeError`, a user's `LedgerTimeoutError`), else
 * `UNKNOWN`.
 */
function deadLetterErrorCode(reason: unknown): string {
  if (isTributaryError(reason)) return reason.code;
  return reason instanceof Error ? reason.name : 'UNKNOWN';
}

/** Builds the dead-letter copy of `message`: same key, value, headers, partition choice by key; plus DeadLetterHeaders. */
export function deadLetterRecord(message: Message, details: DeadLetterDetails): ProducerRecord {
  const now = Date.now();
  const headers: Record<string, string> = {
    ...message.headers,
    [DeadLetterHeaders.reason]: errorMessage(details.reason).slice(0, 4096),
    [DeadLetterHeaders.errorCode]: deadLetterErrorCode(details.reason),
    [DeadLetterHeaders.topic]: message.topic,
    [DeadLetterHeaders.partition]: String(message.partition),
    [DeadLetterHeaders.offset]: String(message.offset),
    [DeadLetterHeaders.attempts]: String(details.attempts),
    [DeadLetterHeaders.firstFailureAt]: new Date(details.firstFailureAt ?? now).toISOString(),
    [DeadLetterHeaders.lastFailureAt]: new Date(details.lastFailureAt ?? now).toISOString(),
  };
  if (details.handler !== undefined) headers[DeadLetterHeaders.handler] = details.handler;
  if (details.groupId !== undefined) headers[DeadLetterHeaders.groupId] = details.groupId;
  return { topic: details.topic, key: message.key, value: message.value, headers, timestamp: message.timestamp };
}

/**
 * One record given up on, as a {@link DeadLetterWriter} receives it. Frozen.
 */
export interface DeadLetter {
  /** The record as it was consumed: original topic, partition, offset, key, value and headers. */
  readonly message: Message;
  /**
   * The record Tributary publishes when dead-lettering to a topic
   * ({@link deadLetterRecord}): the original key, value, headers and
   * timestamp plus {@link DeadLetterHeaders} (reason, error code, original
   * topic / partition / offset, attempts, handler, group, failure times).
   * With a writer no topic is configured: `topic` is the default
   * `<topic>.dlq` ({@link defaultDeadLetterTopic}).
   */
  readonly record: ProducerRecord;
  /**
   * Why the record is dead-lettered: the handler's error when it is
   * permanent, a RetriesExhaustedError (`cause`: the last failure) when
   * retries ran out, or the reason a batch handler gave to `deadLetter()`.
   */
  readonly error: unknown;
  /** The `tributary-dlq-error-code` header: the error's `code` for a TributaryError, else its class name, else `UNKNOWN`. */
  readonly errorCode: string;
  /**
   * `isPermanentError` of the failure itself (of the last failure when
   * retries ran out): true when replaying the record unchanged fails again
   * (undecodable, invalid, unrecoverable, a programmer error); false when a
   * transient failure outlasted the retries, or a batch handler dead-lettered
   * an unclassified error — a replay (re-drive) may succeed.
   */
  readonly permanent: boolean;
  /** Handler attempts made on the record. */
  readonly attempts: number;
}

/** What a {@link DeadLetterWriter} is given with each call. */
export interface DeadLetterWriteContext {
  /**
   * Aborted when the work that dead-letters these records must end (the
   * consumer's drain deadline at stop, or a revocation's): a write still
   * running should give up and reject; the records are then not acknowledged.
   */
  readonly signal: AbortSignal;
}

/**
 * Stores dead letters somewhere other than a topic — S3, a database table, a
 * file (seed 004's Writer; seed 000's `DLQWriter.WriteBatch`). Pass it as
 * `deadLetter: { writer }` to the consumer runtime or as `withDeadLetter({
 * writer })`, instead of a topic and producer.
 *
 * Contract:
 * - `write` resolves once every letter is stored: only then are the records
 *   acknowledged, so committed. If it rejects (or throws), none of them is:
 *   the consumer runtime stops with ERR_DEAD_LETTER (`cause`: the rejection)
 *   and the records are delivered again after a restart; `withDeadLetter`
 *   retries the write (`publishRetry`), then rejects with ERR_DEAD_LETTER
 *   for the consumer to retry or stop on. Delivery is at least once: letters
 *   of a call that rejected (or of a crash) may be written again — dedupe on
 *   the original topic, partition and offset if that matters.
 * - One call carries letters of one partition, in offset order: the runtime
 *   passes every letter a batch handler call produced together (each with
 *   its own error), a record handler's one at a time; `withDeadLetter`
 *   passes one. Calls for one partition never overlap; calls for different
 *   partitions may.
 * - The runtime's dead-letter rate limit counts each letter; metrics count
 *   each letter written as dead-lettered.
 * - Tributary never closes the writer: its owner does, after the consumer
 *   stopped.
 */
export interface DeadLetterWriter {
  write(letters: readonly DeadLetter[], context: DeadLetterWriteContext): Promise<void>;
}

/**
 * Builds the {@link DeadLetter} of `message`: its record as
 * {@link deadLetterRecord} builds it, the error and its classification.
 */
export function createDeadLetter(message: Message, details: DeadLetterDetails): DeadLetter {
  const reason = details.reason;
  const lastFailure = isTributaryError(reason) && reason.code === 'ERR_RETRIES_EXHAUSTED' ? reason.cause : reason;
  return Object.freeze({
    message,
    record: deadLetterRecord(message, details),
    error: reason,
    errorCode: deadLetterErrorCode(reason),
    permanent: isPermanentError(lastFailure),
    attempts: details.attempts,
  });
}
