import { describe, expect, it } from '@jest/globals';
import { ConfigError, EventHeaders, eventFromMessage, stringCodec } from '@tributary/core';
import { buildEvent, buildEventMessage, buildEventRecord } from '@tributary/testutil';

describe('buildEvent', () => {
  it('fills every attribute with a default and gives unique ids', () => {
    const a = buildEvent();
    const b = buildEvent();
    expect(a).toMatchObject({ type: 'test.event', source: 'testutil', data: {} });
    expect(a.id).not.toBe(b.id);
    expect(Date.parse(a.time)).not.toBeNaN();
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('takes overrides, including a time kept as written and undefined data', () => {
    const e = buildEvent({ id: 'e-1', type: 'order.created', subject: 'order-1', data: { total: 3 }, time: '2024-01-02T03:04:05+02:00', extensions: { tenantid: 'acme' } });
    expect(e).toMatchObject({ id: 'e-1', type: 'order.created', subject: 'order-1', data: { total: 3 }, time: '2024-01-02T03:04:05+02:00', extensions: { tenantid: 'acme' } });
    expect(Object.isFrozen(e)).toBe(true);
    expect(buildEvent({ data: undefined }).data).toBeUndefined();
  });

  it('rejects invalid attributes like createEvent', () => {
    expect(() => buildEvent({ type: '' })).toThrow(ConfigError);
  });
});

describe('buildEventRecord / buildEventMessage', () => {
  it('builds the record carrying the event (binary mode), keyed by subject', () => {
    const r = buildEventRecord({ id: 'e-2', type: 'order.paid', subject: 'order-2', data: { ok: true } }, { topic: 'orders', headers: { traceparent: 'x' } });
    expect(r.topic).toBe('orders');
    expect(r.key).toBe('order-2');
    expect(r.headers).toMatchObject({ [EventHeaders.id]: 'e-2', [EventHeaders.type]: 'order.paid', traceparent: 'x' });
    expect(buildEventRecord({}, { key: null, partition: 2 })).toMatchObject({ key: null, partition: 2, topic: 'test-topic' });
  });

  it('builds a message that decodes back to the event', () => {
    const m = buildEventMessage({ id: 'e-3', type: 'x.y', data: { n: 1 } }, { topic: 't', partition: 1, offset: 5 });
    expect(m).toMatchObject({ topic: 't', partition: 1, offset: 5 });
    expect(eventFromMessage(m)).toMatchObject({ id: 'e-3', type: 'x.y', data: { n: 1 } });
    const s = buildEventMessage<string>({ data: 'plain' }, { codec: stringCodec, timestamp: 42 });
    expect(s.timestamp).toBe(42);
    expect(eventFromMessage(s, stringCodec).data).toBe('plain');
  });
});
