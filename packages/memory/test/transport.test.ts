import { memory, MemoryBroker } from '@tributary/memory';
import { deferred, thrownBy, unique, waitFor } from './support/async';

describe('memory()', () => {
  it('is a memory transport with every feature but persistence', async () => {
    const transport = memory({ maxRecordBytes: 1000 });
    expect(transport.system).toBe('memory');
    expect(transport.features).toEqual({
      consumerGroups: true,
      partitionConsumer: true,
      maxRecordBytes: 1000,
      rebalanceOnLeave: true,
      persistent: false,
    });
    expect(Object.isFrozen(transport.features)).toBe(true);
    expect(transport.broker).toBeInstanceOf(MemoryBroker);
    await transport.close();
  });

  it('gives each call its own broker unless one is shared', async () => {
    const topic = unique('t');
    const a = memory();
    const b = memory();
    const c = memory({ broker: a.broker });
    await a.admin().createTopics([{ topic }]);
    expect(await b.admin().listTopics()).toEqual([]);
    expect(await c.admin().listTopics()).toEqual([topic]);
    expect(c.features.maxRecordBytes).toBe(a.broker.maxRecordBytes);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('close() closes every component it created, draining consumers; the shared broker keeps its data', async () => {
    const broker = new MemoryBroker();
    const topic = unique('t');
    const groupId = unique('g');
    const transport = memory({ broker });
    await transport.admin().createTopics([{ topic, partitions: 2 }]);
    const producer = transport.producer();
    await producer.send([{ topic, partition: 0, value: 'x' }]);

    const gate = deferred();
    const revoked: string[] = [];
    const group = transport.groupConsumer({ groupId, topics: [topic] });
    await group.run({
      onBatch: () => gate.promise,
      onRevoked: (tps) => void revoked.push(...tps.map((tp) => `${tp.topic}/${tp.partition}`)),
    });
    const partition = transport.partitionConsumer({ topic, partition: 1, from: 'earliest' });
    await partition.run({ onBatch: async () => undefined });
    const admin = transport.admin();
    await waitFor(() => group.assignment().length === 2, 'the assignment');

    const closing = transport.close();
    expect(transport.close()).toBe(closing);
    gate.resolve();
    await closing;

    expect(revoked.sort()).toEqual([`${topic}/0`, `${topic}/1`]);
    await expect(producer.send([{ topic, value: 'x' }])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(admin.listTopics()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrownBy(() => partition.seek(0))).toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrownBy(() => transport.producer())).toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrownBy(() => transport.admin())).toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrownBy(() => transport.groupConsumer({ groupId, topics: [topic] }))).toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrownBy(() => transport.partitionConsumer({ topic, partition: 0, from: 0 }))).toMatchObject({ code: 'ERR_CLOSED' });

    const again = memory({ broker });
    expect(await again.admin().fetchTopicOffsets(topic)).toEqual([
      { partition: 0, low: 0, high: 1 },
      { partition: 1, low: 0, high: 0 },
    ]);
    await again.close();
  });

  it('closes cleanly with nothing created', async () => {
    await expect(memory().close()).resolves.toBeUndefined();
  });
});
