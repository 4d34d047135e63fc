import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTributaryError, type Message, type TributaryError } from '@tributary/core';
import { memory, type MemoryTransport } from '@tributary/memory';
import { assertNoViolations, orderViolationsPerKey, uniqueTopic, waitFor, withTimeout } from '@tributary/testutil';
import {
  FileOffsetStore,
  MemoryOffsetStore,
  createShardedPartitionConsumer,
  type PartitionConsumerConfig,
  type ShardedPartitionConsumer,
} from '../src';
import { GatedHandler } from './support/gated-handler';
import { produceAll } from './support/proof';
import { keyedRecords, topicWith } from './support/topics';

let transport: MemoryTransport;
const consumers: ShardedPartitionConsumer[] = [];

beforeEach(() => {
  transport = memory();
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()));
  await transport.close();
});

function consumer(config: PartitionConsumerConfig): ShardedPartitionConsumer {
  const c = createShardedPartitionConsumer(transport, { commitIntervalMs: 5, ...config });
  consumers.push(c);
  return c;
}

async function append(topic: string, count: number, keys: readonly string[]): Promise<void> {
  await produceAll(
    transport,
    keyedRecords(count, keys).map((r) => ({ ...r, topic })),
  );
}

describe('ShardedPartitionConsumer', () => {
  it('processes the partition in order per key and saves the processed prefix to its offset store', async () => {
    const topic = await topicWith(transport, keyedRecords(100, ['a', 'b', 'c']), 2);
    const store = new MemoryOffsetStore();
    const seen: Message[] = [];
    const c = consumer({ topic, partition: 0, offsetStore: store, shardCount: 3 });
    expect(String(c)).toBe(`partition-consumer(${topic}:0)`);
    await c.start(async (m, ctx) => {
      expect(ctx.groupId).toBeUndefined();
      seen.push(m);
    });
    await waitFor(async () => (await store.load(topic, 0)) === 100, { message: 'offset 100 saved' });
    expect(seen).toHaveLength(100);
    assertNoViolations('per-key order', orderViolationsPerKey(seen));
  });

  it('starts from the stored offset; without one, from initialOffset', async () => {
    const topic = await topicWith(transport, keyedRecords(10, ['a']));
    const store = new MemoryOffsetStore();
    await store.save(topic, 0, 6);
    const fromStore: number[] = [];
    const c1 = consumer({ topic, partition: 0, offsetStore: store });
    await c1.start((m) => void fromStore.push(m.offset));
    await waitFor(() => fromStore.length === 4);
    expect(fromStore).toEqual([6, 7, 8, 9]);

    const fromInitial: number[] = [];
    const c2 = consumer({ topic, partition: 0, initialOffset: 8 });
    await c2.start((m) => void fromInitial.push(m.offset));
    await waitFor(() => fromInitial.length === 2);
    expect(fromInitial).toEqual([8, 9]);

    const fromLatest: number[] = [];
    const c3 = consumer({ topic, partition: 0, initialOffset: 'latest' });
    await c3.start((m) => void fromLatest.push(m.offset));
    await append(topic, 1, ['a']);
    await waitFor(() => fromLatest.length === 1);
    expect(fromLatest).toEqual([10]);
  });

  it('with a FileOffsetStore, a new consumer (a restart) continues after what the last one processed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xks-pc-'));
    try {
      const path = join(dir, 'offsets.json');
      const topic = await topicWith(transport, keyedRecords(10, ['a', 'b']));
      const first: number[] = [];
      const c1 = consumer({ topic, partition: 0, offsetStore: new FileOffsetStore(path) });
      await c1.start((m) => void first.push(m.offset));
      await waitFor(() => first.length === 10);
      await c1.close();
      await append(topic, 5, ['a', 'b']);
      const second: number[] = [];
      const c2 = consumer({ topic, partition: 0, offsetStore: new FileOffsetStore(path) });
      await c2.start((m) => void second.push(m.offset));
      await waitFor(async () => (await new FileOffsetStore(path).load(topic, 0)) === 15);
      expect(second.sort((x, y) => x - y)).toEqual([10, 11, 12, 13, 14]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reconnects with backoff 200 ms → 5 s ×2 while the partition cannot be read, then consumes', async () => {
    const topic = uniqueTopic('xks-later');
    const admin = transport.admin();
    const delays: number[] = [];
    const errors: TributaryError[] = [];
    const seen: number[] = [];
    const c = consumer({
      topic,
      partition: 0,
      onError: (e) => errors.push(e as TributaryError),
      sleep: async (ms) => {
        delays.push(ms);
        if (delays.length === 7) {
          await admin.createTopics([{ topic }]);
          await append(topic, 3, ['a']);
        }
      },
    });
    await c.start((m) => void seen.push(m.offset));
    await waitFor(() => seen.length === 3);
    expect(delays).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(c.reconnects).toBe(7);
    expect(errors.length).toBe(7);
    expect(errors.every((e) => isTributaryError(e) && e.code === 'ERR_UNKNOWN_TOPIC')).toBe(true);
    await admin.close();
  });

  it('replaces a transport consumer that gave up (topic deleted) and continues after the last record it had', async () => {
    const topic = await topicWith(transport, keyedRecords(5, ['a']));
    const admin = transport.admin();
    const seen: number[] = [];
    let recreate: (() => Promise<void>) | undefined;
    const c = consumer({
      topic,
      partition: 0,
      reconnect: { initialMs: 1, maxMs: 1 },
      sleep: async () => {
        await recreate?.();
      },
    });
    await c.start((m) => void seen.push(m.offset));
    await waitFor(() => seen.length === 5);
    recreate = async () => {
      recreate = undefined;
      await admin.createTopics([{ topic }]);
      await append(topic, 8, ['a']);
    };
    await admin.deleteTopics([topic]);
    await waitFor(() => seen.length === 8, { message: 'offsets 5–7 of the new log' });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(c.reconnects).toBeGreaterThanOrEqual(1);
    await admin.close();
  });

  it('close drains the running record and saves the final offset', async () => {
    const topic = await topicWith(transport, keyedRecords(5, ['a']));
    const store = new MemoryOffsetStore();
    const gated = new GatedHandler();
    const c = consumer({ topic, partition: 0, offsetStore: store, commitIntervalMs: 60_000 });
    await c.start(gated.handler);
    await gated.release(0);
    await waitFor(() => gated.running().length === 1);
    const closing = c.close();
    await gated.release(1);
    await withTimeout(closing, 2_000, 'close');
    expect(await store.load(topic, 0)).toBe(2);
    expect(gated.started()).toEqual(['0', '1']);
  });

  it('the stop policy stops it: wait() rejects with ERR_STOPPED and the store stays below the failure', async () => {
    const topic = await topicWith(transport, keyedRecords(10, ['a', 'b']));
    const store = new MemoryOffsetStore();
    const c = consumer({ topic, partition: 0, offsetStore: store, exhaustedPolicy: 'stop', retry: { maxAttempts: 1 } });
    await c.start((m) => {
      if (m.offset === 4) throw new Error('poison');
    });
    await expect(withTimeout(c.wait(), 5_000, 'stop')).rejects.toMatchObject({ code: 'ERR_STOPPED' });
    expect(await store.load(topic, 0)).toBeLessThanOrEqual(4);
  });
});
