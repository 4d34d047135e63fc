import { ConfigError, type Admin } from '@tributary/core';
import { memory, type MemoryTransport } from '@tributary/memory';
import { unique, waitFor } from './support/async';

describe('MemoryAdmin', () => {
  let transport: MemoryTransport;
  let admin: Admin;

  beforeEach(() => {
    transport = memory();
    admin = transport.admin();
  });

  afterEach(async () => {
    await transport.close();
  });

  it('creates topics (1 partition by default) and lists them sorted', async () => {
    const b = unique('b-topic');
    const a = unique('a-topic');
    await admin.createTopics([{ topic: b, partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } }, { topic: a }]);
    expect(await admin.listTopics()).toEqual([a, b]);
    expect(await admin.fetchTopicOffsets(b)).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 0 },
      { partition: 2, low: 0, high: 0 },
    ]);
    expect(await admin.fetchTopicOffsets(a)).toHaveLength(1);
  });

  it('rejects an existing topic with ERR_TOPIC_EXISTS, still creating the others, unless ifNotExists', async () => {
    const existing = unique('existing');
    const fresh = unique('fresh');
    await admin.createTopics([{ topic: existing, partitions: 2 }]);
    const err: unknown = await admin.createTopics([{ topic: existing }, { topic: fresh }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_TOPIC_EXISTS' });
    expect((err as Error).message).toContain(existing);
    expect(await admin.listTopics()).toEqual([existing, fresh].sort());
    await expect(admin.createTopics([{ topic: existing, partitions: 5 }], { ifNotExists: true })).resolves.toBeUndefined();
    expect(await admin.fetchTopicOffsets(existing)).toHaveLength(2); // not re-created
  });

  it('rejects invalid specs with one ConfigError naming every problem, creating nothing', async () => {
    const good = unique('good');
    const err: unknown = await admin
      .createTopics([
        { topic: good },
        { topic: 'has space' },
        { topic: '', partitions: 0 },
        { topic: good },
        { topic: unique('x'), partitions: 1.5, replicationFactor: 0 },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field)).toEqual([
      'topics[1].topic',
      'topics[2].topic',
      'topics[2].partitions',
      'topics[3].topic',
      'topics[4].partitions',
      'topics[4].replicationFactor',
    ]);
    expect(await admin.listTopics()).toEqual([]);
  });

  it('deletes topics with their records and committed offsets; unknown topics fail with ERR_UNKNOWN_TOPIC', async () => {
    const topic = unique('doomed');
    const groupId = unique('group');
    await admin.createTopics([{ topic }]);
    await transport.producer().send([{ topic, value: 'x' }]);
    const consumer = transport.groupConsumer({ groupId, topics: [topic] });
    let seen = 0;
    await consumer.run({ onBatch: async (b) => void (seen += b.messages.length) });
    await waitFor(() => seen === 1, 'the record');
    await consumer.commit([{ topic, partition: 0, offset: 1 }]);
    expect(await admin.fetchCommittedOffsets(groupId, [topic])).toEqual([{ topic, partition: 0, offset: 1 }]);
    await consumer.close();

    const missing = unique('missing');
    const err: unknown = await admin.deleteTopics([topic, missing]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
    expect((err as Error).message).toContain(missing);
    expect(await admin.listTopics()).toEqual([]);
    await expect(admin.fetchTopicOffsets(topic)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });

    await admin.createTopics([{ topic }]);
    expect(await admin.fetchTopicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 0 }]);
    expect(await admin.fetchCommittedOffsets(groupId, [topic])).toEqual([]);
  });

  it('reports high watermarks as records arrive', async () => {
    const topic = unique('counted');
    await admin.createTopics([{ topic, partitions: 2 }]);
    await transport.producer().send([
      { topic, partition: 1, value: 'a' },
      { topic, partition: 1, value: 'b' },
      { topic, partition: 0, value: null },
    ]);
    expect(await admin.fetchTopicOffsets(topic)).toEqual([
      { partition: 0, low: 0, high: 1 },
      { partition: 1, low: 0, high: 2 },
    ]);
  });

  it('returns committed offsets only for partitions with a commit, and nothing for unknown groups or topics', async () => {
    const topic = unique('committed');
    const groupId = unique('group');
    await admin.createTopics([{ topic, partitions: 3 }]);
    const consumer = transport.groupConsumer({ groupId, topics: [topic] });
    await consumer.run({ onBatch: async () => undefined });
    await consumer.commit([
      { topic, partition: 2, offset: 5 },
      { topic, partition: 0, offset: 1 },
    ]);
    expect(await admin.fetchCommittedOffsets(groupId, [topic, unique('none')])).toEqual([
      { topic, partition: 0, offset: 1 },
      { topic, partition: 2, offset: 5 },
    ]);
    expect(await admin.fetchCommittedOffsets(unique('no-group'), [topic])).toEqual([]);
    // Offsets outlive the group's members.
    await consumer.close();
    expect(await admin.fetchCommittedOffsets(groupId, [topic])).toHaveLength(2);
  });

  it('rejects every call after close with ERR_CLOSED', async () => {
    await admin.close();
    await admin.close();
    await expect(admin.listTopics()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(admin.createTopics([{ topic: 'x' }])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(admin.deleteTopics(['x'])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(admin.fetchTopicOffsets('x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(admin.fetchCommittedOffsets('g', ['x'])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
