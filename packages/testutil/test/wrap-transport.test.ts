import type { GroupConsumer, GroupConsumerOptions, Transport } from '@tributary/core';
import { MockProducer, wrapGroupConsumer, wrapTransport } from '@tributary/testutil';

/** A transport that records which of its members were called. */
function stubTransport(calls: string[]): Transport {
  const groupConsumer = (options: GroupConsumerOptions): GroupConsumer => {
    calls.push(`groupConsumer:${options.groupId}`);
    return stubGroupConsumer(options.groupId, calls);
  };
  return {
    system: 'stub',
    features: { consumerGroups: true, partitionConsumer: false, maxRecordBytes: 10, rebalanceOnLeave: true, persistent: false },
    producer: () => {
      calls.push('producer');
      return new MockProducer();
    },
    groupConsumer,
    partitionConsumer: () => {
      throw new Error('partitionConsumer');
    },
    admin: () => {
      throw new Error('admin');
    },
    close: async () => {
      calls.push('close');
    },
  };
}

function stubGroupConsumer(groupId: string, calls: string[]): GroupConsumer {
  return {
    groupId,
    run: async () => void calls.push('run'),
    commit: async () => void calls.push('commit'),
    pause: () => void calls.push('pause'),
    resume: () => void calls.push('resume'),
    seek: () => void calls.push('seek'),
    assignment: () => [{ topic: 't', partition: 1 }],
    close: async () => void calls.push('consumer-close'),
  };
}

describe('wrapTransport', () => {
  it('forwards every member it is not given, and uses the ones it is', async () => {
    const calls: string[] = [];
    const base = stubTransport(calls);
    const own = new MockProducer();
    const wrapped = wrapTransport(base, { producer: () => own });
    expect([wrapped.system, wrapped.features]).toEqual([base.system, base.features]);
    expect(wrapped.producer()).toBe(own);
    wrapped.groupConsumer({ groupId: 'g', topics: ['t'] });
    expect(() => wrapped.admin()).toThrow('admin');
    expect(() => wrapped.partitionConsumer({ topic: 't', partition: 0, from: 'earliest' })).toThrow('partitionConsumer');
    await wrapped.close();
    expect(calls).toEqual(['groupConsumer:g', 'close']);
  });
});

describe('wrapGroupConsumer', () => {
  it('forwards every member it is not given, and uses the ones it is', async () => {
    const calls: string[] = [];
    const wrapped = wrapGroupConsumer(stubGroupConsumer('g', calls), { commit: async () => void calls.push('own-commit') });
    expect(wrapped.groupId).toBe('g');
    await wrapped.run({ onBatch: async () => undefined });
    await wrapped.commit([{ topic: 't', partition: 0, offset: 1 }]);
    wrapped.pause([]);
    wrapped.resume([]);
    wrapped.seek({ topic: 't', partition: 0, offset: 0 });
    expect(wrapped.assignment()).toEqual([{ topic: 't', partition: 1 }]);
    await wrapped.close();
    expect(calls).toEqual(['run', 'own-commit', 'pause', 'resume', 'seek', 'consumer-close']);
  });
});
