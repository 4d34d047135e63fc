import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  ValidationError,
  createEvent,
  eventFromMessage,
  eventToRecord,
  isEventMessage,
  isTributaryError,
  isValidExtensionName,
  jsonCodec,
  parseData,
  parseDataAsync,
  stringCodec,
  toBytes,
  type Codec,
  type Event,
  type Message,
  type ProducerRecord,
  type StandardSchemaV1,
  type TributaryError,
} from '@tributary/core';

interface OrderCreated {
  orderId: string;
  total: number;
}

const orderSchema: StandardSchemaV1<unknown, OrderCreated> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const v = value as Partial<OrderCreated> | null;
      const issues: StandardSchemaV1.Issue[] = [];
      if (typeof v?.orderId !== 'string') issues.push({ message: 'Expected string', path: ['orderId'] });
      if (typeof v?.total !== 'number') issues.push({ message: 'Expected number', path: ['total'] });
      return issues.length ? { issues } : { value: v as OrderCreated };
    },
  },
};

const asyncOrderSchema: StandardSchemaV1<unknown, OrderCreated> = {
  '~standard': { version: 1, vendor: 'async', validate: async (value) => orderSchema['~standard'].validate(value) },
};

const fixedNow = (): Date => new Date('2024-05-06T07:08:09.123Z');

/** What a transport would deliver for `record`. */
function deliver(record: ProducerRecord, extra: Partial<Message> = {}): Message {
  return {
    topic: record.topic,
    partition: 0,
    offset: 42,
    key: record.key ?? null,
    value: record.value === null ? null : toBytes(record.value),
    timestamp: Date.parse('2024-05-06T07:08:10.000Z'),
    headers: record.headers ?? {},
    ...extra,
  };
}

function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    if (isTributaryError(err)) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('createEvent', () => {
  it('fills id (uuidv4) and UTC time, and keeps the attributes given', () => {
    const e = createEvent({ type: 'order.created', source: 'shop', data: { orderId: 'o1', total: 5 } });
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(5_000);
    expect(e).toMatchObject({ type: 'order.created', source: 'shop', data: { orderId: 'o1', total: 5 } });
    expect(e).not.toHaveProperty('subject');
    const other = createEvent({ type: 'order.created', source: 'shop', data: null });
    expect(other.id).not.toBe(e.id);
  });

  it('uses the given id, idFactory and clock', () => {
    expect(createEvent({ type: 't', source: 's', data: 1, id: 'fixed' }).id).toBe('fixed');
    expect(createEvent({ type: 't', source: 's', data: 1, idFactory: () => 'from-factory' }).id).toBe('from-factory');
    expect(createEvent({ type: 't', source: 's', data: 1, now: fixedNow }).time).toBe('2024-05-06T07:08:09.123Z');
  });

  it('uses a given time (Date or RFC 3339) over the clock, in UTC, and refuses an invalid one', () => {
    const at = (time: Date | string) => createEvent({ type: 't', source: 's', data: 1, now: fixedNow, time }).time;
    expect(at(new Date(Date.UTC(2023, 0, 2, 3, 4, 5, 6)))).toBe('2023-01-02T03:04:05.006Z');
    expect(at('2023-01-02T04:04:05+01:00')).toBe('2023-01-02T03:04:05.000Z');
    for (const bad of ['2023-01-02', 'soon', new Date(Number.NaN), 5 as unknown as string]) {
      expect(thrown(() => at(bad))).toMatchObject({ code: 'ERR_CONFIG', problems: [{ field: 'time' }] });
    }
  });

  it('freezes the envelope and copies extensions', () => {
    const extensions = { tenantid: 'acme' };
    const e = createEvent({ type: 't', source: 's', data: { n: 1 }, extensions });
    extensions.tenantid = 'changed';
    expect(e.extensions).toEqual({ tenantid: 'acme' });
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.extensions)).toBe(true);
  });

  it('reports every invalid field at once, extension names included', () => {
    const err = thrown(() =>
      createEvent({
        type: '',
        source: undefined as unknown as string,
        data: 1,
        subject: '',
        extensions: { TenantId: 'x', 'trace-id': 'y', id: 'z', ok1: 'fine', waytoolongextensionname: 'v' },
      }),
    );
    expect(err).toBeInstanceOf(ConfigError);
    const fields = (err as ConfigError).problems.map((p) => p.field).sort();
    expect(fields).toEqual([
      'extensions.TenantId',
      'extensions.id',
      'extensions.trace-id',
      'extensions.waytoolongextensionname',
      'source',
      'subject',
      'type',
    ]);
    expect(err.message).toMatch(/reserved/);
  });

  it('isValidExtensionName follows CloudEvents naming', () => {
    expect(isValidExtensionName('tenantid')).toBe(true);
    expect(isValidExtensionName('traceparent')).toBe(true);
    expect(isValidExtensionName('v2')).toBe(true);
    expect(isValidExtensionName('tenant_id')).toBe(false);
    expect(isValidExtensionName('Tenant')).toBe(false);
    expect(isValidExtensionName('')).toBe(false);
    expect(isValidExtensionName('schemaversion')).toBe(false);
  });
});

