import { errorMessage, isTributaryError } from '../errors';
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

/** Builds the dead-letter copy of `message`: same key, value, headers, partition choice by key; plus DeadLetterHeaders. */
export function deadLetterRecord(message: Message, details: DeadLetterDetails): ProducerRecord {
  const now = Date.now();
  const headers: Record<string, string> = {
    ...message.headers,
    [DeadLetterHeaders.reason]: errorMessage(details.reason).slice(0, 4096),
    [DeadLetterHeaders.errorCode]: isTributaryError(details.reason)
      ? details.reason.code
      : details.reason instanceof Error
        ? details.reason.name
        : 'UNKNOWN',
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
