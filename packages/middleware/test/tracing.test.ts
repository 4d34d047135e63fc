import { SpanKind, SpanStatusCode, trace, type TracerProvider } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEM_VALUE_KAFKA,
} from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ConfigError, TributaryError, chainHandlers, wrapProducer, type Message } from '@tributary/core';
import { MockProducer, buildMessage, uniqueGroup, waitFor } from '@tributary/testutil';
import { ATTEMPT_ATTRIBUTE, OUTCOME_ATTRIBUTE, withDeadLetter, withDedup, withRetry, withSendTracing, withTracing } from '@tributary/middleware';
import { tracingPerTest } from './support/otel';
import { testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';

const producerSpan = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
/** [traceId, spanId] of each link of `span`, in order. */
const linkIds = (span: ReadableSpan | undefined): [string, string][] => (span?.links ?? []).map((l) => [l.context.traceId, l.context.spanId]);
const message = buildMessage({
  topic: 'orders',
  partition: 3,
  offset: 42,
  key: 'customer-9',
  headers: { ce_id: 'evt-1', traceparent: `00-${producerSpan.traceId}-${producerSpan.spanId}-01` },
});

describe('withTracing', () => {
  const otel = tracingPerTest();

  const tracing = (): ReturnType<typeof withTracing> => withTracing({ tracerProvider: otel.provider, propagator: otel.propagator });

  it('records a CONSUMER "process <topic>" span with the messaging attributes, child of the producer context and linked to it', async () => {
    await chainHandlers(() => undefined, tracing())(message, testContext({ groupId: 'billing' }).ctx);
    const span = otel.span('process orders');
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.attributes).toEqual({
      [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_KAFKA,
      [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
      [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: '3',
      [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [ATTR_MESSAGING_KAFKA_OFFSET]: 42,
      [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: 'customer-9',
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: 'billing',
      [ATTR_MESSAGING_MESSAGE_ID]: 'evt-1',
      [ATTEMPT_ATTRIBUTE]: 1,
      [OUTCOME_ATTRIBUTE]: 'processed',
    });
    expect(span.spanContext().traceId).toBe(producerSpan.traceId);
    expect(span.parentSpanContext?.spanId).toBe(producerSpan.spanId);
    // The conventions: a process span links to the creation context, also when it is the parent.
    expect(linkIds(span)).toEqual([[producerSpan.traceId, producerSpan.spanId]]);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.instrumentationScope.name).toBe('@tributary/middleware');
  });

  it('starts a new trace for a record without trace context, and names the system it is given', async () => {
    const plain = buildMessage({ topic: 'audit', key: null, value: null });
    await chainHandlers(() => undefined, withTracing({ tracerProvider: otel.provider, propagator: otel.propagator, system: 'memory' }))(plain, testContext().ctx);
    const span = otel.span('process audit');
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes[ATTR_MESSAGING_SYSTEM]).toBe('memory');
    expect(span.attributes).not.toHaveProperty(ATTR_MESSAGING_KAFKA_MESSAGE_KEY);
    expect(span.attributes['messaging.kafka.message.tombstone']).toBe(true);
  });

  it('records the attempt the context carries as tributary.attempt', async () => {
    await chainHandlers(() => undefined, tracing())(message, testContext({ attempt: 3 }).ctx);
    expect(otel.span('process orders').attributes[ATTEMPT_ATTRIBUTE]).toBe(3);
  });

  it('inside another span: keeps the creation context as parent and links both it and the active span', async () => {
    await otel.provider.getTracer('test').startActiveSpan('outer', async (outer) => {
      await chainHandlers(() => undefined, tracing())(message, testContext().ctx);
      outer.end();
    });
    const active = otel.span('outer');
    const span = otel.span('process orders');
    expect(span.parentSpanContext?.spanId).toBe(producerSpan.spanId);
    expect(span.spanContext().traceId).toBe(producerSpan.traceId);
    expect(linkIds(span)).toEqual([
      [producerSpan.traceId, producerSpan.spanId],
      [active.spanContext().traceId, active.spanContext().spanId],
    ]);
  });

  describe("parent: 'ambient'", () => {
    const ambient = (): ReturnType<typeof withTracing> => withTracing({ tracerProvider: otel.provider, propagator: otel.propagator, parent: 'ambient' });

    it('makes the active span the parent and only links the creation context', async () => {
      const plain = buildMessage({ topic: 'orders', key: 'no-context' });
      await otel.provider.getTracer('test').startActiveSpan('outer', async (outer) => {
        await chainHandlers(() => undefined, ambient())(message, testContext().ctx);
        await chainHandlers(() => undefined, ambient())(plain, testContext().ctx);
        outer.end();
      });
      const outer = otel.span('outer');
      const [linked, unlinked] = otel.spans().filter((s) => s.name === 'process orders');
      expect(linked?.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
      expect(linked?.spanContext().traceId).toBe(outer.spanContext().traceId);
      expect(linkIds(linked)).toEqual([[producerSpan.traceId, producerSpan.spanId]]);
      // A record without trace context: a plain child of the active span.
      expect(unlinked?.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
      expect(linkIds(unlinked)).toEqual([]);
    });

    it('starts a new trace, linked to the creation context, when no span is active', async () => {
      let active: string | undefined;
      await chainHandlers(() => {
        active = trace.getActiveSpan()?.spanContext().spanId;
      }, ambient())(message, testContext().ctx);
      const span = otel.span('process orders');
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(producerSpan.traceId);
      expect(linkIds(span)).toEqual([[producerSpan.traceId, producerSpan.spanId]]);
      expect(active).toBe(span.spanContext().spanId);
    });
  });

  it('runs the handler with the span active', async () => {
    let active: string | undefined;
    await chainHandlers(async () => {
      await Promise.resolve();
      active = trace.getActiveSpan()?.spanContext().spanId;
    }, tracing())(message, testContext().ctx);
    expect(active).toBe(otel.span('process orders').spanContext().spanId);
  });

  it('marks a failure: status ERROR, error.type, the exception, outcome failed — and rethrows', async () => {
    const error = new TributaryError('ERR_VALIDATION', 'missing total');
    await expect(
      chainHandlers(() => {
        throw error;
      }, tracing())(message, testContext().ctx),
    ).rejects.toBe(error);
    const span = otel.span('process orders');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'missing total' });
    expect(span.attributes[ATTR_ERROR_TYPE]).toBe('ERR_VALIDATION');
    expect(span.attributes[OUTCOME_ATTRIBUTE]).toBe('failed');
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
    const plain = new TypeError('x is undefined');
    await expect(
      chainHandlers(() => {
        throw plain;
      }, tracing())(message, testContext().ctx),
    ).rejects.toBe(plain);
    expect(otel.spans()[1]?.attributes[ATTR_ERROR_TYPE]).toBe('TypeError');
  });

  it('marks a dead-letter taken by a DeadLetterWriter as such, without a topic', async () => {
    await chainHandlers(
      () => {
        throw new TypeError('bad total');
      },
      tracing(),
      withDeadLetter({ writer: { write: async () => undefined } }),
    )(message, testContext().ctx);
    const event = otel.span('process orders').events.find((e) => e.name === 'dead-letter');
    expect(event?.attributes).toMatchObject({ 'tributary.dead_letter.writer': true, 'tributary.attempts': 1 });
    expect(event?.attributes).not.toHaveProperty('tributary.dead_letter.topic');
  });

  it('records retries and the dead-letter from inside as span events', async () => {
    await chainHandlers(
      () => {
        throw new Error('db down');
      },
      tracing(),
      withDeadLetter({ producer: new MockProducer() }),
      withRetry({ initialMs: 1, maxMs: 1, jitter: 'none', maxAttempts: 3 }),
    )(message, testContext().ctx);
    const span = otel.span('process orders');
    expect(span.events.map((e) => [e.name, e.attributes?.['tributary.attempt'] ?? e.attributes?.['tributary.dead_letter.topic']])).toEqual([
      ['retry', 1],
      ['retry', 2],
      ['dead-letter', 'orders.dlq'],
      ['exception', undefined],
    ]);
    expect(span.attributes[OUTCOME_ATTRIBUTE]).toBe('dead-lettered');
    expect(span.attributes[ATTR_ERROR_TYPE]).toBe('ERR_RETRIES_EXHAUSTED');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('marks a skipped duplicate', async () => {
    const chain = chainHandlers(() => undefined, tracing(), withDedup());
    await chain(message, testContext().ctx);
    await chain(message, testContext().ctx);
    expect(otel.spans().map((s) => s.attributes[OUTCOME_ATTRIBUTE])).toEqual(['processed', 'duplicate']);
  });

  it('validates its options', () => {
    expect(() => withTracing({ tracerProvider: {} as TracerProvider, system: '' })).toThrow(ConfigError);
    let error: unknown;
    try {
      withTracing({ system: '', parent: 'producer' as 'creation' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['system', 'parent']);
  });

  describe('across the memory transport', () => {
    const mem = memoryTransportPerTest();

    it('continues the trace a producer started, in the consumer, and nests the dead-letter send under it', async () => {
      const topic = await mem.createTopic('orders', { partitions: 2, deadLetterTopic: true });
      const traced = { tracerProvider: otel.provider, propagator: otel.propagator, system: mem.transport.system };
      const producer = wrapProducer(mem.transport.producer(), withSendTracing(traced));
      const dlqProducer = wrapProducer(mem.transport.producer(), withSendTracing(traced));
      const tracer = otel.provider.getTracer('test');
      await tracer.startActiveSpan('checkout', async (root) => {
        await producer.send([{ topic, key: 'good', value: 'ok' }]);
        await producer.send([{ topic, key: 'bad', value: 'poison' }]);
        root.end();
      });

      const handled: Message[] = [];
      const consumer = mem.consumer({ groupId: uniqueGroup(), topics: [topic], retry: false });
      await consumer.start(
        chainHandlers(
          (m: Message) => {
            handled.push(m);
            if (m.key === 'bad') throw new TributaryError('ERR_VALIDATION', 'poison');
          },
          withTracing(traced),
          withDeadLetter({ producer: dlqProducer }),
        ),
      );
      await waitFor(() => otel.spans().filter((s) => s.name === `process ${topic}`).length === 2, { message: 'two process spans' });
      await waitFor(() => otel.spans().some((s) => s.name === `send ${topic}.dlq`), { message: 'the dead-letter send span' });

      const root = otel.span('checkout');
      const sends = otel.spans().filter((s) => s.name === `send ${topic}`);
      const processes = otel.spans().filter((s) => s.name === `process ${topic}`);
      expect(sends).toHaveLength(2);
      for (const send of sends) {
        expect(send.kind).toBe(SpanKind.PRODUCER);
        expect(send.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
        const key = send.attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY];
        const process = processes.find((p) => p.attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] === key);
        expect(process?.spanContext().traceId).toBe(root.spanContext().traceId);
        expect(process?.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
        expect(linkIds(process)).toEqual([[send.spanContext().traceId, send.spanContext().spanId]]);
        expect(process?.attributes[ATTR_MESSAGING_SYSTEM]).toBe('memory');
        expect(process?.attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID]).toBe(send.attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID]);
        expect(process?.attributes[ATTR_MESSAGING_KAFKA_OFFSET]).toBe(send.attributes[ATTR_MESSAGING_KAFKA_OFFSET]);
      }
      const badProcess = processes.find((p) => p.attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] === 'bad');
      const dlqSend = otel.span(`send ${topic}.dlq`);
      expect(dlqSend.parentSpanContext?.spanId).toBe(badProcess?.spanContext().spanId);
      expect(dlqSend.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(handled.map((m) => m.headers.traceparent?.split('-')[1])).toEqual([root.spanContext().traceId, root.spanContext().traceId]);
      await producer.close();
      await dlqProducer.close();
    });
  });
});
