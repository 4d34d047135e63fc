import { silentLogger, type Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import { uniqueTopic } from '@tributary/testutil';
import { OffsetReader } from '../src/offset-reader';
import { text } from './support/fixture';

let transport: Transport;
beforeEach(() => {
  transport = memory();
});
afterEach(async () => {
  await transport.close();
});

async function topicWith(count: number): Promise<string> {
  const topic = uniqueTopic('reader');
  await transport.admin().createTopics([{ topic, partitions: 2 }]);
  if (count > 0) {
    const producer = transport.producer();
    await producer.send(Array.from({ length: count }, (_, i) => ({ topic, partition: 1, value: `v-${i}` })));
  }
  return topic;
}

describe('OffsetReader', () => {
  it('reads the wanted offsets, forward and then backward, with one consumer', async () => {
    const topic = await topicWith(20);
    const reader = new OffsetReader(transport, topic, 1, { logger: silentLogger, maxBatchRecords: 4 });
    try {
      const first = await reader.read([12, 5, 12, 7], 1000);
      expect([...first.found].map(([o, m]) => [o, text(m)])).toEqual([
        [5, 'v-5'],
        [7, 'v-7'],
        [12, 'v-12'],
      ]);
      expect(first.missing).toEqual([]);
      const second = await reader.read([1], 1000);
      expect(text(second.found.get(1)!)).toBe('v-1');
    } finally {
      await reader.close();
    }
  });

  it('reports offsets past the end of the log as missing', async () => {
    const topic = await topicWith(5);
    const reader = new OffsetReader(transport, topic, 1, { logger: silentLogger });
    try {
      const result = await reader.read([3, 9], 1000);
      expect([...result.found.keys()]).toEqual([3]);
      expect(result.missing).toEqual([9]);
    } finally {
      await reader.close();
    }
  });

  it('rejects with ERR_TIMEOUT when nothing can be read in time', async () => {
    const topic = await topicWith(0);
    const reader = new OffsetReader(transport, topic, 1, { logger: silentLogger });
    try {
      await expect(reader.read([0], 30)).rejects.toMatchObject({ code: 'ERR_TIMEOUT', context: { topic, partition: 1, offset: 0 } });
    } finally {
      await reader.close();
    }
  });

  it('rejects a read in progress with ERR_CLOSED on close, and later reads too', async () => {
    const topic = await topicWith(0);
    const reader = new OffsetReader(transport, topic, 1, { logger: silentLogger });
    const reading = reader.read([0], 10_000);
    await reader.close();
    await expect(reading).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(reader.read([0], 10)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('resolves an empty read at once', async () => {
    const reader = new OffsetReader(transport, 'unused', 0, { logger: silentLogger });
    await expect(reader.read([], 10)).resolves.toEqual({ found: new Map(), missing: [] });
    await reader.close();
  });
});
