/**
 * Group consumer behaviour on the real broker beyond the conformance suite:
 * asynchronous revocation (librdkafka's rebalance held until onRevoked
 * settles), the rebalance timeout, errors, metrics and lag.
 */
import { consumerLag, isTributaryError, partitionKey, type GroupConsumer, type Logger, type TopicPartition, type TributaryError } from '@tributary/core';
import { ConsumerRecorder, deferred, uniqueGroup, uniqueTopic, waitFor, withTimeout } from '@tributary/testutil';
import { kafka, type KafkaTransport } from '@tributary/kafka';
import { testTransport } from './support/broker';
import { warnLogger } from './support/warn-logger';

let transport: KafkaTransport;
const consumers: GroupConsumer[] = [];

beforeAll(() => {
  transport = testTransport();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await transport.close();
});

async function createTopic(partitions: number): Promise<string> {
  const topic = uniqueTopic('kafka-group');
  const admin = transport.admin();
  try {
    await admin.createTopics([{ topic, partitions }]);
  } finally {
    await admin.close();
  }
  return topic;
}

async function produce(topic: string, perPartition: number, partitions: number, prefix = 'v'): Promise<void> {
  const producer = transport.producer();
  const records = Array.from({ length: perPartition * partitions }, (_, i) => ({ topic, partition: i % partitions, value: `${prefix}${i}` }));
  const results = await producer.send(records);
  await producer.close();
  expect(results.filter((r) => !r.ok)).toEqual([]);
}


function member(groupId: string, topic: string, options: { rebalanceTimeoutMs?: number; maxBatchRecords?: number; logger?: Logger } = {}): GroupConsumer {
  const consumer = transport.groupConsumer({ groupId, topics: [topic], ...options });
  consumers.push(consumer);
  return consumer;
}

function codeOfThrow(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isTributaryError(err) ? err.code : 'not a TributaryError';
  }
  return 'no error';
}

const owned = (c: GroupConsumer, topic: string): number[] =>
  c
    .assignment()
    .filter((tp) => tp.topic === topic)
    .map((tp) => tp.partition)
    .sort();

