/**
 * Admin behaviour on the real broker beyond the conformance suite.
 */
import { ConfigError, isTributaryError, type Admin } from '@tributary/core';
import { uniqueGroup, uniqueTopic } from '@tributary/testutil';
import { kafka, type KafkaTransport } from '@tributary/kafka';
import { testTransport } from './support/broker';

let transport: KafkaTransport;
let admin: Admin;

beforeAll(() => {
  transport = testTransport();
  admin = transport.admin();
});

afterAll(async () => {
  await admin.close();
  await transport.close();
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (err: unknown) => (isTributaryError(err) ? err.code : `not a TributaryError: ${String(err)}`),
  );
}

describe('kafka admin', () => {
  it('resolves createTopics only once every partition can take records at once, with the topic config applied', async () => {
    const topic = uniqueTopic('kafka-admin');
    await admin.createTopics([{ topic, partitions: 6, config: { 'cleanup.policy': 'compact' } }]);
    const producer = transport.producer();
    const results = await producer.send(Array.from({ length: 6 }, (_, partition) => ({ topic, partition, key: `k${partition}`, value: 'v' })));
    await producer.close();
    expect(results.map((r) => r.ok)).toEqual(Array(6).fill(true));
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets).toEqual(Array.from({ length: 6 }, (_, partition) => ({ partition, low: 0, high: 1 })));
  });

  it('creates the new topics of a call that also names an existing one, then rejects with ERR_TOPIC_EXISTS', async () => {
    const existing = uniqueTopic('kafka-admin-existing');
    const fresh = uniqueTopic('kafka-admin-fresh');
    await admin.createTopics([{ topic: existing }]);
    const err = await admin.createTopics([{ topic: existing }, { topic: fresh, partitions: 2 }]).catch((e: unknown) => e);
    expect(isTributaryError(err) && [err.code, err.context?.topic]).toEqual(['ERR_TOPIC_EXISTS', existing]);
    expect((await admin.fetchTopicOffsets(fresh)).map((o) => o.partition)).toEqual([0, 1]);
    await expect(admin.createTopics([{ topic: existing }, { topic: fresh, partitions: 2 }], { ifNotExists: true })).resolves.toBeUndefined();
  });

  it('names every invalid topic spec field in one ConfigError, and the field the broker refused', async () => {
    const err = await admin
      .createTopics([{ topic: 'bad name!' }, { topic: 'ok-name', partitions: 0 }, { topic: 'ok-name' }, { topic: 'x', config: { a: 1 as unknown as string } }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field)).toEqual(['topics[0].topic', 'topics[1].partitions', 'topics[2].topic', 'topics[3].config']);
    const refused = await admin.createTopics([{ topic: uniqueTopic('kafka-admin-rf'), replicationFactor: 1_000 }]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems.map((p) => p.field)).toEqual(['topics[0].replicationFactor']);
  });

  it('lists topics without Kafka’s internal ones, and fails on unknown topics with ERR_UNKNOWN_TOPIC', async () => {
    const topics = await admin.listTopics();
    expect(topics.filter((t) => t.startsWith('__'))).toEqual([]);
    expect(topics).toEqual([...topics].sort());
    const missing = uniqueTopic('kafka-admin-missing');
    expect(await codeOf(admin.deleteTopics([missing]))).toBe('ERR_UNKNOWN_TOPIC');
    expect(await codeOf(admin.fetchTopicOffsets(missing))).toBe('ERR_UNKNOWN_TOPIC');
  });

  it('fetches committed offsets for the topics asked, in the order asked, partitions ascending', async () => {
    const a = uniqueTopic('kafka-admin-a');
    const b = uniqueTopic('kafka-admin-b');
    const other = uniqueTopic('kafka-admin-other');
    await admin.createTopics([{ topic: a, partitions: 2 }, { topic: b, partitions: 2 }, { topic: other }]);
    const producer = transport.producer();
    await producer.send([a, b, other].flatMap((topic) => [{ topic, partition: 0, value: 'x' }]));
    await producer.close();
    const groupId = uniqueGroup('kafka-admin');
    const consumer = transport.groupConsumer({ groupId, topics: [a, b, other] });
    await consumer.run({ onBatch: async () => undefined });
    try {
      await consumer.commit([
        { topic: other, partition: 0, offset: 1 },
        { topic: a, partition: 0, offset: 1 },
        { topic: b, partition: 1, offset: 0 },
        { topic: b, partition: 0, offset: 1 },
      ]);
    } finally {
      await consumer.close();
    }
    expect(await admin.fetchCommittedOffsets(groupId, [b, a])).toEqual([
      { topic: b, partition: 0, offset: 1 },
      { topic: b, partition: 1, offset: 0 },
      { topic: a, partition: 0, offset: 1 },
    ]);
  });

  it('reports an unreachable broker as ERR_CONNECTION after requestTimeoutMs, and use after close as ERR_CLOSED', async () => {
    const nowhere = kafka({ brokers: '127.0.0.1:1', requestTimeoutMs: 1_500 });
    const lonely = nowhere.admin();
    const started = Date.now();
    expect(await codeOf(lonely.listTopics())).toBe('ERR_CONNECTION');
    expect(Date.now() - started).toBeLessThan(5_000);
    await nowhere.close();
    expect(await codeOf(lonely.listTopics())).toBe('ERR_CLOSED');
  });
});
