/**
 * Fault tests on a real 3-broker cluster (tools/kafka; replication factor 3,
 * min.insync.replicas 2): what an idempotent acks=all producer and a group
 * consumer promise when brokers fail.
 *
 * - The partition leader crashes or shuts down while records stream in:
 *   every send succeeds, and the log holds each record exactly once, in
 *   order per key.
 * - Two of three nodes down: an acks=all send fails within its delivery
 *   timeout with a retriable error, and succeeds once the nodes are back.
 *
 * Run by jest.cluster.config.cjs (`npm run test:cluster`), which only ever
 * uses the cluster tools/kafka starts: these tests stop its nodes.
 */
import { isTributaryError, type Message, type ProducerRecord, type SendResult } from '@tributary/core';
import { ConsumerRecorder, orderViolationsPerKey, textOf, uniqueGroup, uniqueTopic, waitForCount, withTimeout } from '@tributary/testutil';
import type { KafkaTransport } from '@tributary/kafka';
import { testTransport } from '../support/broker';
import { partitionState, restoreCluster, startStoppedNodes, stopNode, toolsCluster, waitForPartition } from '../support/cluster';

let transport: KafkaTransport;

beforeAll(() => {
  toolsCluster();
  transport = testTransport();
});

const topics: string[] = [];

afterEach(async () => {
  // A failed test must not leave the cluster short of a node, nor its topics
  // behind (every topic is reloaded on each node restart of later runs).
  await restoreCluster();
  const admin = transport.admin();
  try {
    await admin.deleteTopics(topics.splice(0));
  } finally {
    await admin.close();
  }
});

afterAll(async () => {
  await transport.close();
});

async function createReplicatedTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueTopic(prefix);
  topics.push(topic);
  const admin = transport.admin();
  try {
    await admin.createTopics([{ topic, partitions, replicationFactor: 3 }]);
  } finally {
    await admin.close();
  }
  // Every replica in sync before the fault, or the test would prove less than it claims.
  await waitForPartition(topic, 0, (s) => s.isr.length === 3, 'all three replicas in sync');
  return topic;
}

/** `key-3:17` → 17: the record's sequence number within its key. */
function sequenceOf(m: Pick<Message, 'value'>): number {
  const text = textOf(m.value) ?? '';
  return Number(text.slice(text.lastIndexOf(':') + 1));
}