describe('kafka group consumer: asynchronous revocation', () => {
  it('holds the rebalance until onRevoked settles: the next owner starts exactly where onRevoked committed', async () => {
    const topic = await createTopic(2);
    await produce(topic, 10, 2);
    const groupId = uniqueGroup('kafka-revoke');
    const timeline: string[] = [];
    const processed = new Map<number, number>();
    const releaseRevoke = deferred<void>();
    const committedInRevoke: TopicPartition[] = [];

    const a = member(groupId, topic);
    const recorderA = new ConsumerRecorder({
      label: 'A',
      checkAssignment: true,
      onBatch: (batch) => {
        processed.set(batch.partition, (batch.messages.at(-1)?.offset ?? -1) + 1);
      },
      onRevoked: async (partitions) => {
        timeline.push('A onRevoked start');
        await releaseRevoke.promise;
        const offsets = partitions.filter((tp) => processed.has(tp.partition)).map((tp) => ({ ...tp, offset: processed.get(tp.partition)! }));
        await a.commit(offsets);
        committedInRevoke.push(...offsets);
        timeline.push('A onRevoked end');
      },
    });
    await a.run(recorderA.handlers);
    await recorderA.waitForDistinct(20, { timeoutMs: 15_000 });

    const b = member(groupId, topic);
    const recorderB = new ConsumerRecorder({
      label: 'B',
      checkAssignment: true,
      onAssigned: (partitions) => {
        if (partitions.length > 0) timeline.push('B onAssigned');
      },
    });
    await b.run(recorderB.handlers);
    await waitFor(() => timeline.includes('A onRevoked start'), { timeoutMs: 30_000, message: 'A to start revoking' });
    // While A drains, B owns nothing and receives nothing, even for new records.
    await produce(topic, 2, 2, 'during-');
    expect(owned(b, topic)).toEqual([]);
    expect(recorderB.count).toBe(0);
    releaseRevoke.resolve();

    await waitFor(() => owned(a, topic).length === 1 && owned(b, topic).length === 1, { timeoutMs: 30_000, message: 'A and B to split the partitions' });
    const moved = owned(b, topic)[0]!;
    await waitFor(() => recorderB.distinctCount >= 2, { timeoutMs: 15_000, message: 'B to receive the records sent during the revocation' });
    expect(timeline.indexOf('A onRevoked end')).toBeGreaterThan(timeline.indexOf('A onRevoked start'));
    expect(timeline.indexOf('B onAssigned')).toBeGreaterThan(timeline.indexOf('A onRevoked end'));
    const committed = committedInRevoke.find((tp) => tp.partition === moved) as TopicPartition & { offset: number };
    expect(committed.offset).toBe(10);
    expect(recorderB.offsetsOf({ topic, partition: moved })[0]).toBe(committed.offset);
    recorderA.assertNoViolations();
    recorderB.assertNoViolations();
    expect([...recorderA.errors, ...recorderB.errors]).toEqual([]);
  });

  it('calls onRevoked only after the in-flight batch of the revoked partition settled', async () => {
    const topic = await createTopic(2);
    await produce(topic, 5, 2);
    const groupId = uniqueGroup('kafka-inflight');
    const gate = deferred<void>();
    const log: string[] = [];
    const a = member(groupId, topic);
    // Every first batch of A stays in flight until the gate opens: whichever partition moves, it has one.
    const recorderA = new ConsumerRecorder({
      label: 'A',
      checkAssignment: true,
      onBatch: async (batch) => {
        log.push(`batch ${batch.partition} start`);
        await gate.promise;
        log.push(`batch ${batch.partition} end`);
      },
      onRevoked: (partitions) => {
        log.push(`revoked ${partitions.map((p) => p.partition).join(',')}`);
      },
    });
    try {
      await a.run(recorderA.handlers);
      await waitFor(() => recorderA.inFlight({ topic, partition: 0 }) && recorderA.inFlight({ topic, partition: 1 }), {
        timeoutMs: 15_000,
        message: 'a batch in flight on both partitions',
      });
      const b = member(groupId, topic);
      const recorderB = new ConsumerRecorder({
        label: 'B',
        checkAssignment: true,
        onAssigned: (partitions) => {
          if (partitions.length > 0) log.push('B assigned');
        },
      });
      await b.run(recorderB.handlers);
      // B has joined (its first, empty assignment came); A was asked to give a partition up but cannot yet.
      expect(log.filter((l) => l.startsWith('revoked'))).toEqual([]);
      expect(owned(b, topic)).toEqual([]);
      gate.resolve();
      await waitFor(() => owned(b, topic).length === 1, { timeoutMs: 30_000, message: 'B to get a partition' });
      const revoked = log.find((l) => l.startsWith('revoked')) as string;
      const partition = revoked.split(' ')[1];
      expect(log.indexOf(revoked)).toBeGreaterThan(log.indexOf(`batch ${partition} end`));
      expect(log.indexOf('B assigned')).toBeGreaterThan(log.indexOf(revoked));
      recorderA.assertNoViolations();
      recorderB.assertNoViolations();
    } finally {
      gate.resolve();
    }
  });

  it('releases the partitions after rebalanceTimeoutMs when onRevoked hangs, and reports ERR_TIMEOUT', async () => {
    const topic = await createTopic(2);
    const groupId = uniqueGroup('kafka-timeout');
    const never = deferred<void>();
    const a = member(groupId, topic, { rebalanceTimeoutMs: 1_000 });
    const recorderA = new ConsumerRecorder({ label: 'A', onRevoked: () => never.promise });
    await a.run(recorderA.handlers);
    await waitFor(() => owned(a, topic).length === 2, { timeoutMs: 30_000 });
    const b = member(groupId, topic);
    const recorderB = new ConsumerRecorder({ label: 'B' });
    await b.run(recorderB.handlers);
    await waitFor(() => owned(b, topic).length === 1 && owned(a, topic).length === 1, { timeoutMs: 30_000, message: 'the partitions to split despite the hanging onRevoked' });
    await waitFor(() => recorderA.errors.some((e) => e.code === 'ERR_TIMEOUT'), { timeoutMs: 5_000 });
    never.resolve();
    expect(recorderB.errors).toEqual([]);
  });
});

