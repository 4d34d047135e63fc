import { memory, MemoryBroker } from '@tributary/memory';
import { BrokerEngine, engineOf } from '../src/broker';
import { unique } from './support/async';

describe('MemoryBroker', () => {
  it('exposes its settings and hides its state', () => {
    const broker = new MemoryBroker({ maxRecordBytes: 100, autoCreateTopics: true, defaultPartitions: 3 });
    expect(broker).toEqual({ maxRecordBytes: 100, autoCreateTopics: true, defaultPartitions: 3 });
    expect(engineOf(broker)).toBeInstanceOf(BrokerEngine);
    expect(() => engineOf({} as MemoryBroker)).toThrow(TypeError);
  });

  it('applies its settings to every transport that shares it', async () => {
    const broker = new MemoryBroker({ autoCreateTopics: true, defaultPartitions: 3, maxRecordBytes: 10 });
    const a = memory({ broker });
    const b = memory({ broker });
    const topic = unique('auto');
    try {
      const [big, small] = await a.producer().send([
        { topic, value: 'x'.repeat(11) },
        { topic, value: 'x' },
      ]);
      expect(big?.ok).toBe(false);
      expect(small?.ok).toBe(true);
      expect(await b.admin().fetchTopicOffsets(topic)).toHaveLength(3);
      expect(b.features.maxRecordBytes).toBe(10);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps committed offsets per group and drops them with the topic', () => {
    const engine = engineOf(new MemoryBroker());
    engine.createTopic('t', 2);
    engine.createTopic('t2', 1);
    const group = engine.group('g');
    group.committed.set('t/0', 4);
    group.committed.set('t2/0', 1);
    expect(engine.findGroup('g')).toBe(group);
    expect(engine.findGroup('other')).toBeUndefined();
    expect(engine.deleteTopic('t')).toBe(true);
    expect(engine.deleteTopic('t')).toBe(false);
    expect([...group.committed]).toEqual([['t2/0', 1]]);
  });
});