describe('eventToRecord', () => {
  const event = createEvent<OrderCreated>({
    type: 'order.created',
    source: 'urn:shop',
    subject: 'order-1',
    data: { orderId: 'order-1', total: 12.5 },
    dataSchema: 'https://schemas.example.com/order-created.json',
    schemaVersion: '2',
    extensions: { tenantid: 'acme' },
    id: 'evt-1',
    now: fixedNow,
  });

  it('writes CloudEvents binary mode: data as value, attributes as ce_ headers', () => {
    const record = eventToRecord(event, { topic: 'orders' });
    expect(record.topic).toBe('orders');
    expect(JSON.parse(new TextDecoder().decode(record.value as Uint8Array))).toEqual({ orderId: 'order-1', total: 12.5 });
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'evt-1',
      ce_source: 'urn:shop',
      ce_type: 'order.created',
      ce_time: '2024-05-06T07:08:09.123Z',
      ce_subject: 'order-1',
      ce_dataschema: 'https://schemas.example.com/order-created.json',
      ce_schemaversion: '2',
      ce_tenantid: 'acme',
      'content-type': 'application/json',
    });
    // The record timestamp is left to the producer (send time), not the event time.
    expect(record.timestamp).toBeUndefined();
  });

  it('keys by subject by default; an explicit key or null wins', () => {
    expect(eventToRecord(event, { topic: 'orders' }).key).toBe('order-1');
    expect(eventToRecord(event, { topic: 'orders', key: 'other' }).key).toBe('other');
    expect(eventToRecord(event, { topic: 'orders', key: null }).key).toBeNull();
    const noSubject = createEvent({ type: 't', source: 's', data: 1 });
    expect(eventToRecord(noSubject, { topic: 'x' })).not.toHaveProperty('key');
  });

  it('uses the codec for the value and its content type unless the event names one', () => {
    const e = createEvent({ type: 't', source: 's', data: 'plain text' });
    const r = eventToRecord(e, { topic: 'x', codec: stringCodec });
    expect(new TextDecoder().decode(r.value as Uint8Array)).toBe('plain text');
    expect(r.headers?.['content-type']).toBe('text/plain; charset=utf-8');
    const custom = createEvent({ type: 't', source: 's', data: 'x', dataContentType: 'text/csv' });
    expect(eventToRecord(custom, { topic: 'x', codec: stringCodec }).headers?.['content-type']).toBe('text/csv');
  });

  it('merges extra headers, the envelope winning a clash', () => {
    const r = eventToRecord(event, { topic: 'orders', headers: { traceparent: '00-abc-def-01', ce_id: 'forged' } });
    expect(r.headers?.traceparent).toBe('00-abc-def-01');
    expect(r.headers?.ce_id).toBe('evt-1');
  });

  it('writes no value for an event without data', () => {
    const e = createEvent({ type: 't', source: 's', data: undefined });
    expect(eventToRecord(e, { topic: 'x' }).value).toBeNull();
  });

  it('validates hand-built events (bad time, bad extension, missing topic)', () => {
    const bad: Event = { id: 'i', type: 't', source: 's', time: 'yesterday', data: 1, extensions: { 'Bad-Name': 'v' } };
    const err = thrown(() => eventToRecord(bad, { topic: '' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field).sort()).toEqual(['extensions.Bad-Name', 'time', 'topic']);
  });

  it('wraps a failing custom codec in ERR_ENCODE and passes TributaryErrors through', () => {
    const broken: Codec<unknown> = {
      contentType: 'x/y',
      encode: () => {
        throw new Error('nope');
      },
      decode: () => undefined,
    };
    const err = thrown(() => eventToRecord(event, { topic: 'orders', codec: broken }));
    expect(err.code).toBe('ERR_ENCODE');
    expect((err.cause as Error).message).toBe('nope');
    const fn = createEvent({ type: 't', source: 's', data: () => 1 });
    expect(thrown(() => eventToRecord(fn, { topic: 'x' })).code).toBe('ERR_ENCODE');
  });
});

