/**
 * Partition consumer behaviour on the real broker beyond the conformance suite.
 */
import type { PartitionConsumer, TributaryError } from '@tributary/core';
import { ConsumerRecorder, uniqueTopic, waitFor } from '@tributary/testutil';
import type { KafkaTransport } from '@tributary/kafka';
import { testTransport } from './support/broker';

let transport: KafkaTransport;
let topic: string;
const consumers: PartitionConsumer[] = [];

beforeAll(async () => {
  transport = testTransport();
  topic = uniqueTopic('kafka-pc');
  const admin = transport.admin();
  await admin.createTopics([{ topic, partitions: 2 }]);
  await admin.close();
  const producer = transport.producer();
  await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic, partition: 0, value: `v${i}` })));
  await producer.close();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await transport.close();
});

function reader(from: number | 'earliest' | 'latest', partition = 0): PartitionConsumer {
  const c = transport.partitionConsumer({ topic, partition, from, maxBatchRecords: 4 });
  consumers.push(c);
  return c;
}

describe('kafka partition consumer', () => {
  it('clamps a start offset past the end of the log to the end; position() is exact before any record', async () => {
    const c = reader(1_000);
    expect(c.position()).toBe(1_000);
    const recorder = new ConsumerRecorder({ maxBatchRecords: 4 });
    await c.run(recorder.handlers);
    expect(c.position()).toBe(10);
    const producer = transport.producer();
    await producer.send([{ topic, partition: 0, value: 'new' }]);
    await producer.close();
    await recorder.waitForDistinct(1, { timeoutMs: 10_000 });
    expect(recorder.messages.map((m) => m.offset)).toEqual([10]);
  });

  it('starts where a seek before run() points, and reports unknown positions as -1', async () => {
    const latest = reader('latest');
    expect(latest.position()).toBe(-1);
    const c = reader('earliest');
    c.seek(7);
    const recorder = new ConsumerRecorder({ maxBatchRecords: 4 });
    await c.run(recorder.handlers);
    await recorder.waitForDistinct(3, { timeoutMs: 10_000 });
    expect(recorder.messages.map((m) => m.offset).slice(0, 3)).toEqual([7, 8, 9]);
  });

  it('rejects run() on a partition that does not exist with ERR_UNKNOWN_TOPIC', async () => {
    const c = reader('earliest', 5);
    await expect(c.run({ onBatch: async () => undefined })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
    await expect(c.run({ onBatch: async () => undefined })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('stops and closes when onBatch rejects, reporting the error', async () => {
    const c = reader('earliest');
    const errors: TributaryError[] = [];
    let batches = 0;
    await c.run({
      onBatch: async () => {
        batches += 1;
        throw new Error('handler broke');
      },
      onError: (e) => errors.push(e),
    });
    await waitFor(() => errors.length > 0, { timeoutMs: 10_000 });
    expect(errors[0]?.code).toBe('ERR_HANDLER');
    await waitFor(async () => (await c.run({ onBatch: async () => undefined }).catch((e: TributaryError) => e.code)) === 'ERR_CLOSED', { timeoutMs: 10_000 });
    expect(batches).toBe(1);
  });
});
