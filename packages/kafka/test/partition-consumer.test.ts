/**
 * Partition consumer behaviour on the real broker beyond the conformance suite.
 */
import type { Logger, PartitionConsumer, TributaryError } from '@tributary/core';
import { ConsumerRecorder, deferred, uniqueTopic, waitFor, withTimeout } from '@tributary/testutil';
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

/** A logger that keeps what is logged at warn, with its fields. */
function warnLog(): Logger & { readonly warned: { readonly fields: Record<string, unknown>; readonly message: string }[] } {
  const warned: { fields: Record<string, unknown>; message: string }[] = [];
  const ignore = (): void => undefined;
  const logger = {
    warned,
    trace: ignore,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (objOrMsg: object | string, msg?: string): void =>
      void warned.push(typeof objOrMsg === 'string' ? { fields: {}, message: objOrMsg } : { fields: { ...objOrMsg }, message: msg ?? '' }),
    child: () => logger,
  };
  return logger;
}

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

  it('close() gives up on an onBatch that never settles after closeTimeoutMs, warns naming the partition and the wait, and ignores its late failure', async () => {
    const logger = warnLog();
    const closeTimeoutMs = 300;
    const c = transport.partitionConsumer({ topic, partition: 0, from: 'earliest', closeTimeoutMs, logger });
    consumers.push(c);
    const never = deferred();
    const errors: TributaryError[] = [];
    let batches = 0;
    try {
      await c.run({
        onBatch: async () => {
          batches += 1;
          await never.promise;
        },
        onError: (e) => errors.push(e),
      });
      await waitFor(() => batches === 1, { timeoutMs: 10_000 });
      const started = Date.now();
      await withTimeout(c.close(), closeTimeoutMs + 10_000, 'close() with an onBatch that never settles');
      expect(Date.now() - started).toBeGreaterThanOrEqual(closeTimeoutMs - 20);
      const gaveUp = logger.warned.find((w) => w.message.includes('did not settle'));
      expect(gaveUp?.message).toContain(`${topic}/0`);
      expect(gaveUp?.message).toMatch(/after \d+ ms/);
      expect(gaveUp?.fields).toMatchObject({ closeTimeoutMs });
      expect(gaveUp?.fields.waitedMs).toBeGreaterThanOrEqual(closeTimeoutMs - 20);

      never.reject(new Error('failed after close()'));
      await waitFor(() => logger.warned.some((w) => w.message.includes('rejected after close()')), { timeoutMs: 5_000 });
      expect(errors).toEqual([]);
      expect(batches).toBe(1);
    } finally {
      never.resolve();
    }
  });
});
