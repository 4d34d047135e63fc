import { metrics, type MeterProvider } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_SYSTEM,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
} from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ConfigError, TributaryError, chainHandlers, type Message } from '@tributary/core';
import { MockProducer, buildMessage, uniqueGroup, waitFor } from '@tributary/testutil';
import { ConsumerCounters, withDeadLetter, withDedup, withMetrics, withRetry } from '@tributary/middleware';
import { testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';
import { histogramCounts, metricsPerTest, points, total } from './support/otel';

const message = buildMessage({ topic: 'orders', partition: 1, offset: 5, key: 'k', headers: { ce_id: 'evt-1' } });
const base = {
  [ATTR_MESSAGING_SYSTEM]: 'kafka',
  [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
  [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: '1',
  [ATTR_MESSAGING_OPERATION_NAME]: 'process',
  [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: 'test-group',
};

describe('withMetrics', () => {
  const otel = metricsPerTest();

  it('counts consumed and processed records and records the process duration, with low-cardinality attributes', async () => {
    const handler = chainHandlers(() => undefined, withMetrics({ meterProvider: otel.provider }));
    await handler(message, testContext().ctx);
    await handler(message, testContext().ctx);
    const m = await otel.collect();
    expect(points(m.get(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES))).toEqual([[base, 2]]);
    expect(points(m.get(ConsumerCounters.processed))).toEqual([[base, 2]]);
    expect(histogramCounts(m.get(METRIC_MESSAGING_PROCESS_DURATION))).toEqual([[base, 2]]);
    const duration = m.get(METRIC_MESSAGING_PROCESS_DURATION);
    expect(duration?.descriptor.unit).toBe('s');
    expect(m.get(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES)?.descriptor.unit).toBe('{message}');
    expect(m.get(ConsumerCounters.failed)).toBeUndefined();
  });

  it('counts a failure with its error.type and rethrows it', async () => {
    const error = new TributaryError('ERR_TIMEOUT', 'slow');
    const handler = chainHandlers(() => {
      throw error;
    }, withMetrics({ meterProvider: otel.provider }));
    await expect(handler(message, testContext().ctx)).rejects.toBe(error);
    const m = await otel.collect();
    expect(points(m.get(ConsumerCounters.failed))).toEqual([[{ ...base, [ATTR_ERROR_TYPE]: 'ERR_TIMEOUT' }, 1]]);
    expect(histogramCounts(m.get(METRIC_MESSAGING_PROCESS_DURATION))).toEqual([[{ ...base, [ATTR_ERROR_TYPE]: 'ERR_TIMEOUT' }, 1]]);
    expect(total(m.get(ConsumerCounters.processed))).toBe(0);
  });

  it('counts retries, dead-letters and duplicates reported from inside', async () => {
    let fail = true;
    const handler = chainHandlers(
      () => {
        if (fail) throw new Error('db down');
      },
      withMetrics({ meterProvider: otel.provider }),
      withDeadLetter({ producer: new MockProducer() }),
      withDedup(),
      withRetry({ initialMs: 1, maxMs: 1, maxAttempts: 3 }),
    );
    await handler(message, testContext().ctx); // 2 retries, then dead-lettered
    fail = false;
    await handler(message, testContext().ctx); // processed (a dead-letter is not committed to dedup)
    await handler(message, testContext().ctx); // duplicate
    const m = await otel.collect();
    expect(total(m.get(ConsumerCounters.retries))).toBe(2);
    expect(points(m.get(ConsumerCounters.deadLettered))).toEqual([[{ ...base, [ATTR_ERROR_TYPE]: 'ERR_RETRIES_EXHAUSTED' }, 1]]);
    expect(total(m.get(ConsumerCounters.failed))).toBe(1);
    expect(total(m.get(ConsumerCounters.processed))).toBe(1);
    expect(total(m.get(ConsumerCounters.duplicates))).toBe(1);
    expect(total(m.get(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES))).toBe(3);
  });

  it('uses the global meter provider by default and names the system it is given', async () => {
    metrics.setGlobalMeterProvider(otel.provider);
    try {
      await chainHandlers(() => undefined, withMetrics({ system: 'memory' }))(message, testContext({ groupId: undefined }).ctx);
      const m = await otel.collect();
      const { [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: _group, ...noGroup } = base;
      expect(points(m.get(ConsumerCounters.processed))).toEqual([[{ ...noGroup, [ATTR_MESSAGING_SYSTEM]: 'memory' }, 1]]);
    } finally {
      metrics.disable();
    }
  });

  it('validates its options', () => {
    expect(() => withMetrics({ meterProvider: {} as MeterProvider, system: '' })).toThrow(ConfigError);
  });

  describe('with the consumer runtime (memory transport)', () => {
    const mem = memoryTransportPerTest();

    it('agrees with the runtime counts per partition', async () => {
      const topic = await mem.createTopic('orders', { partitions: 3 });
      await mem.send(Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i}`, value: String(i) })));
      const perPartition = new Map<number, number>();
      const consumer = mem.consumer({ groupId: uniqueGroup(), topics: [topic] });
      await consumer.start(
        chainHandlers((m: Message) => void perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + 1), withMetrics({ meterProvider: otel.provider, system: mem.transport.system })),
      );
      await waitFor(() => consumer.metrics().processed === 30, { message: '30 processed' });
      const m = await otel.collect();
      for (const [partition, count] of perPartition) {
        expect(total(m.get(ConsumerCounters.processed), { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) })).toBe(count);
      }
      expect(total(m.get(ConsumerCounters.processed), { [ATTR_MESSAGING_SYSTEM]: 'memory', [ATTR_MESSAGING_DESTINATION_NAME]: topic })).toBe(30);
    });
  });
});
