import {
  ConfigError,
  TributaryError,
  createEventRegistry,
  createPublisher,
  eventFromMessage,
  toBytes,
  type Codec,
  type Message,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';

class RecordingProducer implements TransportProducer {
  readonly calls: ProducerRecord[][] = [];
  refuseKey: string | undefined;
  async connect(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    this.calls.push([...records]);
    return records.map((r, i): SendResult =>
      r.key === this.refuseKey && r.key !== undefined
        ? { ok: false, topic: r.topic, error: new TributaryError('ERR_RECORD_TOO_LARGE', 'refused') }
        : { ok: true, topic: r.topic, partition: 0, offset: i },
    );
  }
}

function asMessage(r: ProducerRecord): Message {
  return { topic: r.topic, partition: 0, offset: 0, key: r.key ?? null, value: r.value === null ? null : toBytes(r.value), timestamp: 0, headers: r.headers ?? {} };
}

function setup(options: { codec?: Codec<unknown>; idFactory?: () => string } = {}) {
  const producer = new RecordingProducer();
  const registry = createEventRegistry({ 'order.created': 'orders', 'order.paid': 'orders', 'user.joined': 'users' });
  const publisher = createPublisher({ producer, registry, source: 'shop', ...options });
  return { producer, registry, publisher };
}

describe('createPublisher', () => {
  it('publishes a registered event to its topic with the envelope', async () => {
    let n = 0;
    const { producer, publisher } = setup({ idFactory: () => `evt-${++n}` });
    await expect(publisher.publish('user.joined', { name: 'ada' }, 'u-1')).resolves.toMatchObject({ ok: true, topic: 'users' });
    const record = producer.calls[0]?.[0];
    expect(record).toMatchObject({ topic: 'users', key: 'u-1' });
    expect(eventFromMessage(asMessage(record!))).toMatchObject({ id: 'evt-1', type: 'user.joined', source: 'shop', subject: 'u-1', data: { name: 'ada' } });
  });

  it('encodes with the configured codec', async () => {
    const codec: Codec<unknown> = { contentType: 'text/x-upper', encode: (v) => toBytes(String(v).toUpperCase()), decode: (b) => b };
    const { producer, publisher } = setup({ codec });
    await publisher.publish('order.paid', 'abc');
    expect(producer.calls[0]?.[0]?.value).toEqual(toBytes('ABC'));
    expect(producer.calls[0]?.[0]?.headers?.['content-type']).toBe('text/x-upper');
  });

  it('fails an unregistered type with ERR_EVENT_NOT_FOUND and sends nothing', async () => {
    const { producer, publisher } = setup();
    await expect(publisher.publish('order.lost', {})).rejects.toMatchObject({ code: 'ERR_EVENT_NOT_FOUND' });
    await expect(publisher.publishBatch([{ type: 'order.created', data: 1 }, { type: 'order.lost', data: 2 }])).rejects.toMatchObject({
      code: 'ERR_EVENT_NOT_FOUND',
    });
    expect(producer.calls).toEqual([]);
  });

  it('publishes many events in one send, with one result per event', async () => {
    const { producer, publisher } = setup();
    producer.refuseKey = 'bad';
    const results = await publisher.publishBatch([
      { type: 'order.created', data: { n: 1 }, key: 'o-1' },
      { type: 'user.joined', data: { n: 2 } },
      { type: 'order.paid', data: { n: 3 }, key: 'bad' },
    ]);
    expect(producer.calls).toHaveLength(1);
    expect(producer.calls[0]?.map((r) => [r.topic, r.key])).toEqual([
      ['orders', 'o-1'],
      ['users', undefined],
      ['orders', 'bad'],
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[2]).toMatchObject({ ok: false, error: { code: 'ERR_RECORD_TOO_LARGE' } });
    const ids = producer.calls[0]!.map((r) => r.headers?.ce_id);
    expect(new Set(ids).size).toBe(3);
    await expect(publisher.publishBatch([])).resolves.toEqual([]);
    expect(producer.calls).toHaveLength(1);
  });

  it('throws a refused single record’s error and wraps a failed send call', async () => {
    const { producer, publisher } = setup();
    producer.refuseKey = 'bad';
    await expect(publisher.publish('order.paid', 1, 'bad')).rejects.toMatchObject({ code: 'ERR_RECORD_TOO_LARGE' });
    const cause = new Error('broker transport failure');
    producer.send = () => Promise.reject(cause);
    await expect(publisher.publishBatch([{ type: 'order.paid', data: 1 }])).rejects.toMatchObject({ code: 'ERR_PRODUCE', cause });
  });

  it('takes publish options as the third argument: extensions, headers, envelope fields', async () => {
    const { producer, publisher } = setup();
    await publisher.publish('order.created', { id: 'o-1' }, {
      key: 'o-1',
      extensions: { tenantid: 'acme' },
      headers: { 'x-request-id': 'r-1' },
      schemaVersion: '3',
      id: 'evt-1',
    });
    const record = producer.calls[0]?.[0];
    expect(record).toMatchObject({ topic: 'orders', key: 'o-1', headers: { 'x-request-id': 'r-1', ce_tenantid: 'acme' } });
    expect(eventFromMessage(asMessage(record!))).toMatchObject({
      id: 'evt-1',
      subject: 'o-1',
      schemaVersion: '3',
      extensions: { tenantid: 'acme' },
    });
    // The key string of the original signature still works, and still must not be empty.
    await publisher.publish('order.paid', 1, 'o-2');
    expect(producer.calls[1]?.[0]).toMatchObject({ key: 'o-2', headers: { ce_subject: 'o-2' } });
    await expect(publisher.publish('order.paid', 1, '')).rejects.toMatchObject({ code: 'ERR_CONFIG', problems: [{ field: 'key' }] });
    expect(producer.calls).toHaveLength(2);
  });

  it('publishes per-event options in a batch', async () => {
    const { producer, publisher } = setup();
    await publisher.publishBatch([
      { type: 'order.created', data: 1, key: 'o-1', extensions: { tenantid: 'acme' } },
      { type: 'user.joined', data: 2, headers: { traceparent: 't-2' }, subject: 'u-2' },
      { type: 'order.paid', data: 3, key: null, subject: 'o-3' },
    ]);
    const [a, b, c] = producer.calls[0]!;
    expect(a).toMatchObject({ key: 'o-1', headers: { ce_tenantid: 'acme', ce_subject: 'o-1' } });
    expect(b).toMatchObject({ topic: 'users', key: 'u-2', headers: { traceparent: 't-2' } });
    expect(b?.headers).not.toHaveProperty('ce_tenantid'); // options belong to their event only
    expect(c).toMatchObject({ key: null, headers: { ce_subject: 'o-3' } });
  });

  it('names every invalid field of every event in one ConfigError and sends nothing', async () => {
    const { producer, publisher } = setup();
    const err = await publisher
      .publishBatch([
        { type: 'order.created', data: 1 },
        { type: 'order.paid', data: 2, headers: { ce_id: 'forged' }, extensions: { 'tenant-id': 'x' } },
        null as never,
        { type: 'user.joined', data: 3, key: '' },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field)).toEqual(['events[1].headers.ce_id', 'events[1].extensions.tenant-id', 'events[2]', 'events[3].key']);
    expect(producer.calls).toEqual([]);
  });

  it('validates every option at once', () => {
    expect(() => createPublisher({ producer: {} as TransportProducer, registry: {} as never, source: '' })).toThrow(
      /producer must be a TransportProducer; registry must be an EventRegistry; source must be a non-empty string/,
    );
  });
});