describe('isEventMessage / eventFromMessage', () => {
  const event = createEvent({
    type: 'order.created',
    source: 'urn:shop',
    subject: 'order-1',
    data: { orderId: 'order-1', total: 3 },
    schemaVersion: '1',
    extensions: { tenantid: 'acme', traceparent: '00-1-2-01' },
    now: fixedNow,
  });

  it('round-trips an event through a record', () => {
    const message = deliver(eventToRecord(event, { topic: 'orders' }));
    expect(isEventMessage(message)).toBe(true);
    const back = eventFromMessage<OrderCreated>(message);
    expect(back).toEqual({ ...event, dataContentType: 'application/json' });
    expect(Object.isFrozen(back)).toBe(true);
  });

  it('round-trips with a custom codec', () => {
    const e = createEvent({ type: 't', source: 's', data: 'hello' });
    expect(eventFromMessage(deliver(eventToRecord(e, { topic: 'x', codec: stringCodec })), stringCodec).data).toBe('hello');
  });

  it('is not an event without ce_specversion', () => {
    expect(isEventMessage({ headers: {} })).toBe(false);
    expect(isEventMessage({ headers: { ce_id: '1', ce_type: 't', ce_source: 's' } })).toBe(false);
  });

  it.each(['ce_specversion', 'ce_id', 'ce_source', 'ce_type'])('names a missing required attribute (%s) in ERR_DECODE', (header) => {
    const record = eventToRecord(event, { topic: 'orders' });
    const headers = { ...record.headers };
    delete headers[header];
    const err = thrown(() => eventFromMessage(deliver(record, { headers })));
    expect(err.code).toBe('ERR_DECODE');
    expect(err.message).toContain(header);
    expect(err.context).toEqual({ topic: 'orders', partition: 0, offset: 42, key: 'order-1' });
  });

  it('refuses other spec versions and malformed times', () => {
    const record = eventToRecord(event, { topic: 'orders' });
    expect(thrown(() => eventFromMessage(deliver(record, { headers: { ...record.headers, ce_specversion: '0.3' } }))).message).toMatch(/0\.3/);
    expect(thrown(() => eventFromMessage(deliver(record, { headers: { ...record.headers, ce_time: 'noon' } }))).message).toMatch(/ce_time/);
  });

  it('falls back to the record timestamp when ce_time is absent, and keeps a given time as sent', () => {
    const record = eventToRecord(event, { topic: 'orders' });
    const headers = { ...record.headers };
    delete headers.ce_time;
    expect(eventFromMessage(deliver(record, { headers })).time).toBe('2024-05-06T07:08:10.000Z');
    const withOffset = { ...record.headers, ce_time: '2024-05-06T09:08:09.123456+02:00' };
    expect(eventFromMessage(deliver(record, { headers: withOffset })).time).toBe('2024-05-06T09:08:09.123456+02:00');
  });

  it('reads foreign ce_ headers as extensions, ignoring names CloudEvents does not allow', () => {
    const record = eventToRecord(event, { topic: 'orders' });
    const headers = { ...record.headers, ce_region: 'eu', 'ce_Not-Valid': 'x', traceparent: 'not an attribute' };
    expect(eventFromMessage(deliver(record, { headers })).extensions).toEqual({ tenantid: 'acme', traceparent: '00-1-2-01', region: 'eu' });
  });

  it('reads a record without value as an event without data', () => {
    const e = createEvent({ type: 't', source: 's', data: undefined });
    const back = eventFromMessage(deliver(eventToRecord(e, { topic: 'x' })));
    expect(back.data).toBeUndefined();
    expect(back.id).toBe(e.id);
  });

  it('passes codec errors through: ERR_DECODE for bad bytes, ERR_VALIDATION for a failing schema', () => {
    const record = eventToRecord(event, { topic: 'orders' });
    expect(thrown(() => eventFromMessage(deliver(record, { value: toBytes('{oops') }))).code).toBe('ERR_DECODE');
    const invalid = deliver(record, { value: toBytes('{"orderId":1}') });
    const err = thrown(() => eventFromMessage(invalid, jsonCodec({ schema: orderSchema })));
    expect(err).toBeInstanceOf(ValidationError);
  });

  it('wraps a custom codec that throws a plain error in ERR_DECODE with the record context', () => {
    const broken: Codec<never> = {
      contentType: 'x/y',
      encode: () => new Uint8Array(),
      decode: () => {
        throw new Error('corrupt');
      },
    };
    const err = thrown(() => eventFromMessage(deliver(eventToRecord(event, { topic: 'orders' })), broken));
    expect(err.code).toBe('ERR_DECODE');
    expect((err.cause as Error).message).toBe('corrupt');
    expect(err.context?.offset).toBe(42);
  });
});