describe('kafka on a 3-broker cluster (RF 3, min.insync.replicas 2)', () => {
  it.each([
    ['crashes (SIGKILL)', 'SIGKILL'],
    ['shuts down (SIGTERM)', 'SIGTERM'],
  ] as const)(
    'loses and duplicates nothing, in order per key, when the partition leader %s while records stream in',
    async (_how, signal) => {
      const topic = await createReplicatedTopic('kafka-failover', 3);
      const { leader } = await partitionState(topic, 0);
      const producer = transport.producer();
      await producer.connect();

      // A steady stream: a batch every TICK_MS, sent without awaiting the one
      // before (call order per partition is kept), so records are in flight
      // whenever the leader dies. The ticker is the workload, not a wait.
      const KEYS = 8;
      const PER_BATCH = 20;
      const TICK_MS = 25;
      const nextSeq = new Map<string, number>();
      const records: ProducerRecord[] = [];
      const sends: Promise<SendResult[]>[] = [];
      let acked = 0;
      const sendBatch = (): void => {
        const batch = Array.from({ length: PER_BATCH }, (_, i) => {
          const key = `key-${(records.length + i) % KEYS}`;
          const seq = nextSeq.get(key) ?? 0;
          nextSeq.set(key, seq + 1);
          return { topic, key, value: `${key}:${seq}` };
        });
        records.push(...batch);
        sends.push(
          producer.send(batch).then((results) => {
            acked++;
            return results;
          }),
        );
      };
      const ticker = setInterval(sendBatch, TICK_MS);
      try {
        await waitForCount(() => acked, 5, { timeoutMs: 30_000, message: 'batches acknowledged before the fault' });
        const before = sends.length;
        await stopNode(leader, signal);
        const moved = await waitForPartition(topic, 0, (s) => s.leader >= 0 && s.leader !== leader && !s.isr.includes(leader), `a new leader after node ${leader} stopped`);
        expect(moved.isr.length).toBeGreaterThanOrEqual(2);
        // Production went on through the failover: batches sent after the node died are acknowledged.
        const afterFault = sends.length;
        await waitForCount(() => acked, afterFault + 5, { timeoutMs: 60_000, message: 'batches acknowledged after the failover' });
        expect(afterFault).toBeGreaterThan(before);
        await startStoppedNodes();
        await waitForPartition(topic, 0, (s) => s.isr.includes(leader), `node ${leader} back in sync`);
      } finally {
        clearInterval(ticker);
      }
      const results = (await withTimeout(Promise.all(sends), 60_000, 'the last sends')).flat();
      await withTimeout(producer.close(), 10_000, 'producer.close()');

      // Every record acknowledged, each at its own offset.
      expect(results).toHaveLength(records.length);
      const failures = results.filter((r) => !r.ok);
      expect(failures).toEqual([]);
      const at = new Map<string, number>();
      results.forEach((r, i) => {
        if (r.ok) at.set(`${r.partition}@${r.offset}`, i);
      });
      expect(at.size).toBe(records.length);

      // The log holds exactly that many records: a retried batch was not appended twice.
      const admin = transport.admin();
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.close();
      const inLog = offsets.reduce((n, p) => n + p.high - p.low, 0);
      expect(inLog).toBe(records.length);

      // A group consumer reads every record once, where the producer was told it landed, in order per key.
      const recorder = new ConsumerRecorder();
      const consumer = transport.groupConsumer({ groupId: uniqueGroup('kafka-failover'), topics: [topic] });
      await consumer.run(recorder.handlers);
      await waitForCount(() => recorder.messages, records.length, { timeoutMs: 60_000, message: 'records consumed' });
      await withTimeout(consumer.close(), 30_000, 'consumer.close()');
      expect(recorder.violations).toEqual([]);
      expect(recorder.messages).toHaveLength(records.length);
      const misplaced = recorder.messages.filter((m) => {
        const i = at.get(`${m.partition}@${m.offset}`);
        const sent = i === undefined ? undefined : records[i];
        return sent === undefined || sent.key !== m.key || sent.value !== textOf(m.value);
      });
      expect(misplaced).toEqual([]);
      expect(orderViolationsPerKey(recorder.messages, { sequenceOf })).toEqual([]);
      for (const [key, count] of nextSeq) {
        const seqs = recorder.messages.filter((m) => m.key === key).map(sequenceOf);
        expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
      }
    },
  );

  it('fails an acks=all send with a retriable error within the delivery timeout when two of three nodes are down, then succeeds', async () => {
    const topic = await createReplicatedTopic('kafka-min-isr', 1);
    const DELIVERY_TIMEOUT_MS = 3_000;
    const short = testTransport({ producer: { deliveryTimeoutMs: DELIVERY_TIMEOUT_MS } });
    try {
      const producer = short.producer();
      const [first] = await producer.send([{ topic, key: 'k', value: 'before' }]);
      expect(first).toMatchObject({ ok: true, offset: 0 });

      // Both followers shut down: the leader stays, alone in the ISR, below min.insync.replicas.
      const { leader, replicas } = await partitionState(topic, 0);
      const followers = replicas.filter((id) => id !== leader);
      for (const id of followers) await stopNode(id, 'SIGTERM');
      const alone = await partitionState(topic, 0);
      expect(alone).toMatchObject({ leader, isr: [leader] });

      const record = { topic, key: 'k', value: 'during' };
      const started = Date.now();
      const [failed] = await withTimeout(producer.send([record]), DELIVERY_TIMEOUT_MS + 15_000, 'send with two nodes down');
      const elapsed = Date.now() - started;
      expect(failed?.ok).toBe(false);
      const error = failed && !failed.ok ? failed.error : undefined;
      expect(isTributaryError(error)).toBe(true);
      // librdkafka retries NOT_ENOUGH_REPLICAS itself until the delivery timeout, so the record fails as timed out.
      expect({ code: error?.code, retriable: error?.retriable }).toEqual({ code: 'ERR_TIMEOUT', retriable: true });
      expect(error?.message).toContain(`not acknowledged within the delivery timeout (${DELIVERY_TIMEOUT_MS} ms`);
      expect(elapsed).toBeLessThan(DELIVERY_TIMEOUT_MS + 5_000);

      await startStoppedNodes();
      await waitForPartition(topic, 0, (s) => s.isr.length >= 2, 'min.insync.replicas in sync again');
      const [again] = await withTimeout(producer.send([record]), 30_000, 'send with the nodes back');
      // Right after `before`: the broker refused the failed attempts (NOT_ENOUGH_REPLICAS) without appending them.
      expect(again).toMatchObject({ ok: true, partition: 0, offset: 1 });
      expect(producer.metrics()).toMatchObject({ sent: 2, failed: 1, pending: 0 });
      await withTimeout(producer.close(), 10_000, 'producer.close()');
    } finally {
      await short.close();
    }
  });
});
