import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { wrapProducer, type ProducerRecord } from '@tributary/core';
import { MockProducer } from '@tributary/testutil';
import { withSendTracing } from '@tributary/middleware';
import { tracingPerTest } from './support/otel';

describe('withSendTracing', () => {
  const otel = tracingPerTest();

  const traced = (mock: MockProducer): ReturnType<typeof wrapProducer> =>
    wrapProducer(mock, withSendTracing({ tracerProvider: otel.provider, propagator: otel.propagator }));

  it('records a PRODUCER "send <topic>" span and injects its context into the record', async () => {
    const mock = new MockProducer({ partitions: 4 });
    const record: ProducerRecord = { topic: 'orders', key: 'customer-9', value: 'v', headers: { ce_id: 'evt-1' } };
    const [result] = await traced(mock).send([record]);
    const span = otel.span('send orders');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(result?.ok).toBe(true);
    expect(span.attributes).toEqual({
      [ATTR_MESSAGING_SYSTEM]: 'kafka',
      [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
      [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
      [ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: 'customer-9',
      [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(result?.ok && result.partition),
      [ATTR_MESSAGING_KAFKA_OFFSET]: 0,
    });
    const { traceId, spanId } = span.spanContext();
    expect(mock.records[0]?.headers).toEqual({ ce_id: 'evt-1', traceparent: `00-${traceId}-${spanId}-01` });
    expect(record.headers).toEqual({ ce_id: 'evt-1' }); // the caller's record is not changed
  });

  it('replaces trace context a forwarded record already carries', async () => {
    const mock = new MockProducer();
    await traced(mock).send([{ topic: 'orders.dlq', value: 'v', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }]);
    const { spanId } = otel.span('send orders.dlq').spanContext();
    expect(mock.records[0]?.headers?.traceparent).toContain(spanId);
  });

  it('records one span per topic of a batch, each record carrying its topic span', async () => {
    const mock = new MockProducer();
    await traced(mock).send([
      { topic: 'a', value: '1' },
      { topic: 'b', value: '2' },
      { topic: 'a', value: '3' },
    ]);
    const a = otel.span('send a');
    const b = otel.span('send b');
    expect(a.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(2);
    expect(a.attributes).not.toHaveProperty(ATTR_MESSAGING_KAFKA_OFFSET);
    expect(b.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBeUndefined();
    const carried = mock.records.map((r) => r.headers?.traceparent?.split('-')[2]);
    expect(carried).toEqual([a.spanContext().spanId, b.spanContext().spanId, a.spanContext().spanId]);
  });

  it('is a child of the active span', async () => {
    const tracer = otel.provider.getTracer('test');
    await tracer.startActiveSpan('request', async (root) => {
      await traced(new MockProducer()).send([{ topic: 'orders', value: 'v' }]);
      root.end();
    });
    expect(otel.span('send orders').parentSpanContext?.spanId).toBe(otel.span('request').spanContext().spanId);
  });

  it('marks a failed record and a rejected call', async () => {
    // The trace header (about 60 bytes) counts towards the record size too.
    const mock = new MockProducer({ maxRecordBytes: 100 });
    const results = await traced(mock).send([
      { topic: 'orders', value: 'ok' },
      { topic: 'orders', value: 'x'.repeat(100) },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    const span = otel.span('send orders');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes[ATTR_ERROR_TYPE]).toBe('ERR_RECORD_TOO_LARGE');

    const rejecting = new MockProducer().rejectNextSend('ERR_CONNECTION');
    await expect(traced(rejecting).send([{ topic: 'a', value: '1' }, { topic: 'b', value: '2' }])).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    for (const name of ['send a', 'send b']) {
      expect(otel.span(name).status.code).toBe(SpanStatusCode.ERROR);
      expect(otel.span(name).attributes[ATTR_ERROR_TYPE]).toBe('ERR_CONNECTION');
    }
  });

  it('passes an empty send through without a span', async () => {
    expect(await traced(new MockProducer()).send([])).toEqual([]);
    expect(otel.spans()).toEqual([]);
  });
});
