import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ATTR_MESSAGING_BATCH_MESSAGE_COUNT, ATTR_MESSAGING_DESTINATION_NAME } from '@opentelemetry/semantic-conventions/incubating';
import { ack, deadLetter, retry, wrapProducer, type BatchHandler } from '@tributary/core';
import { buildMessages, uniqueGroup, waitFor, type MessageOverrides } from '@tributary/testutil';
import { BATCH_LINK_LIMIT, withBatchTracing, withSendTracing } from '@tributary/middleware';
import { testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';
import { tracingPerTest } from './support/otel';

/** Trace and span id of the i-th record's creation context (distinct digits, so a swap shows). */
const ids = (i: number): [string, string] => [String(i + 1).padStart(32, '0'), String(i + 1001).padStart(16, '0')];
const traceparent = (i: number): string => `00-${ids(i).join('-')}-01`;

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
    expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([ids(0), ids(2)]);
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

  it('does not link the active span for a record without trace context', async () => {
    const messages = buildMessages(2, (i): MessageOverrides => ({ topic: 'orders', headers: i === 0 ? { traceparent: traceparent(0) } : {} }));
    await otel.provider.getTracer('test').startActiveSpan('poll', async (poll) => {
      await tracing()(() => undefined)(messages, testContext().ctx);
      poll.end();
    });
    const span = otel.span('process orders');
    expect(span.parentSpanContext?.spanId).toBe(otel.span('poll').spanContext().spanId);
    expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([ids(0)]);
  });

  it(`links at most ${BATCH_LINK_LIMIT} records, the first ones, and counts them all when it had more`, async () => {
    /** `contexts` + 1 records, all but record 1 carrying a creation context. */
    const batchWith = (contexts: number): ReturnType<typeof buildMessages> =>
      buildMessages(contexts + 1, (i): MessageOverrides => ({ topic: 'orders', offset: i, headers: i === 1 ? {} : { traceparent: traceparent(i) } }));
    await tracing()(() => undefined)(batchWith(BATCH_LINK_LIMIT + 1), testContext().ctx);
    const [capped] = otel.spans();
    expect(BATCH_LINK_LIMIT).toBe(128);
    expect(capped?.links).toHaveLength(BATCH_LINK_LIMIT);
    expect(capped?.droppedLinksCount).toBe(0);
    expect(capped?.links[0]?.context.spanId).toBe(ids(0)[1]);
    expect(capped?.links.at(-1)?.context.spanId).toBe(ids(BATCH_LINK_LIMIT)[1]); // record 1 carries none
    expect(capped?.attributes).toMatchObject({ [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: BATCH_LINK_LIMIT + 2, 'tributary.batch.creation_contexts': BATCH_LINK_LIMIT + 1 });

    await tracing()(() => undefined)(batchWith(BATCH_LINK_LIMIT), testContext().ctx);
    const exact = otel.spans()[1];
    expect(exact?.links).toHaveLength(BATCH_LINK_LIMIT);
    expect(exact?.attributes).not.toHaveProperty('tributary.batch.creation_contexts');
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
