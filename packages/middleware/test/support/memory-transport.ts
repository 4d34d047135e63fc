/**
 * The consumer-runtime scaffolding of the middleware tests: a memory
 * transport for each test, fresh topics, records sent with a producer of
 * their own, and consumers that are stopped after the test, before the
 * transport closes.
 */
import { createConsumer, type Consumer, type ConsumerOptions, type ProducerRecord, type Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import { uniqueTopic } from '@tributary/testutil';

export interface MemoryTransportPerTest {
  /** The transport of the test that runs now. */
  readonly transport: Transport;
  /** A consumer on the transport, stopped after the test. */
  consumer(options: ConsumerOptions): Consumer;
  /**
   * Creates the topic `uniqueTopic(prefix)` — with `partitions` when given,
   * and its dead-letter topic `<topic>.dlq` (one partition) when
   * `deadLetterTopic` is true — and resolves with its name.
   */
  createTopic(prefix: string, options?: { readonly partitions?: number; readonly deadLetterTopic?: boolean }): Promise<string>;
  /** Sends `records` in one call with a producer of its own, closed afterwards. */
  send(records: ProducerRecord[]): Promise<void>;
  /** The offset `groupId` committed on `topic`'s partition `partition` (default 0), if any. */
  committedOffset(groupId: string, topic: string, partition?: number): Promise<number | undefined>;
}

/**
 * Registers hooks in the calling describe block: a new memory transport
 * before each test; after it, every consumer made with `consumer()` is
 * stopped and the transport closed. The object returned may be taken at
 * describe time and used inside tests and hooks (anywhere else it throws).
 */
export function memoryTransportPerTest(): MemoryTransportPerTest {
  let current: Transport | undefined;
  const consumers: Consumer[] = [];
  beforeEach(() => {
    current = memory();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    const closing = current;
    current = undefined;
    await closing?.close();
  });
  const transport = (): Transport => {
    if (current === undefined) throw new Error('the memory transport exists only while a test runs');
    return current;
  };

  return {
    get transport() {
      return transport();
    },
    consumer(options) {
      const consumer = createConsumer(transport(), options);
      consumers.push(consumer);
      return consumer;
    },
    async createTopic(prefix, { partitions, deadLetterTopic = false } = {}) {
      const topic = uniqueTopic(prefix);
      const admin = transport().admin();
      try {
        await admin.createTopics([{ topic, ...(partitions === undefined ? {} : { partitions }) }, ...(deadLetterTopic ? [{ topic: `${topic}.dlq` }] : [])]);
      } finally {
        await admin.close();
      }
      return topic;
    },
    async send(records) {
      const producer = transport().producer();
      try {
        await producer.send(records);
      } finally {
        await producer.close();
      }
    },
    async committedOffset(groupId, topic, partition = 0) {
      const admin = transport().admin();
      try {
        const offsets = await admin.fetchCommittedOffsets(groupId, [topic]);
        return offsets.find((o) => o.partition === partition)?.offset;
      } finally {
        await admin.close();
      }
    },
  };
}
