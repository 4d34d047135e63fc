import { isTributaryError, partitionForKey, type Message, type SendResult } from '@tributary/core';
import { memory, MemoryBroker, type MemoryTransport } from '@tributary/memory';
import { unique } from './support/async';

/** Reads every record of a topic through a partition consumer per partition. */
async function readAll(transport: MemoryTransport, topic: string): Promise<Message[][]> {
  const admin = transport.admin();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.close();
  const out: Message[][] = [];
  for (const { partition, high } of offsets) {
    const messages: Message[] = [];
    if (high > 0) {
      const consumer = transport.partitionConsumer({ topic, partition, from: 'earliest' });
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      await consumer.run({
        async onBatch(batch) {
          messages.push(...batch.messages);
          if (messages.length >= high) done();
        },
      });
      await finished;
      await consumer.close();
    }
    out.push(messages);
  }
  return out;
}

function okResults(results: SendResult[]): Array<{ partition: number; offset: number }> {
  return results.map((r) => {
    if (!r.ok) throw new Error(`unexpected failure: ${r.error.message}`);
    return { partition: r.partition, offset: r.offset };
  });
}

describe('MemoryProducer', () => {
  let transport: MemoryTransport;
  let topic: string;

  beforeEach(async () => {
    transport = memory();
    topic = unique('orders');
    const admin = transport.admin();
    await admin.createTopics([{ topic, partitions: 3 }]);
    await admin.close();
  });

  afterEach(async () => {
    await transport.close();
  });

  it('puts keyed records in the partition Kafka would choose, with per-partition offsets from 0', async () => {
    const producer = transport.producer();
    const keys = ['21', 'foobar', 'abc', 'kafka', '21', 'foobar', 'a', 'b', 'c', 'd'];
    const results = okResults(await producer.send(keys.map((key) => ({ topic, key, value: key }))));

    expect(results.map((r) => r.partition)).toEqual(keys.map((k) => partitionForKey(k, 3)));
    // '21' (partition 0 of 3, from Kafka's UtilsTest hash) — pinned so a partitioner change cannot hide.
    expect(results[0]?.partition).toBe(0);
    const nextOffset = [0, 0, 0];
    for (const r of results) expect(r.offset).toBe(nextOffset[r.partition]!++);
  });

  it('keeps a key in one partition across calls, and in input order', async () => {
    const producer = transport.producer();
    const first = okResults(await producer.send([{ topic, key: 'user-7', value: '1' }]));
    const second = okResults(await producer.send([{ topic, key: 'user-7', value: '2' }, { topic, key: 'user-7', value: '3' }]));
    expect(new Set([...first, ...second].map((r) => r.partition)).size).toBe(1);
    expect([...first, ...second].map((r) => r.offset)).toEqual([0, 1, 2]);

    const partitions = await readAll(transport, topic);
    const p = partitions[first[0]!.partition]!;
    expect(p.map((m) => Buffer.from(m.value!).toString())).toEqual(['1', '2', '3']);
  });

  it('honours an explicit partition over the key', async () => {
    const producer = transport.producer();
    const key = 'foobar';
    const other = (partitionForKey(key, 3) + 1) % 3;
    const [r] = okResults(await producer.send([{ topic, key, value: 'x', partition: other }]));
    expect(r?.partition).toBe(other);
  });

  it('fails only the record with a partition that does not exist', async () => {
    const producer = transport.producer();
    const results = await producer.send([
      { topic, value: 'a', partition: 0 },
      { topic, value: 'b', partition: 3 },
      { topic, value: 'c', partition: -1 },
      { topic, value: 'd', partition: 2 },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    const bad = results[1]!;
    if (bad.ok) throw new Error('expected a failure');
    expect(bad.error.code).toBe('ERR_UNKNOWN_TOPIC');
    expect(bad.error.context).toMatchObject({ topic, partition: 3 });
  });

  it('deals null-key records round-robin over the partitions, per record', async () => {
    const producer = transport.producer();
    const a = okResults(await producer.send(Array.from({ length: 4 }, (_, i) => ({ topic, value: `v${i}` }))));
    const b = okResults(await producer.send([{ topic, key: null, value: 'v4' }, { topic, value: 'v5' }]));
    expect([...a, ...b].map((r) => r.partition)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('fails records larger than maxRecordBytes (key + value + headers) with ERR_RECORD_TOO_LARGE, alone', async () => {
    const small = memory({ maxRecordBytes: 20 });
    try {
      const admin = small.admin();
      await admin.createTopics([{ topic }]);
      expect(small.features.maxRecordBytes).toBe(20);
      const producer = small.producer();
      const results = await producer.send([
        { topic, key: 'k', value: 'x'.repeat(19) }, // 1 + 19 = 20: fits exactly
        { topic, key: 'k', value: 'x'.repeat(20) }, // 21
        { topic, value: 'x'.repeat(10), headers: { h: 'y'.repeat(10) } }, // 10 + 1 + 10 = 21
        { topic, value: new Uint8Array(21) },
        { topic, key: 'é', value: 'x'.repeat(18) }, // 'é' is 2 UTF-8 bytes: 20
        { topic, key: 'é', value: 'x'.repeat(19) }, // 21
        { topic, value: 'ok' },
      ]);
      expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
        'ok',
        'ERR_RECORD_TOO_LARGE',
        'ERR_RECORD_TOO_LARGE',
        'ERR_RECORD_TOO_LARGE',
        'ok',
        'ERR_RECORD_TOO_LARGE',
        'ok',
      ]);
      const failed = results[1]!;
      expect(!failed.ok && failed.error.retriable).toBe(false);
      // Failed records take no offset.
      expect(results.filter((r) => r.ok).map((r) => (r.ok ? r.offset : -1))).toEqual([0, 1, 2]);
      await admin.close();
    } finally {
      await small.close();
    }
  });

  it('defaults maxRecordBytes to 2 MiB', async () => {
    expect(transport.features.maxRecordBytes).toBe(2 * 1024 * 1024);
    const producer = transport.producer();
    const results = await producer.send([
      { topic, value: new Uint8Array(2 * 1024 * 1024) },
      { topic, value: new Uint8Array(2 * 1024 * 1024 + 1) },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
  });

  it('fails records to a missing topic with ERR_UNKNOWN_TOPIC when auto-create is off (the default)', async () => {
    const producer = transport.producer();
    const missing = unique('missing');
    const results = await producer.send([
      { topic: missing, key: 'k', value: 'a' },
      { topic, key: 'k', value: 'b' },
      { topic: missing, value: 'c' },
    ]);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ERR_UNKNOWN_TOPIC', 'ok', 'ERR_UNKNOWN_TOPIC']);
    const first = results[0]!;
    expect(first.topic).toBe(missing);
    expect(!first.ok && isTributaryError(first.error) && first.error.context).toMatchObject({ topic: missing, key: 'k' });
    const admin = transport.admin();
    expect(await admin.listTopics()).not.toContain(missing);
    await admin.close();
  });

  it('auto-creates a missing topic with defaultPartitions when autoCreateTopics is on', async () => {
    const auto = memory({ autoCreateTopics: true, defaultPartitions: 4 });
    try {
      const name = unique('auto');
      const producer = auto.producer();
      const results = await producer.send([{ topic: name, value: 'a' }, { topic: 'bad name!', value: 'b' }]);
      expect(results[0]?.ok).toBe(true);
      expect(results[1]?.ok).toBe(false);
      const admin = auto.admin();
      expect(await admin.fetchTopicOffsets(name)).toHaveLength(4);
      expect(await admin.listTopics()).toEqual([name]);
    } finally {
      await auto.close();
    }
  });

  it('stores tombstones, UTF-8 values, headers and timestamps', async () => {
    const producer = transport.producer();
    const before = Date.now();
    await producer.send([
      { topic, key: 'k', value: 'héllo', headers: { 'content-type': 'text/plain', trace: 'ab' } },
      { topic, key: 'k', value: null },
      { topic, key: 'k', value: new Uint8Array([1, 2, 3]), timestamp: 1_700_000_000_000 },
    ]);
    const after = Date.now();
    const p = (await readAll(transport, topic))[partitionForKey('k', 3)]!;
    expect(p).toHaveLength(3);
    const [text, tombstone, bytes] = p as [Message, Message, Message];
    expect(Buffer.from(text.value!).toString('utf8')).toBe('héllo');
    expect(text.headers).toEqual({ 'content-type': 'text/plain', trace: 'ab' });
    expect(text.timestamp).toBeGreaterThanOrEqual(before);
    expect(text.timestamp).toBeLessThanOrEqual(after);
    expect(tombstone.value).toBeNull();
    expect(tombstone.key).toBe('k');
    expect(tombstone.headers).toEqual({});
    expect([...bytes.value!]).toEqual([1, 2, 3]);
    expect(bytes.timestamp).toBe(1_700_000_000_000);
    expect(text).toMatchObject({ topic, partition: partitionForKey('k', 3), offset: 0 });
  });

  it('copies headers, so later changes by the caller do not reach consumers, and freezes messages', async () => {
    const producer = transport.producer();
    const headers: Record<string, string> = { a: '1' };
    await producer.send([{ topic, partition: 0, value: 'x', headers }]);
    headers.a = 'changed';
    const [m] = (await readAll(transport, topic))[0]!;
    expect(m?.headers).toEqual({ a: '1' });
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m?.headers)).toBe(true);
  });

  it('fails records with an invalid timestamp, key, value or header', async () => {
    const producer = transport.producer();
    const results = await producer.send([
      { topic, value: 'a', timestamp: -1 },
      { topic, value: 'b', timestamp: 1.5 },
      { topic, key: 42 as unknown as string, value: 'c' },
      { topic, value: 42 as unknown as string },
      { topic, value: 'd', headers: { h: 1 as unknown as string } },
      { topic, value: 'ok' },
    ]);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'ERR_PRODUCE',
      'ERR_PRODUCE',
      'ERR_PRODUCE',
      'ERR_PRODUCE',
      'ERR_PRODUCE',
      'ok',
    ]);
  });

  it('resolves connect and flush, and rejects calls after close with ERR_CLOSED', async () => {
    const producer = transport.producer({ clientId: 'p1' });
    await producer.connect();
    await producer.flush();
    await producer.close();
    await producer.close();
    await expect(producer.send([{ topic, value: 'x' }])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(producer.flush()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(producer.connect()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('rejects a call whose argument is not an array', async () => {
    const producer = transport.producer();
    await expect(producer.send({} as never)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('fails an entry that is not a record alone', async () => {
    const results = await transport.producer().send([null as never, { topic, value: 'ok' }]);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ERR_PRODUCE', 'ok']);
  });

  it('returns an empty result for an empty send', async () => {
    await expect(transport.producer().send([])).resolves.toEqual([]);
  });

  it('appends successive un-awaited calls in call order', async () => {
    const producer = transport.producer();
    const calls = Array.from({ length: 5 }, (_, i) => producer.send([{ topic, partition: 1, value: String(i) }]));
    const results = (await Promise.all(calls)).flat();
    expect(okResults(results).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('sees topics of a shared broker', async () => {
    const broker = new MemoryBroker();
    const a = memory({ broker });
    const b = memory({ broker });
    try {
      await a.admin().createTopics([{ topic }]);
      const [r] = await b.producer().send([{ topic, value: 'x' }]);
      expect(r?.ok).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
