import type { Message, RecordContext } from '@tributary/core';

/** The coordinates errors about `message` carry. */
export function recordContext(message: Message): RecordContext {
  return { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key };
}

/** `topic/partition@offset`, for error messages. */
export function where(message: Message): string {
  return `${message.topic}/${message.partition}@${message.offset}`;
}
