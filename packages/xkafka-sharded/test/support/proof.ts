/**
 * The proofs, written once against the Transport interface and run
 * on memory (test/proof.test.ts) and on Kafka (test/kafka/proof.test.ts):
 * one partition, 200 keys, 20 000 records, handlers sleeping 0–5 ms.
 */
import {
  DeadLetterHeaders,
  valueAsString,
  type Message,
  type MessageHandler,
  type ProducerRecord,
  type Transport,
} from '@tributary/core';
import { assertNoViolations, orderViolationsPerKey, uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';
import { createShardedGroupConsumer, type GroupConsumerConfig } from '../../src';

/** Deterministic PRNG (mulberry32): the same seed gives the same keys, sleeps and failures. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Record `i` carries its key's sequence number, so per-key order can be checked from values. */
export interface ProofRecord {
  readonly key: string;
  readonly seq: number;
}

/**
 * `count` records over `keys` keys (chosen at random from `seed`), all in
 * `partition`, or with `'by-key'` partitioned by the transport (a key stays
 * in one partition).
 */
export function proofRecords(topic: string, count: number, keys: number, seed: number, partition: number | 'by-key' = 0): ProducerRecord[] {
  const random = seededRandom(seed);
  const nextSeq = new Map<string, number>();
  const records: ProducerRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = `key-${Math.floor(random() * keys)}`;
    const seq = nextSeq.get(key) ?? 0;
    nextSeq.set(key, seq + 1);
    const value = JSON.stringify({ key, seq, i });
    records.push(partition === 'by-key' ? { topic, key, value } : { topic, key, value, partition });
  }
  return records;
}

export function seqOf(m: Message): number {
  return (JSON.parse(valueAsString(m) ?? '{}') as ProofRecord).seq;
}

export async function produceAll(transport: Transport, records: readonly ProducerRecord[]): Promise<void> {
  const producer = transport.producer();
  try {
    for (let i = 0; i < records.length; i += 1_000) {
      const results = await producer.send(records.slice(i, i + 1_000));
      const failed = results.find((r) => !r.ok);
      if (failed && !failed.ok) throw failed.error;
    }
  } finally {
    await producer.close();
  }
}

/**
 * A handler wrapper that records every start (in handling order) and flags
 * any moment two records of one key run at once.
 */
export class KeyOrderProbe {
  readonly started: Message[] = [];
  readonly overlaps: string[] = [];
  readonly #running = new Set<string>();

  wrap(inner: MessageHandler): MessageHandler {
    return async (m, ctx) => {
      const key = m.key ?? '';
      if (this.#running.has(key)) this.overlaps.push(`key ${key}: ${m.topic}/${m.partition}@${m.offset} started while another record of the key ran`);
      this.#running.add(key);
      if (ctx.attempt === 1) this.started.push(m);
      try {
        await inner(m, ctx);
      } finally {
        this.#running.delete(key);
      }
    };
  }
}

export interface ProofOptions {
  readonly records?: number;
  readonly keys?: number;
  readonly seed?: number;
  readonly config?: Partial<GroupConsumerConfig>;
  /** Records (by offset) whose handler always fails. */
  readonly failing?: ReadonlySet<number>;
  readonly timeoutMs?: number;
}

export interface ProofResult {
  readonly elapsedMs: number;
  readonly done: ReadonlySet<number>;
  readonly probe: KeyOrderProbe;
  readonly topic: string;
  readonly groupId: string;
  readonly committed: number | undefined;
}

/** Produces the records, consumes them with a sharded group consumer, checks order and coverage; returns what it saw. */
export async function runKeyOrderProof(transport: Transport, options: ProofOptions = {}): Promise<ProofResult> {
  const count = options.records ?? 20_000;
  const keys = options.keys ?? 200;
  const seed = options.seed ?? 42;
  const failing = options.failing ?? new Set<number>();
  const topic = uniqueTopic('xks-proof');
  const groupId = uniqueGroup('xks-proof');
  const admin = transport.admin();
  try {
    await admin.createTopics([{ topic, partitions: 1 }]);
    await produceAll(transport, proofRecords(topic, count, keys, seed));

    const random = seededRandom(seed + 1);
    const done = new Set<number>();
    const probe = new KeyOrderProbe();
    const consumer = createShardedGroupConsumer(transport, {
      groupId,
      topics: [topic],
      commitIntervalMs: 20,
      ...options.config,
    });
    const started = performance.now();
    await consumer.start(
      probe.wrap(async (m) => {
        await sleepMs(random() * 5);
        if (failing.has(m.offset)) throw new Error(`injected failure at offset ${m.offset}`);
        done.add(m.offset);
      }),
    );
    try {
      await waitFor(() => done.size + consumer.stats().deadLettered >= count, {
        timeoutMs: options.timeoutMs ?? 60_000,
        message: `all ${count} records processed or dead-lettered`,
      });
      const elapsedMs = performance.now() - started;
      await waitFor(async () => (await admin.fetchCommittedOffsets(groupId, [topic]))[0]?.offset === count, {
        timeoutMs: 15_000,
        message: `committed offset reaches ${count}`,
      });
      const committed = (await admin.fetchCommittedOffsets(groupId, [topic]))[0]?.offset;
      assertNoViolations('records of one key ran concurrently', probe.overlaps);
      assertNoViolations('per-key order', orderViolationsPerKey(probe.started, { sequenceOf: seqOf }));
      return { elapsedMs, done, probe, topic, groupId, committed };
    } finally {
      await consumer.close();
    }
  } finally {
    await admin.close();
  }
}

/** Reads `count` records of partition 0 of `topic` from the start. */
export async function readTopic(transport: Transport, topic: string, count: number, timeoutMs = 30_000): Promise<Message[]> {
  const messages: Message[] = [];
  const consumer = transport.partitionConsumer({ topic, partition: 0, from: 'earliest' });
  try {
    await consumer.run({
      onBatch: async (batch) => {
        messages.push(...batch.messages);
      },
    });
    await waitFor(() => messages.length >= count, { timeoutMs, message: `${count} records read from ${topic}` });
    return messages;
  } finally {
    await consumer.close();
  }
}

/** What every dead-lettered record must say. */
export function dlqViolations(dlq: readonly Message[], failing: ReadonlySet<number>, sourceTopic: string): string[] {
  const violations: string[] = [];
  const seen = new Set<number>();
  for (const m of dlq) {
    const offset = Number(m.headers[DeadLetterHeaders.offset]);
    const reason = m.headers[DeadLetterHeaders.reason] ?? '';
    if (m.headers[DeadLetterHeaders.topic] !== sourceTopic) violations.push(`dlq@${m.offset}: original topic ${m.headers[DeadLetterHeaders.topic]}`);
    if (!failing.has(offset)) violations.push(`offset ${offset} was dead-lettered but never failed`);
    if (!reason.includes(`injected failure at offset ${offset}`)) violations.push(`offset ${offset}: reason ${JSON.stringify(reason)}`);
    if (seen.has(offset)) violations.push(`offset ${offset} dead-lettered twice`);
    seen.add(offset);
  }
  for (const offset of failing) if (!seen.has(offset)) violations.push(`failed offset ${offset} is missing from the dead-letter topic`);
  return violations;
}
