// Queue client behaviour that depends on the broker: commits after durable
// start markers, markers partitioned like the queue, sharing a group.
import type { Message, Transport } from '@tributary/core';
import { kafka } from '@tributary/kafka';
import { createMqClient, decodeMarkerKey, decodeMarkerValue, defaultClientGroup, type MqClient } from '@tributary/mq-markers';
import { committedOffsets, queueFixture, readTopic, text } from '../support/fixture';

let transport: Transport;
beforeAll(() => {
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers === undefined || brokers === '') throw new Error('KAFKA_BROKERS is not set: run with jest.kafka.config.cjs');
  transport = kafka({ brokers });
});
afterAll(async () => {
  await transport.close();
});

async function take(c: MqClient, n: number): Promise<Message[]> {
  const out: Message[] = [];
  while (out.length < n) {
    const m = await c.nextMessage(30_000);
    if (m === null) throw new Error(`expected ${n} messages, got ${out.length}`);
    out.push(m);
  }
  return out;
}

describe('kafka: MqClient', () => {
  it('commits past each chunk once its start markers are written, each marker in its queue partition’s markers partition', async () => {
    const fx = await queueFixture(transport, 3, 'kafka-client');
    try {
      const producer = fx.track(transport.producer());
      const results = await producer.send(Array.from({ length: 30 }, (_, i) => ({ topic: fx.queue, key: `k-${i}`, value: `m-${i}` })));
      expect(results.every((r) => r.ok)).toBe(true);
      const client = fx.track(createMqClient(transport, { queue: fx.queue, maxMessagesPerCommit: 4 }));
      const messages = await take(client, 30);
      expect(messages.map(text).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `m-${i}`).sort());
      for (const m of messages) await client.processed(m);

      const committed = await committedOffsets(transport, defaultClientGroup(fx.queue), fx.queue);
      const ends = new Map<number, number>();
      for (const m of messages) ends.set(m.partition, Math.max(ends.get(m.partition) ?? 0, m.offset + 1));
      expect(committed).toEqual(ends);

      const markers = await readTopic(transport, fx.markersTopic);
      expect(markers).toHaveLength(60);
      for (const r of markers) expect(r.partition).toBe(decodeMarkerKey(r.key)!.partition);
      // Per message: its start marker comes before its end marker.
      const kinds = new Map<string, string[]>();
      for (const r of markers) kinds.set(r.key!, [...(kinds.get(r.key!) ?? []), decodeMarkerValue(r.value)!.kind]);
      expect(new Set([...kinds.values()].map((k) => k.join(',')))).toEqual(new Set(['start,end']));
    } finally {
      await fx.close();
    }
  });
});
