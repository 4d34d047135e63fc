import type { Transport } from '@tributary/core';
import { MockProducer, buildBatch, deferred, drivenTransport } from '@tributary/testutil';

function base(closed: string[]): Transport {
  return {
    system: 'stub',
    features: { consumerGroups: true, partitionConsumer: false, maxRecordBytes: 10, rebalanceOnLeave: true, persistent: false },
    producer: () => new MockProducer(),
    groupConsumer: () => {
      throw new Error('the driven transport must not ask its base for group consumers');
    },
    partitionConsumer: () => {
      throw new Error('partitionConsumer');
    },
    admin: () => {
      throw new Error('admin');
    },
    close: async () => void closed.push('base'),
  };
}

describe('drivenTransport', () => {
  it('hands the test the handlers the code registered, and records commits and seeks', async () => {
    const closed: string[] = [];
    const driven = drivenTransport(base(closed));
    expect(() => driven.handlers()).toThrow(expect.objectContaining({ code: 'ERR_STATE' }) as Error);
    const consumer = driven.transport.groupConsumer({ groupId: 'g', topics: ['t'] });
    const batches: number[][] = [];
    await consumer.run({ onBatch: async (b) => void batches.push(b.messages.map((m) => m.offset)) });
    await driven.handlers().onBatch(buildBatch({ topic: 't', partition: 0, offset: 4, count: 2 }));
    expect(batches).toEqual([[4, 5]]);
    await consumer.commit([{ topic: 't', partition: 0, offset: 6 }]);
    consumer.seek({ topic: 't', partition: 0, offset: 1 });
    expect(driven.commits).toEqual([[{ topic: 't', partition: 0, offset: 6 }]]);
    expect(driven.seeks).toEqual([{ topic: 't', partition: 0, offset: 1 }]);
    driven.assignment = [{ topic: 't', partition: 0 }];
    expect(consumer.assignment()).toEqual([{ topic: 't', partition: 0 }]);
    await consumer.close();
    await driven.transport.close();
    expect(closed).toEqual(['base']);
  });

  it('holds commits in flight while holdCommit is pending, and fails them when it rejects', async () => {
    const driven = drivenTransport(base([]));
    const consumer = driven.transport.groupConsumer({ groupId: 'g', topics: ['t'] });
    const gate = deferred<void>();
    driven.holdCommit = () => gate.promise;
    let settled = false;
    const commit = consumer.commit([{ topic: 't', partition: 0, offset: 1 }]).then(() => (settled = true));
    await Promise.resolve();
    expect(driven.commits).toHaveLength(1); // recorded when made
    expect(settled).toBe(false);
    gate.resolve();
    await commit;
    expect(settled).toBe(true);
    driven.holdCommit = () => Promise.reject(new Error('commit refused'));
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: 2 }])).rejects.toThrow('commit refused');
  });
});