describe('kafka group consumer', () => {
  it('delivers batches with the high watermark, counts them, and its lag is read with core’s consumerLag', async () => {
    const topic = await createTopic(2);
    await produce(topic, 15, 2);
    const groupId = uniqueGroup('kafka-lag');
    const c = member(groupId, topic, { maxBatchRecords: 4 });
    const recorder = new ConsumerRecorder({ label: 'lag', maxBatchRecords: 4 });
    await c.run(recorder.handlers);
    await recorder.waitForDistinct(30, { timeoutMs: 15_000 });
    expect(recorder.batches.every((b) => b.highWatermark === 15)).toBe(true);
    expect(transport.groupConsumer).toBeDefined();
    const metrics = (c as ReturnType<KafkaTransport['groupConsumer']>).metrics();
    expect(metrics).toMatchObject({ records: 30, failedBatches: 0, buffered: 0 });
    expect(metrics.batches).toBeGreaterThanOrEqual(8);
    expect(metrics.rebalances).toBeGreaterThanOrEqual(1);
    await c.commit([{ topic, partition: 0, offset: 15 }, { topic, partition: 1, offset: 5 }]);
    const admin = transport.admin();
    try {
      const lag = await consumerLag(admin, groupId, [topic]);
      expect(lag.map(({ partition, committed, high, lag: behind }) => ({ partition, committed, high, behind }))).toEqual([
        { partition: 0, committed: 15, high: 15, behind: 0 },
        { partition: 1, committed: 5, high: 15, behind: 10 },
      ]);
    } finally {
      await admin.close();
    }
  });

  it('reports a subscribed topic that does not exist to onError as ERR_UNKNOWN_TOPIC and keeps running', async () => {
    const missing = uniqueTopic('kafka-missing');
    const c = member(uniqueGroup('kafka-missing'), missing, { rebalanceTimeoutMs: 1_500 });
    const errors: TributaryError[] = [];
    await c.run({ onBatch: async () => undefined, onError: (e) => errors.push(e) });
    await waitFor(() => errors.some((e) => e.code === 'ERR_UNKNOWN_TOPIC'), { timeoutMs: 15_000, message: 'an ERR_UNKNOWN_TOPIC report' });
    expect(c.assignment()).toEqual([]);
  });

  it('close() gives up on an onBatch that outlives rebalanceTimeoutMs and ignores its late rejection: logged, not reported to onError', async () => {
    const topic = await createTopic(1);
    await produce(topic, 1, 1);
    const logger = warnLogger();
    const rebalanceTimeoutMs = 500;
    const c = member(uniqueGroup('kafka-abandon'), topic, { rebalanceTimeoutMs, logger });
    const never = deferred<void>();
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
      await waitFor(() => batches === 1, { timeoutMs: 15_000, message: 'the batch in flight' });
      await withTimeout(c.close(), rebalanceTimeoutMs + 10_000, 'close() with an onBatch that never settles');
      expect(logger.warned.some((m) => m.includes('gave up waiting for in-flight batches'))).toBe(true);

      never.reject(new Error('failed after close()'));
      await waitFor(() => errors.length > 0 || logger.warned.some((m) => m.includes('rejected after close()')), {
        timeoutMs: 5_000,
        message: 'the late rejection handled',
      });
      expect(errors).toEqual([]);
      expect(batches).toBe(1);
    } finally {
      never.resolve();
    }
  });

  it('validates commit and seek arguments, and rejects use after close with ERR_CLOSED', async () => {
    const topic = await createTopic(1);
    const c = member(uniqueGroup('kafka-args'), topic);
    const recorder = new ConsumerRecorder();
    await c.run(recorder.handlers);
    await expect(c.commit([{ topic, partition: 0, offset: -1 }])).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    expect(codeOfThrow(() => c.seek({ topic, partition: 0, offset: 1.5 }))).toBe('ERR_CONFIG');
    await expect(c.run(recorder.handlers)).rejects.toMatchObject({ code: 'ERR_STATE' });
    await c.close();
    expect(c.assignment()).toEqual([]);
    for (const call of [() => c.pause([{ topic, partition: 0 }]), () => c.resume([]), () => c.seek({ topic, partition: 0, offset: 0 })]) {
      expect(codeOfThrow(call)).toBe('ERR_CLOSED');
    }
    await expect(c.commit([])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('fails run() with ERR_CONNECTION within the connect timeout when no broker answers', async () => {
    const nowhere = kafka({ brokers: '127.0.0.1:1', connectTimeoutMs: 1_000 });
    try {
      const c = nowhere.groupConsumer({ groupId: uniqueGroup('kafka-nowhere'), topics: ['t'] });
      const started = Date.now();
      const err = await c.run({ onBatch: async () => undefined }).catch((e: unknown) => e);
      expect(isTributaryError(err) && [err.code, err.retriable]).toEqual(['ERR_CONNECTION', true]);
      expect((err as Error).message).toMatch(/127\.0\.0\.1:1/);
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(c.run({ onBatch: async () => undefined })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    } finally {
      await nowhere.close();
    }
  });

  it('does not deliver a revoked partition’s buffered records and does not redeliver what the member committed (partition keys)', async () => {
    const topic = await createTopic(3);
    await produce(topic, 30, 3);
    const groupId = uniqueGroup('kafka-handover');
    const a = member(groupId, topic, { maxBatchRecords: 5 });
    const recorderA = new ConsumerRecorder({
      label: 'A',
      checkAssignment: true,
      maxBatchRecords: 5,
      onBatch: async (batch) => {
        await a.commit([{ topic, partition: batch.partition, offset: batch.messages.at(-1)!.offset + 1 }]);
      },
    });
    await a.run(recorderA.handlers);
    await recorderA.waitForDistinct(90, { timeoutMs: 15_000 });
    const b = member(groupId, topic, { maxBatchRecords: 5 });
    const recorderB = new ConsumerRecorder({ label: 'B', checkAssignment: true, maxBatchRecords: 5 });
    await b.run(recorderB.handlers);
    await waitFor(() => owned(b, topic).length > 0 && owned(a, topic).length > 0, { timeoutMs: 30_000 });
    await produce(topic, 3, 3, 'after-');
    await waitFor(() => recorderA.distinctCount + recorderB.distinctCount >= 99, { timeoutMs: 15_000 });
    // B got only the new records of its partitions: everything older was committed by A.
    expect(recorderB.messages.every((m) => m.offset >= 30)).toBe(true);
    expect(new Set(recorderB.messages.map((m) => partitionKey(m)))).toEqual(new Set(owned(b, topic).map((p) => `${topic}/${p}`)));
    recorderA.assertNoViolations();
    recorderB.assertNoViolations();
  });
});
