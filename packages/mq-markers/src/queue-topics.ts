/**
 * The topics of one queue: the queue topic itself, its markers topic and its
 * dead-letter topic, with their default names, a creator and the partition
 * check every client runs before it starts.
 */
import { ConfigError, defaultDeadLetterTopic, type Transport } from '@tributary/core';

/** The default markers topic of a queue: `<queue>.markers`. */
export function defaultMarkersTopic(queue: string): string {
  return `${queue}.markers`;
}

/** The default consumer group of the clients of a queue: `<queue>.mq`. */
export function defaultClientGroup(queue: string): string {
  return `${queue}.mq`;
}

/** The default consumer group of the redeliverers of a queue: `<markers topic>.redeliverer`. */
export function defaultRedelivererGroup(markersTopic: string): string {
  return `${markersTopic}.redeliverer`;
}

export interface QueueTopicsSpec {
  readonly queue: string;
  /** Partitions of the queue and of its markers topic. Default 1. */
  readonly partitions?: number;
  /** Default `<queue>.markers`. */
  readonly markersTopic?: string;
  /** Dead-letter topic to create as well; default `<queue>.dlq`; `false` creates none. */
  readonly deadLetterTopic?: string | false;
  readonly replicationFactor?: number;
}

/**
 * Creates the queue topic and its markers topic with the same number of
 * partitions (and the dead-letter topic), skipping those that exist.
 */
export async function createQueueTopics(transport: Transport, spec: QueueTopicsSpec): Promise<void> {
  const partitions = spec.partitions ?? 1;
  const markersTopic = spec.markersTopic ?? defaultMarkersTopic(spec.queue);
  const dlq = spec.deadLetterTopic === undefined ? defaultDeadLetterTopic({ topic: spec.queue }) : spec.deadLetterTopic;
  const rf = spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor };
  const admin = transport.admin();
  try {
    await admin.createTopics(
      [
        { topic: spec.queue, partitions, ...rf },
        { topic: markersTopic, partitions, ...rf },
        ...(dlq === false ? [] : [{ topic: dlq, partitions, ...rf }]),
      ],
      { ifNotExists: true },
    );
  } finally {
    await admin.close();
  }
}

/**
 * Checks that the markers topic has at least as many partitions as the
 * queue: the markers of queue partition `p` go to markers partition `p`.
 *
 * @throws ConfigError (ERR_CONFIG) when it has fewer; ERR_UNKNOWN_TOPIC when a topic is missing.
 */
export async function checkQueueTopics(transport: Transport, queue: string, markersTopic: string, component: string): Promise<void> {
  const admin = transport.admin();
  try {
    const [queuePartitions, markerPartitions] = await Promise.all([admin.fetchTopicOffsets(queue), admin.fetchTopicOffsets(markersTopic)]);
    if (markerPartitions.length < queuePartitions.length) {
      throw new ConfigError(component, [
        {
          field: 'markersTopic',
          message:
            `"${markersTopic}" has ${markerPartitions.length} partitions, fewer than the queue "${queue}" (${queuePartitions.length}): ` +
            'the markers of queue partition p go to markers partition p',
        },
      ]);
    }
  } finally {
    await admin.close();
  }
}
