/**
 * The README's example, as written there (console output aside): if this
 * breaks, so does the documentation.
 */
import { memory } from '@tributary/memory';
import { createDispatchingProducer, createShardedGroupConsumer } from '../src';

const bill = async (_customer: string | null, _order: number, _options: { signal: AbortSignal }): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
};

it('README example runs', async () => {
  const warnings: string[] = [];
  // --- README example starts ---
  const transport = memory(); // in production: kafka({ brokers: ['localhost:9092'] })
  const admin = transport.admin();
  await admin.createTopics([{ topic: 'orders', partitions: 1 }, { topic: 'orders.dlq' }]);

  // Produce: key-sharded dispatch keeps each key's records in call order.
  const producer = createDispatchingProducer(transport, { defaultTopic: 'orders' });
  for (let i = 0; i < 1_000; i++) {
    await producer.produceAsync({ key: `customer-${i % 50}`, value: JSON.stringify({ order: i }) });
  }
  await producer.close(); // drains: every queued record is sent first

  // Consume: one customer's orders in order, different customers in parallel (32 shards).
  const consumer = createShardedGroupConsumer(transport, {
    groupId: 'billing',
    topics: ['orders'],
    retry: { initialMs: 100, maxMs: 5_000, maxAttempts: 5 },
    exhaustedPolicy: 'dlq-commit', // after 5 attempts: published to orders.dlq, then committed
    parkKey: true, // while a customer's order retries, only that customer waits
    failureHook: (e) => {
      if (e.stage !== 'retry') warnings.push(`${e.stage} ${e.topic}/${e.partition}@${e.offset}`);
    },
  });
  await consumer.start(async (message, ctx) => {
    const { order } = JSON.parse(Buffer.from(message.value ?? []).toString()) as { order: number };
    await bill(message.key, order, { signal: ctx.signal });
  });
  while (consumer.stats().processed < 1_000) await new Promise((resolve) => setTimeout(resolve, 10));

  await consumer.close(); // in-flight records finish, the processed prefix is committed, the member leaves
  const [committed] = await admin.fetchCommittedOffsets('billing', ['orders']);
  // committed → { topic: 'orders', partition: 0, offset: 1000 }
  await transport.close();
  // --- README example ends ---
  expect(committed).toEqual({ topic: 'orders', partition: 0, offset: 1000 });
  expect(warnings).toEqual([]);
});
