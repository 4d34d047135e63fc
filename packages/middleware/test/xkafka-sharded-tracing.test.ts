/**
 * Tracing with @tributary/xkafka-sharded: withSendTracing in a
 * DispatchingProducer's `globalHandlers`, withTracing in a sharded group
 * consumer's `globalHandlers`, on the memory transport.
 *
 * What the sharded consumers do with core middleware: the chain is built once
 * per topic and run once per *attempt* — their retry and exhausted policies
 * sit outside the chain. So withTracing records one `process` span per
 * attempt, each a child of (and linked to) the `send` span its record's
 * headers carry, with the attempt number as `tributary.attempt`; the
 * consumer's retries and dead letters are not span events (they happen
 * outside the span). withRetry inside the chain gives one span per record
 * with `retry` events instead. The producer likewise runs its middleware once
 * per send attempt, and withMetrics counts per attempt.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
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
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
} from '@opentelemetry/semantic-conventions/incubating';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TributaryError, wrapProducer, type MessageHandler, type ProducerMiddleware, type ProducerRecord } from '@tributary/core';
import { deferred, uniqueGroup, waitFor } from '@tributary/testutil';
import {
  createDispatchingProducer,
  createShardedGroupConsumer,
  type DispatchingProducerConfig,
  type GroupConsumerConfig,
  type ShardedGroupConsumer,
} from '@tributary/xkafka-sharded';
import { ATTEMPT_ATTRIBUTE, ConsumerCounters, OUTCOME_ATTRIBUTE, withMetrics, withRetry, withSendTracing, withTracing } from '@tributary/middleware';
import { metricsPerTest, total, tracingPerTest } from './support/otel';
import { memoryTransportPerTest } from './support/memory-transport';

const fastRetry = { initialMs: 1, maxMs: 1, jitter: 'none', maxAttempts: 3 } as const;
const spanId = (s: ReadableSpan): string => s.spanContext().spanId;
/** [traceId, spanId] of each link of `s`, in order. */
const linkIds = (s: ReadableSpan): [string, string][] => s.links.map((l) => [l.context.traceId, l.context.spanId]);

