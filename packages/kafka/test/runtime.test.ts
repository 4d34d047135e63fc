/**
 * Core's consumer runtime over the Kafka transport: processes, retries,
 * dead-letters and commits on the real broker, and a restarted consumer
 * resumes after what was committed.
 */
import { DeadLetterHeaders, createConsumer, unrecoverable, valueAsString, type Message } from '@tributary/core';
import { ConsumerRecorder, uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';
import type { KafkaTransport } from '@tributary/kafka';
import { testTransport } from './support/broker';

let transport: KafkaTransport;

beforeAll(() => {
  transport = testTransport();
});

afterAll(async () => {
  await transport.close();
});

describe('core createConsumer on kafka()', () => {
  it('processes, retries, dead-letters and commits; a restart resumes after the commit', async () => {
    const topic = uniqueTopic('kafka-runtime');
    const dlq = `${topic}.dlq`;
    const admin = transport.admin();
    await admin.createTopics([{ topic, partitions: 2 }, { topic: dlq }]);
    const producer = transport.producer();
    const values = Array.from({ length: 40 }, (_, i) => (i % 10 === 3 ? `flaky-${i}` : i % 10 === 7 ? `poison-${i}` : `ok-${i}`));
    const sent = await producer.send(values.map((value, i) => ({ topic, key: `key-${i % 6}`, value })));
    expect(sent.every((r) => r.ok)).toBe(true);

    const attempts = new Map<string, number>();
    const handled: string[] = [];
    const handler = (m: Message): void => {
      const value = valueAsString(m) as string;
      const attempt = (attempts.get(value) ?? 0) + 1;
      attempts.set(value, attempt);
      if (value.startsWith('poison-')) throw unrecoverable(new Error(`cannot handle ${value}`));
      if (value.startsWith('flaky-') && attempt === 1) throw new Error(`transient failure of ${value}`);
      handled.push(value);
    };
    const groupId = uniqueGroup('kafka-runtime');
    const options = {
      groupId,
      topics: [topic],
      batch: { maxRecords: 8, maxWaitMs: 5 },
      retry: { maxAttempts: 3, initialMs: 10, maxMs: 20 },
      deadLetter: {},
      drainTimeoutMs: 5_000,
    };
    const consumer = createConsumer(transport, options);
    await consumer.start(handler);
    await waitFor(() => consumer.metrics().processed + consumer.metrics().deadLettered === 40, { timeoutMs: 20_000, message: 'every record handled or dead-lettered' });
    await consumer.stop();

    expect(consumer.metrics()).toMatchObject({ processed: 36, deadLettered: 4 });
    expect(new Set(handled).size).toBe(36);
    // Flaky records succeeded on their second attempt; poison was never retried.
    expect(values.filter((v) => v.startsWith('flaky-')).map((v) => attempts.get(v))).toEqual([2, 2, 2, 2]);
    expect(values.filter((v) => v.startsWith('poison-')).map((v) => attempts.get(v))).toEqual([1, 1, 1, 1]);

    const highs = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
    const committed = new Map((await admin.fetchCommittedOffsets(groupId, [topic])).map((o) => [o.partition, o.offset]));
    expect(committed).toEqual(highs);

    // The dead-letter topic holds the poison records with their key, value and where they came from.
    const reader = transport.groupConsumer({ groupId: uniqueGroup('kafka-dlq-reader'), topics: [dlq] });
    const dead = new ConsumerRecorder({ label: 'dead letters' });
    await reader.run(dead.handlers);
    await dead.waitForDistinct(4, { timeoutMs: 15_000 });
    await reader.close();
    const deadValues = dead.messages.map((m) => valueAsString(m)).sort();
    expect(deadValues).toEqual(values.filter((v) => v.startsWith('poison-')).sort());
    for (const m of dead.messages) {
      const i = Number((valueAsString(m) as string).split('-')[1]);
      const original = sent[i];
      expect(m.key).toBe(`key-${i % 6}`);
      expect(m.headers[DeadLetterHeaders.topic]).toBe(topic);
      expect(original?.ok && [Number(m.headers[DeadLetterHeaders.partition]), Number(m.headers[DeadLetterHeaders.offset])]).toEqual(
        original?.ok && [original.partition, original.offset],
      );
      expect(m.headers[DeadLetterHeaders.errorCode]).toBe('ERR_UNRECOVERABLE');
    }

    // A restart of the group sees only what came after the commit.
    await producer.send([{ topic, key: 'late', value: 'ok-late' }]);
    const restarted = createConsumer(transport, options);
    const seen: string[] = [];
    await restarted.start((m) => {
      seen.push(valueAsString(m) as string);
    });
    await waitFor(() => seen.includes('ok-late'), { timeoutMs: 15_000 });
    await restarted.stop();
    expect(seen).toEqual(['ok-late']);
    await producer.close();
    await admin.close();
  });
});
