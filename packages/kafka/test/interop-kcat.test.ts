/**
 * Interop with an independent client: kcat (librdkafka's command-line tool,
 * /usr/bin/kcat). Records cross in both directions with keys, headers and
 * partitions intact, and a key lands in the same partition from both sides
 * when kcat uses librdkafka's murmur2_random partitioner (Java's choice, and
 * our default) — kcat's own default, consistent_random (CRC32), disagrees.
 */
import { spawn } from 'node:child_process';
import { partitionForKey, valueAsString, type Message } from '@tributary/core';
import { ConsumerRecorder, uniqueGroup, uniqueTopic } from '@tributary/testutil';
import type { KafkaTransport } from '@tributary/kafka';
import { brokers, testTransport } from './support/broker';

const KCAT = process.env.KCAT ?? '/usr/bin/kcat';
const PARTITIONS = 5;

interface KcatRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly payload: string | null;
  /** Alternating names and values. */
  readonly headers?: string[];
}

/** Runs kcat with `args`, feeding `input` to stdin; resolves with stdout. */
function kcat(args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT, ['-b', brokers(), '-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
    child.stdin.end(input ?? '');
  });
}

let transport: KafkaTransport;

beforeAll(() => {
  transport = testTransport();
});

afterAll(async () => {
  await transport.close();
});

async function createTopic(): Promise<string> {
  const topic = uniqueTopic('kafka-kcat');
  const admin = transport.admin();
  try {
    await admin.createTopics([{ topic, partitions: PARTITIONS }]);
  } finally {
    await admin.close();
  }
  return topic;
}

async function readWithTributary(topic: string, count: number): Promise<Message[]> {
  const consumer = transport.groupConsumer({ groupId: uniqueGroup('kafka-kcat'), topics: [topic] });
  const recorder = new ConsumerRecorder({ label: 'tributary reader' });
  try {
    await consumer.run(recorder.handlers);
    await recorder.waitForDistinct(count, { timeoutMs: 15_000 });
  } finally {
    await consumer.close();
  }
  return recorder.messages;
}

const keys = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `ключ-${i}` : `user-${i}`));

describe('interop with kcat', () => {
  it('reads what kcat produced with murmur2_random: keys, values, headers, and the partitions Java would pick', async () => {
    const topic = await createTopic();
    const lines = keys.map((key, i) => `${key}\t${`value ${i} ✓`}`).join('\n');
    await kcat(['-P', '-t', topic, '-K', '\t', '-H', 'source=kcat', '-H', 'ü-header=é', '-X', 'partitioner=murmur2_random'], `${lines}\n`);
    const messages = await readWithTributary(topic, keys.length);
    const byKey = new Map(messages.map((m) => [m.key, m]));
    const wrong = keys.filter((key, i) => {
      const m = byKey.get(key);
      return (
        m === undefined ||
        valueAsString(m) !== `value ${i} ✓` ||
        m.partition !== partitionForKey(key, PARTITIONS) ||
        m.headers.source !== 'kcat' ||
        m.headers['ü-header'] !== 'é'
      );
    });
    expect(wrong).toEqual([]);
  });

  it("kcat's default partitioner (consistent_random, CRC32) puts keys elsewhere than Java's murmur2", async () => {
    const topic = await createTopic();
    await kcat(['-P', '-t', topic, '-K', '\t'], `${keys.map((key) => `${key}\tx`).join('\n')}\n`);
    const messages = await readWithTributary(topic, keys.length);
    const differing = messages.filter((m) => m.partition !== partitionForKey(m.key as string, PARTITIONS));
    // Not a fixed fraction, but with 40 keys over 5 partitions some certainly differ.
    expect(differing.length).toBeGreaterThan(0);
    // Same key → same partition still holds within one partitioner.
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const m of messages) partitionsOfKey.set(m.key as string, (partitionsOfKey.get(m.key as string) ?? new Set()).add(m.partition));
    expect([...partitionsOfKey.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('kcat reads what Tributary produced: keys, values, headers, tombstones and partitions intact', async () => {
    const topic = await createTopic();
    const producer = transport.producer();
    const records = keys.map((key, i) => ({ topic, key, value: `from tributary ${i}`, headers: { trace: `t-${i}`, 'content-type': 'text/plain' } }));
    const results = await producer.send([...records, { topic, key: 'gone', value: null }, { topic, key: null, value: 'no key', partition: 3 }]);
    await producer.close();
    expect(results.every((r) => r.ok)).toBe(true);
    const out = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J']);
    const read = out
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as KcatRecord);
    expect(read).toHaveLength(records.length + 2);
    const byKey = new Map(read.map((r) => [r.key, r]));
    const wrong = records.filter((record, i) => {
      const r = byKey.get(record.key);
      const sent = results[i];
      return (
        r === undefined ||
        r.payload !== record.value ||
        JSON.stringify(r.headers) !== JSON.stringify(['trace', `t-${i}`, 'content-type', 'text/plain']) ||
        !sent?.ok ||
        r.partition !== sent.partition ||
        r.offset !== sent.offset ||
        r.partition !== partitionForKey(record.key, PARTITIONS)
      );
    });
    expect(wrong).toEqual([]);
    expect(byKey.get('gone')?.payload).toBeNull();
    expect(byKey.get(null)).toMatchObject({ payload: 'no key', partition: 3 });
  });
});