describe('tracing with @tributary/xkafka-sharded', () => {
  // Declared first, so it runs before the harnesses' own teardown: clients close before the transport does.
  const clients: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0).reverse()) await c.close();
  });
  const otel = tracingPerTest();
  const meters = metricsPerTest();
  const mt = memoryTransportPerTest();

  const tracing = (): { tracerProvider: typeof otel.provider; propagator: typeof otel.propagator; system: string } => ({
    tracerProvider: otel.provider,
    propagator: otel.propagator,
    system: mt.transport.system,
  });

  function track<C extends { close(): Promise<unknown> }>(client: C): C {
    clients.push(client);
    return client;
  }

  /** A dispatching producer whose middleware starts with withSendTracing. */
  function producer(topic: string, config: DispatchingProducerConfig = {}, inner: ProducerMiddleware[] = []): ReturnType<typeof createDispatchingProducer> {
    return track(
      createDispatchingProducer(mt.transport, {
        defaultTopic: topic,
        retry: fastRetry,
        ...config,
        globalHandlers: [withSendTracing(tracing()), ...inner],
      }),
    );
  }

  /** A sharded group consumer whose middleware starts with withTracing, started with `handler`. */
  async function consumer(topic: string, handler: MessageHandler, config: Partial<GroupConsumerConfig> = {}): Promise<ShardedGroupConsumer> {
    const c = track(
      createShardedGroupConsumer(mt.transport, {
        groupId: uniqueGroup('xks-trace'),
        topics: [topic],
        retry: fastRetry,
        commitIntervalMs: 10,
        globalHandlers: [withTracing(tracing())],
        ...config,
      }),
    );
    await c.start(handler);
    return c;
  }

  const processSpans = (topic: string): ReadableSpan[] => otel.spans().filter((s) => s.name === `process ${topic}`);

  it("makes the consumer's process span a child of the dispatching producer's send span, with the messaging attributes", async () => {
    const topic = await mt.createTopic('xks-trace', { partitions: 2 });
    const landed = await producer(topic).produce({ key: 'customer-9', value: 'v', headers: { ce_id: 'evt-1' } });
    const active: (string | undefined)[] = [];
    const c = await consumer(topic, async () => {
      await Promise.resolve();
      active.push(trace.getActiveSpan()?.spanContext().spanId);
    });
    await waitFor(() => c.stats().processed === 1, { message: 'record processed' });

    const send = otel.span(`send ${topic}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toEqual({
      [ATTR_MESSAGING_SYSTEM]: 'memory',
      [ATTR_MESSAGING_DESTINATION_NAME]: topic,
      [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
      [ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: 'customer-9',
      [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(landed.partition),
      [ATTR_MESSAGING_KAFKA_OFFSET]: landed.offset,
    });

    const process = otel.span(`process ${topic}`);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toEqual({
      [ATTR_MESSAGING_SYSTEM]: 'memory',
      [ATTR_MESSAGING_DESTINATION_NAME]: topic,
      [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(landed.partition),
      [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [ATTR_MESSAGING_KAFKA_OFFSET]: landed.offset,
      [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: 'customer-9',
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: c.groupId,
      [ATTR_MESSAGING_MESSAGE_ID]: 'evt-1',
      [ATTEMPT_ATTRIBUTE]: 1,
      [OUTCOME_ATTRIBUTE]: 'processed',
    });
    // The middleware's documented default: the creation context is the parent, and linked as the conventions ask.
    expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(spanId(send));
    expect(linkIds(process)).toEqual([[send.spanContext().traceId, spanId(send)]]);
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
    // The handler, on its shard worker, runs with the process span active.
    expect(active).toEqual([spanId(process)]);
  });

  it("records one process span per attempt of the consumer's own retries, each a child of the same send span", async () => {
    const topic = await mt.createTopic('xks-trace');
    await producer(topic).produce({ key: 'k', value: 'v' });
    const seen: { attempt: number; span: string | undefined }[] = [];
    const c = await consumer(topic, (_message, ctx) => {
      seen.push({ attempt: ctx.attempt, span: trace.getActiveSpan()?.spanContext().spanId });
      if (ctx.attempt < 3) throw new Error('db down');
    });
    await waitFor(() => c.stats().processed === 1, { message: 'record processed on its third attempt' });

    const send = otel.span(`send ${topic}`);
    const attempts = processSpans(topic); // in the order they ended: attempt order
    expect(attempts).toHaveLength(3);
    expect(seen).toEqual(attempts.map((s, i) => ({ attempt: i + 1, span: spanId(s) })));
    expect(new Set(attempts.map(spanId)).size).toBe(3);
    expect(attempts.map((s) => s.parentSpanContext?.spanId)).toEqual([spanId(send), spanId(send), spanId(send)]);
    expect(attempts.map(linkIds)).toEqual([0, 1, 2].map(() => [[send.spanContext().traceId, spanId(send)]]));
    expect(attempts.map((s) => s.attributes[ATTEMPT_ATTRIBUTE])).toEqual([1, 2, 3]);
    expect(attempts.map((s) => [s.status.code, s.attributes[OUTCOME_ATTRIBUTE], s.attributes[ATTR_ERROR_TYPE]])).toEqual([
      [SpanStatusCode.ERROR, 'failed', 'Error'],
      [SpanStatusCode.ERROR, 'failed', 'Error'],
      [SpanStatusCode.UNSET, 'processed', undefined],
    ]);
    // The consumer retries outside the chain: no `retry` span events, only each attempt's own exception.
    expect(attempts.map((s) => s.events.map((e) => e.name))).toEqual([['exception'], ['exception'], []]);
    expect(c.stats()).toMatchObject({ processed: 1, failedAttempts: 2, retries: 2 });
  });

  it('with withRetry inside the chain, records one process span per record, with retry events', async () => {
    const topic = await mt.createTopic('xks-trace');
    await producer(topic).produce({ key: 'k', value: 'v' });
    let calls = 0;
    const c = await consumer(
      topic,
      () => {
        if (++calls < 3) throw new Error('db down');
      },
      { globalHandlers: [withTracing(tracing()), withRetry(fastRetry)] },
    );
    await waitFor(() => c.stats().processed === 1, { message: 'record processed' });

    const process = otel.span(`process ${topic}`);
    expect(process.parentSpanContext?.spanId).toBe(spanId(otel.span(`send ${topic}`)));
    expect(process.events.map((e) => [e.name, e.attributes?.['tributary.attempt']])).toEqual([
      ['retry', 1],
      ['retry', 2],
    ]);
    expect(process.attributes[OUTCOME_ATTRIBUTE]).toBe('processed');
    expect(calls).toBe(3);
    expect(c.stats()).toMatchObject({ failedAttempts: 0, retries: 0 });
  });

  it("records one send span per attempt of the producer's retries; the record carries the last one", async () => {
    const topic = await mt.createTopic('xks-trace');
    let sends = 0;
    const failFirst: ProducerMiddleware = (next) => async (records) => {
      if (++sends > 1) return next(records);
      return records.map((r) => ({ ok: false as const, topic: r.topic, error: new TributaryError('ERR_PRODUCE', 'broker busy') }));
    };
    await producer(topic, {}, [failFirst]).produce({ key: 'k', value: 'v' });
    const c = await consumer(topic, () => undefined);
    await waitFor(() => c.stats().processed === 1, { message: 'record processed' });

    const [failed, succeeded, ...more] = otel.spans().filter((s) => s.name === `send ${topic}`);
    expect(more).toEqual([]);
    expect([failed?.status.code, failed?.attributes[ATTR_ERROR_TYPE]]).toEqual([SpanStatusCode.ERROR, 'ERR_PRODUCE']);
    expect(succeeded?.status.code).toBe(SpanStatusCode.UNSET);
    expect(otel.span(`process ${topic}`).parentSpanContext?.spanId).toBe(succeeded && spanId(succeeded));
  });

  it('produceAsync: each send span is a child of the span active at its call, also when another caller woke the dispatch worker', async () => {
    const topic = await mt.createTopic('xks-trace');
    const gate = deferred();
    // Holds the first record's send, so the second queues behind it on the one (serial) worker.
    const holdFirst: ProducerMiddleware = (next) => async (records) => {
      if (records[0]?.value === 'a') await gate.promise;
      return next(records);
    };
    const p = producer(topic, { dispatch: { mode: 'serial' } }, [holdFirst]);
    const tracer = otel.provider.getTracer('test');
    const request = (name: string, record: Omit<ProducerRecord, 'topic'>): ReturnType<typeof p.produceAsync> =>
      tracer.startActiveSpan(name, async (span) => {
        try {
          return await p.produceAsync(record);
        } finally {
          span.end();
        }
      });
    const a = await request('request a', { key: 'a', value: 'a' });
    const b = await request('request b', { key: 'b', value: 'b' });
    gate.resolve();
    await Promise.all([a.wait(), b.wait()]);
    const c = await consumer(topic, () => undefined);
    await waitFor(() => c.stats().processed === 2, { message: 'both records processed' });

    for (const name of ['request a', 'request b']) {
      const caller = otel.span(name);
      const sends = otel.spans().filter((s) => s.name === `send ${topic}` && s.parentSpanContext?.spanId === spanId(caller));
      expect(sends.map((s) => s.spanContext().traceId)).toEqual([caller.spanContext().traceId]);
      const processed = processSpans(topic).filter((s) => s.parentSpanContext?.spanId === spanId(sends[0]!));
      expect(processed.map((s) => s.attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY])).toEqual([name.slice(-1)]);
    }
  });

  it("dead-letters outside the spans: the dead-letter record keeps the original send's trace context", async () => {
    const topic = await mt.createTopic('xks-trace', { deadLetterTopic: true });
    await producer(topic).produce({ key: 'k', value: 'poison' });
    const dlqRecords: ProducerRecord[] = [];
    // An untraced dead-letter producer (as the one the consumer creates by default), recording what it sends.
    const dlqProducer = track(
      wrapProducer(mt.transport.producer(), (next) => async (records) => {
        dlqRecords.push(...records);
        return next(records);
      }),
    );
    const c = await consumer(
      topic,
      () => {
        throw new Error('cannot bill');
      },
      { retry: { ...fastRetry, maxAttempts: 2 }, exhaustedPolicy: 'dlq-commit', dlq: { producer: dlqProducer } },
    );
    await waitFor(() => c.stats().deadLettered === 1, { message: 'record dead-lettered' });

    const send = otel.span(`send ${topic}`);
    expect(processSpans(topic).map((s) => s.attributes[OUTCOME_ATTRIBUTE])).toEqual(['failed', 'failed']);
    expect(dlqRecords.map((r) => r.headers?.traceparent)).toEqual([`00-${send.spanContext().traceId}-${spanId(send)}-01`]);
  });
  it("counts metrics per attempt too: the consumer's retries are attempts consumed, not retry events", async () => {
    const topic = await mt.createTopic('xks-trace');
    await producer(topic).produce({ key: 'k', value: 'v' });
    const c = await consumer(
      topic,
      (_message, ctx) => {
        if (ctx.attempt === 1) throw new Error('db down');
      },
      { globalHandlers: [withTracing(tracing()), withMetrics({ meterProvider: meters.provider, system: mt.transport.system })] },
    );
    await waitFor(() => c.stats().processed === 1, { message: 'record processed on its second attempt' });

    const m = await meters.collect();
    expect(total(m.get(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES))).toBe(2);
    expect(total(m.get(ConsumerCounters.failed))).toBe(1);
    expect(total(m.get(ConsumerCounters.processed))).toBe(1);
    expect(total(m.get(ConsumerCounters.retries))).toBe(0);
    expect(c.stats()).toMatchObject({ processed: 1, retries: 1 });
  });
});
