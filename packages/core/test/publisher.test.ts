import {
  ConfigError,
  TributaryError,
  createEventPublisher,
  eventFromMessage,
  stringCodec,
  toBytes,
  type Message,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';

/** Records what is sent; `next` decides each record's result. */
class RecordingProducer implements TransportProducer {
  readonly sent: ProducerRecord[] = [];
  next: (r: ProducerRecord) => SendResult = (r) => ({ ok: true, topic: r.topic, partition: 1, offset: this.sent.length - 1 });
  async connect(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    this.sent.push(...records);
    return records.map((r) => this.next(r));
  }
}

function asMessage(r: ProducerRecord): Message {
  return { topic: r.topic, partition: 0, offset: 0, key: r.key ?? null, value: r.value === null ? null : toBytes(r.value), timestamp: 0, headers: r.headers ?? {} };
}

describe('createEventPublisher', () => {
  it('publishes an envelope with a fresh id, UTC time and the configured source', async () => {
    const producer = new RecordingProducer();
    let n = 0;
    const publisher = createEventPublisher(producer, {
      source: 'orders-service',
      idFactory: () => `id-${++n}`,
      now: () => new Date('2024-05-06T07:08:09.010+02:00'),
    });
    await expect(publisher.publish('orders', 'order.created', { id: 'o-1' })).resolves.toEqual({ ok: true, topic: 'orders', partition: 1, offset: 0 });
    await publisher.publish('orders', 'order.created', { id: 'o-2' });
    const [first, second] = producer.sent.map((r) => eventFromMessage(asMessage(r)));
    expect(first).toMatchObject({ id: 'id-1', type: 'order.created', source: 'orders-service', time: '2024-05-06T05:08:09.010Z', data: { id: 'o-1' } });
    expect(first?.subject).toBeUndefined();
    expect(second?.id).toBe('id-2');
    expect(producer.sent[0]?.key).toBeUndefined();
  });

  it('uses uuidv4 ids by default, distinct per event', async () => {
    const producer = new RecordingProducer();
    const publisher = createEventPublisher(producer, { source: 's' });
    await publisher.publish('t', 'x', 1);
    await publisher.publish('t', 'x', 2);
    const ids = producer.sent.map((r) => r.headers?.ce_id);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('publishKeyed makes the key both the subject and the record key', async () => {
    const producer = new RecordingProducer();
    const publisher = createEventPublisher(producer, { source: 's' });
    await publisher.publishKeyed('orders', 'order.paid', { amount: 5 }, 'o-9');
    expect(producer.sent[0]?.key).toBe('o-9');
    expect(eventFromMessage(asMessage(producer.sent[0]!)).subject).toBe('o-9');
    await expect(publisher.publishKeyed('orders', 'order.paid', {}, '')).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('encodes data with the configured codec', async () => {
    const producer = new RecordingProducer();
    const publisher = createEventPublisher(producer, { source: 's', codec: stringCodec });
    await publisher.publish('t', 'greeting', 'hello');
    expect(producer.sent[0]?.value).toEqual(toBytes('hello'));
    expect(producer.sent[0]?.headers?.['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('throws the record’s own TributaryError when the transport refuses it', async () => {
    const producer = new RecordingProducer();
    const refused = new TributaryError('ERR_RECORD_TOO_LARGE', 'too big');
    producer.next = (r) => ({ ok: false, topic: r.topic, error: refused });
    const publisher = createEventPublisher(producer, { source: 's' });
    await expect(publisher.publish('t', 'x', 1)).rejects.toBe(refused);
  });

  it('wraps a failed send call in ERR_PRODUCE and reports encode failures as ERR_ENCODE', async () => {
    const producer = new RecordingProducer();
    const cause = new Error('connection reset');
    producer.send = () => Promise.reject(cause);
    const publisher = createEventPublisher(producer, { source: 's' });
    await expect(publisher.publish('t', 'x', 1)).rejects.toMatchObject({ code: 'ERR_PRODUCE', cause });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(createEventPublisher(new RecordingProducer(), { source: 's' }).publish('t', 'x', cyclic)).rejects.toMatchObject({ code: 'ERR_ENCODE' });
    await expect(publisher.publish('t', '', 1)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('exposes its producer and source', () => {
    const producer = new RecordingProducer();
    const publisher = createEventPublisher(producer, { source: 'svc' });
    expect(publisher.producer()).toBe(producer);
    expect(publisher.source()).toBe('svc');
  });

  describe('publish options', () => {
    /** What a call rejects with, which must be a ConfigError; its problem fields, sorted. */
    async function problemFields(p: Promise<unknown>): Promise<string[]> {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.map((x) => x.field).sort();
    }

    it('sets extensions, headers and the envelope fields of one event', async () => {
      const producer = new RecordingProducer();
      const publisher = createEventPublisher(producer, { source: 'shop', idFactory: () => 'generated', now: () => new Date(0) });
      await publisher.publish('orders', 'order.created', { id: 'o-1' }, {
        subject: 'o-1',
        extensions: { tenantid: 'acme', region: 'eu1' },
        headers: { traceparent: '00-abc-def-01', 'x-request-id': 'r-7' },
        schemaVersion: '2',
        dataSchema: 'https://schemas.example/order/2',
        dataContentType: 'application/vnd.order+json',
        id: 'evt-42',
        time: '2024-05-06T07:08:09.5+02:00',
      });
      const record = producer.sent[0]!;
      expect(record.key).toBe('o-1'); // the subject is the default key
      expect(record.headers).toMatchObject({
        traceparent: '00-abc-def-01',
        'x-request-id': 'r-7',
        ce_tenantid: 'acme',
        ce_region: 'eu1',
        ce_schemaversion: '2',
        ce_dataschema: 'https://schemas.example/order/2',
        'content-type': 'application/vnd.order+json',
      });
      expect(eventFromMessage(asMessage(record))).toEqual({
        id: 'evt-42',
        type: 'order.created',
        source: 'shop',
        time: '2024-05-06T05:08:09.500Z', // normalized to UTC like every time the publisher makes
        subject: 'o-1',
        dataContentType: 'application/vnd.order+json',
        dataSchema: 'https://schemas.example/order/2',
        schemaVersion: '2',
        extensions: { tenantid: 'acme', region: 'eu1' },
        data: { id: 'o-1' },
      });
    });

    it('accepts a Date as time', async () => {
      const producer = new RecordingProducer();
      await createEventPublisher(producer, { source: 's' }).publish('t', 'x', 1, { time: new Date(Date.UTC(2020, 1, 29, 12)) });
      expect(producer.sent[0]?.headers?.ce_time).toBe('2020-02-29T12:00:00.000Z');
    });

    it('keys records: key is the subject too unless one is given; null sends no key', async () => {
      const producer = new RecordingProducer();
      const publisher = createEventPublisher(producer, { source: 's' });
      await publisher.publish('t', 'x', 1, { key: 'k-1' });
      await publisher.publish('t', 'x', 2, { key: 'k-2', subject: 'about-2' });
      await publisher.publish('t', 'x', 3, { key: null, subject: 'about-3' });
      await publisher.publish('t', 'x', 4, {});
      const seen = producer.sent.map((r) => [r.key, eventFromMessage(asMessage(r)).subject]);
      expect(seen).toEqual([
        ['k-1', 'k-1'],
        ['k-2', 'about-2'],
        [null, 'about-3'],
        [undefined, undefined],
      ]);
    });

    it('publishKeyed takes options besides the key, and refuses a second key in them', async () => {
      const producer = new RecordingProducer();
      const publisher = createEventPublisher(producer, { source: 's' });
      await publisher.publishKeyed('orders', 'order.paid', { amount: 5 }, 'o-9', { extensions: { tenantid: 'acme' }, headers: { 'x-a': '1' } });
      expect(producer.sent[0]).toMatchObject({ key: 'o-9', headers: { ce_tenantid: 'acme', ce_subject: 'o-9', 'x-a': '1' } });
      await publisher.publishKeyed('orders', 'order.paid', {}, 'o-9', { subject: 'payment-1' });
      expect(producer.sent[1]).toMatchObject({ key: 'o-9', headers: { ce_subject: 'payment-1' } });
      const fields = await problemFields(publisher.publishKeyed('orders', 'order.paid', {}, 'o-9', { key: 'other' } as never));
      expect(fields).toEqual(['options.key']);
      expect(producer.sent).toHaveLength(2);
    });

    it('refuses headers the CloudEvents envelope writes, in any case', async () => {
      const producer = new RecordingProducer();
      const publisher = createEventPublisher(producer, { source: 's' });
      for (const name of ['ce_tenantid', 'ce_type', 'CE_Id', 'Content-Type', 'content-type']) {
        await expect(problemFields(publisher.publish('t', 'x', 1, { headers: { [name]: 'v' } }))).resolves.toEqual([`headers.${name}`]);
      }
      const err = await publisher.publish('t', 'x', 1, { headers: { ce_tenantid: 'acme' } }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/headers\.ce_tenantid is a header the CloudEvents envelope owns.*extensions/);
      expect(producer.sent).toEqual([]);
    });

    it('reports every invalid option in one ConfigError and sends nothing', async () => {
      const producer = new RecordingProducer();
      const publisher = createEventPublisher(producer, { source: 's' });
      const fields = await problemFields(
        publisher.publish('', '', 1, {
          key: '',
          subject: '',
          extensions: { TenantId: 'acme', id: 'x' },
          headers: { 'x-n': 5 as unknown as string, ce_x: 'y' },
          schemaVersion: '',
          dataSchema: 7 as unknown as string,
          dataContentType: '',
          id: '',
          time: 'yesterday',
        }),
      );
      expect(fields).toEqual([
        'dataContentType',
        'dataSchema',
        'extensions.TenantId',
        'extensions.id',
        'headers.ce_x',
        'headers.x-n',
        'id',
        'key',
        'schemaVersion',
        'subject',
        'time',
        'topic',
        'type',
      ]);
      await expect(problemFields(publisher.publish('t', 'x', 1, 'k' as never))).resolves.toEqual(['options']);
      await expect(problemFields(publisher.publish('t', 'x', 1, { headers: ['a'] as never }))).resolves.toEqual(['headers']);
      await expect(problemFields(publisher.publish('t', 'x', 1, { time: new Date(Number.NaN) }))).resolves.toEqual(['time']);
      await expect(problemFields(publisher.publishKeyed('t', 'x', 1, '', 3 as never))).resolves.toEqual(['key', 'options']);
      expect(producer.sent).toEqual([]);
    });
  });

  it('validates every option at once', () => {
    expect(() => createEventPublisher({} as TransportProducer, { source: '', idFactory: 'x' as never })).toThrow(
      /producer must be a TransportProducer; source must be a non-empty string.*; idFactory must be a function/,
    );
  });
});
