import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ATTR_MESSAGING_BATCH_MESSAGE_COUNT, ATTR_MESSAGING_DESTINATION_NAME } from '@opentelemetry/semantic-conventions/incubating';
import { ack, deadLetter, retry, wrapProducer, type BatchHandler } from '@tributary/core';
import { buildMessages, uniqueGroup, waitFor, type MessageOverrides } from '@tributary/testutil';
import { withBatchTracing, withSendTracing } from '@tributary/middleware';
import { testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';
import { tracingPerTest } from './support/otel';

const traceparent = (i: number): string => `00-${String(i + 1).padStart(32, '0')}-${String(i + 1).padStart(16, '0')}-01`;

describe('withBatchTracing', () => {
  const otel = tracingPerTest();

  const tracing = (): ReturnType<typeof withBatchTracing> => withBatchTracing({ tracerProvider: otel.provider, propagator: otel.propagator });

  it('records one process span per batch, linked to every record context', async () => {
    const messages = buildMessages(3, (i): MessageOverrides => {
      const headers: Record<string, string> = i === 1 ? {} : { traceparent: traceparent(i) };
      return { topic: 'orders', partition: 1, offset: 10 + i, headers };
    });
    const handler: BatchHandler = (batch) => batch.map((_, i) => (i === 0 ? ack : i === 1 ? retry(new Error('later')) : deadLetter(new Error('bad'))));
    const outcomes = await tracing()(handler)(messages, testContext().ctx);
    expect(outcomes).toHaveLength(3);
    const span = otel.span('process orders');
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.links.map((l) => l.context.traceId)).toEqual([traceparent(0).split('-')[1], traceparent(2).split('-')[1]]);
    expect(span.attributes).toMatchObject({
      [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
      [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: 3,
      'messaging.destination.partition.id': '1',
      'messaging.consumer.group.name': 'test-group',
      'tributary.batch.retried': 1,
      'tributary.batch.dead_lettered': 1,
      'tributary.outcome': 'processed',
    });
  });

  it('marks a thrown batch error and rethrows it', async () => {
    const error = new Error('batch failed');
    await expect(
      tracing()(() => {
        throw error;
      })(buildMessages(2), testContext().ctx),
    ).rejects.toBe(error);
    const span = otel.spans()[0];
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'batch failed' });
    expect(span?.attributes['tributary.outcome']).toBe('failed');
  });

  it('passes an empty batch through without a span', async () => {
    await tracing()(() => undefined)([], testContext().ctx);
    expect(otel.spans()).toEqual([]);
  });

  describe('with the consumer runtime (memory transport)', () => {
    const mem = memoryTransportPerTest();

    it('links the batch span to each producer send span', async () => {
      const topic = await mem.createTopic('orders');
      const producer = wrapProducer(mem.transport.producer(), withSendTracing({ tracerProvider: otel.provider, propagator: otel.propagator }));
      for (let i = 0; i < 4; i++) await producer.send([{ topic, value: String(i) }]);
      await producer.close();
      const consumer = mem.consumer({ groupId: uniqueGroup(), topics: [topic], batch: { maxRecords: 4, maxWaitMs: 50 } });
      await consumer.startBatch(tracing()(() => undefined));
      await waitFor(() => consumer.metrics().processed === 4, { message: 'four records processed' });
      const sends = otel.spans().filter((s) => s.name === `send ${topic}`);
      const batches = otel.spans().filter((s) => s.name === `process ${topic}`);
      const linked = batches.flatMap((b) => b.links.map((l) => l.context.spanId));
      expect(linked.sort()).toEqual(sends.map((s) => s.spanContext().spanId).sort());
    });
  });
});
