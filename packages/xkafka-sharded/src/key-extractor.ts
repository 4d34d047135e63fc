import type { Message } from '@tributary/core';

/**
 * Derives the ordering key of a record: records with the same key are
 * processed one at a time, in offset order; records with different keys may
 * run in parallel. May throw: the record then fails permanently (see the
 * consumer's exhausted policy) instead of being routed by a guess.
 */
export type KeyExtractor = (message: Message) => string;

/**
 * The record key. A record without a key is ordered with the other keyless
 * records of its partition (the order a plain partition consumer gives), so
 * switching to this consumer never loosens an ordering keyless producers rely on.
 * Pass your own extractor to spread keyless records over the shards.
 */
export const defaultKeyExtractor: KeyExtractor = (message) => message.key ?? partitionOrderingKey(message);

/** The ordering key shared by a partition's keyless records (the NUL prefix keeps it apart from real keys). */
export function partitionOrderingKey(message: Pick<Message, 'topic' | 'partition'>): string {
  return `\u0000${message.topic}/${message.partition}`;
}
