/**
 * Producer behaviour on the real broker beyond the conformance suite:
 * backpressure on a full local queue, Java's key partitioning, per-record
 * failures classified, metrics.
 */
import { murmur2, partitionForKey, type SendResult } from '@tributary/core';
import { ConsumerRecorder, uniqueTopic } from '@tributary/testutil';
import type { KafkaTransport } from '@tributary/kafka';
import { testTransport } from './support/broker';

let transport: KafkaTransport;

beforeAll(() => {
  transport = testTransport();
});

afterAll(async () => {
  await transport.close();
});

async function createTopic(partitions: number, config?: Record<string, string>): Promise<string> {
  const topic = uniqueTopic('kafka-producer');
  const admin = transport.admin();
  try {
    await admin.createTopics([{ topic, partitions, ...(config ? { config } : {}) }]);
  } finally {
    await admin.close();
  }
  return topic;
}

function okOffsets(results: readonly SendResult[]): number[] {
  return results.map((r) => {
    if (!r.ok) throw new Error(`send failed: ${r.error.code} ${r.error.message}`);
    return r.offset;
  });
}

describe('kafka producer', () => {
  it('waits for room when librdkafka’s local queue is full instead of failing, keeping call order', async () => {
    const topic = await createTopic(1);
    // A 20-record local queue: 2,000 records must wait for delivery reports many times over.
    const small = testTransport({ rdkafka: { producer: { 'queue.buffering.max.messages': 20 } } });
    try {
      const producer = small.producer();
      const first = producer.send(Array.from({ length: 1_000 }, (_, i) => ({ topic, value: `a${i}` })));
      const second = producer.send(Array.from({ length: 1_000 }, (_, i) => ({ topic, value: `b${i}` })));
      const [a, b] = await Promise.all([first, second]);
      const offsetsA = okOffsets(a);
      const offsetsB = okOffsets(b);
      expect(offsetsA).toEqual([...offsetsA].sort((x, y) => x - y));
      expect(Math.min(...offsetsB)).toBeGreaterThan(Math.max(...offsetsA));
      expect(new Set([...offsetsA, ...offsetsB]).size).toBe(2_000);
      const metrics = producer.metrics();
      expect(metrics.queueFullWaits).toBeGreaterThan(0);
      expect(metrics).toMatchObject({ sent: 2_000, failed: 0, pending: 0 });
      await producer.close();
    } finally {
      await small.close();
    }
  });

  it("puts a key where Java's murmur2 partitioner does (Kafka's own test vectors for the hash)", async () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2('abc')).toBe(479470107);
    const partitions = 7;
    const topic = await createTopic(partitions);
    const keys = ['21', 'foobar', 'abc', 'ключ', '🔑', '', ...Array.from({ length: 60 }, (_, i) => `order-${i}`)];
    const producer = transport.producer();
    const results = await producer.send(keys.map((key) => ({ topic, key, value: 'v' })));
    const mismatches = keys.filter((key, i) => {
      const r = results[i] as SendResult;
      return !r.ok || r.partition !== partitionForKey(key, partitions);
    });
    expect(mismatches).toEqual([]);
    await producer.close();
  });

  it('fails records for a missing topic alone with ERR_UNKNOWN_TOPIC (topics are never auto-created)', async () => {
    const topic = await createTopic(1);
    const missing = uniqueTopic('kafka-missing');
    const producer = transport.producer();
    const results = await producer.send([
      { topic, value: 'ok' },
      { topic: missing, value: 'lost' },
      { topic, value: 'ok too' },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const failed = results[1] as Extract<SendResult, { ok: false }>;
    expect([failed.error.code, failed.error.retriable, failed.topic]).toEqual(['ERR_UNKNOWN_TOPIC', false, missing]);
    const admin = transport.admin();
    expect(await admin.listTopics()).not.toContain(missing);
    await admin.close();
    expect(producer.metrics()).toMatchObject({ sent: 2, failed: 1 });
    await producer.close();
  });

  it("reports a record over the topic's max.message.bytes as ERR_RECORD_TOO_LARGE from the broker", async () => {
    const topic = await createTopic(1, { 'max.message.bytes': '2000' });
    const producer = transport.producer();
    const [big] = await producer.send([{ topic, key: 'big', value: new Uint8Array(10_000).fill(7) }]);
    const [small] = await producer.send([{ topic, key: 'small', value: 'fits' }]);
    expect(big?.ok === false && [big.error.code, big.error.message]).toEqual(['ERR_RECORD_TOO_LARGE', expect.stringMatching(/Message size too large/)]);
    expect(small?.ok).toBe(true);
    await producer.close();
  });

  it('fails malformed records alone (ERR_PRODUCE, not retriable) and rejects a non-array call with ERR_CONFIG', async () => {
    const topic = await createTopic(1);
    const producer = transport.producer();
    const results = await producer.send([
      { topic, value: 'fine' },
      { topic, value: 42 as unknown as string },
      { topic, value: 'x', headers: { h: 1 as unknown as string } },
      { topic, value: 'x', partition: -3 },
      { topic: '', value: 'x' },
    ]);
    expect(results.map((r) => (r.ok ? 'ok' : `${r.error.code}:${r.error.retriable}`))).toEqual([
      'ok',
      'ERR_PRODUCE:false',
      'ERR_PRODUCE:false',
      'ERR_PRODUCE:false',
      'ERR_PRODUCE:false',
    ]);
    await expect(producer.send('nope' as never)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await producer.close();
    await expect(producer.flush()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(producer.connect()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('gives every record of one call exactly its own headers (the binding list is reused from record to record)', async () => {
    const topic = await createTopic(1);
    const headerSets: (Record<string, string> | undefined)[] = [
      { a: '1', b: '2', c: '3' },
      { b: 'only-b' },
      undefined,
      {},
      { c: 'ç', a: '' },
      { 'trace-id': 'x'.repeat(300) },
      { a: 'again' },
    ];
    const producer = transport.producer();
    okOffsets(await producer.send(headerSets.map((headers, i) => ({ topic, partition: 0, value: `v${i}`, ...(headers ? { headers } : {}) }))));
    await producer.close();
    const consumer = transport.partitionConsumer({ topic, partition: 0, from: 'earliest' });
    try {
      const recorder = new ConsumerRecorder();
      await consumer.run(recorder.handlers);
      await recorder.waitForDistinct(headerSets.length, { timeoutMs: 10_000 });
      expect(recorder.messages.map((m) => m.headers)).toEqual(headerSets.map((h) => h ?? {}));
    } finally {
      await consumer.close();
    }
  });

  it('counts what is pending until the broker answered', async () => {
    const topic = await createTopic(2);
    const producer = transport.producer();
    await producer.connect();
    const sending = producer.send(Array.from({ length: 200 }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}` })));
    expect(producer.metrics().pending).toBe(200);
    await sending;
    expect(producer.metrics()).toMatchObject({ sent: 200, failed: 0, pending: 0 });
    await producer.close();
  });
});