describe('types (compile-time)', () => {
  it('types data through createEvent, eventFromMessage and parseData', () => {
    const e = createEvent({ type: 't', source: 's', data: { orderId: 'o', total: 1 } });
    const total: number = e.data.total;
    // @ts-expect-error source is required
    const missing = (): Event => createEvent({ type: 't', data: 1 });
    // @ts-expect-error events are immutable
    const mutate = (): void => void (e.id = 'x');
    const back = eventFromMessage<OrderCreated>(deliver(eventToRecord(e, { topic: 'x' })));
    const parsed: OrderCreated = parseData(back, orderSchema);
    expect([total, back.data.total, parsed.total]).toEqual([1, 1, 1]);
    expect([typeof missing, typeof mutate]).toEqual(['function', 'function']);
  });
});

describe('parseData / parseDataAsync', () => {
  // Data as a consumer sees it before parsing: unknown.
  const good: Event = createEvent({ type: 't', source: 's', data: { orderId: 'o', total: 1 } });
  const bad: Event = createEvent({ type: 't', source: 's', data: { orderId: 5 } });

  it('validates and types data with a schema', () => {
    const data: OrderCreated = parseData(good, orderSchema);
    expect(data).toEqual({ orderId: 'o', total: 1 });
  });

  it('lists every issue on invalid data (ERR_VALIDATION)', () => {
    const err = thrown(() => parseData(bad, orderSchema));
    expect(err.code).toBe('ERR_VALIDATION');
    expect(err.message).toContain('orderId: Expected string');
    expect(err.message).toContain('total: Expected number');
  });

  it('returns data unchecked without a schema', () => {
    const data = parseData<{ anything: true }>(bad);
    expect(data).toBe(bad.data);
  });

  it('refuses async schemas synchronously, and parseDataAsync accepts them', async () => {
    expect(thrown(() => parseData(good, asyncOrderSchema)).message).toContain('parseDataAsync');
    await expect(parseDataAsync(good, asyncOrderSchema)).resolves.toEqual({ orderId: 'o', total: 1 });
    await expect(parseDataAsync(bad, asyncOrderSchema)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(parseDataAsync(good)).resolves.toBe(good.data);
  });
});
