import {
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

  it('validates every option at once', () => {
    expect(() => createEventPublisher({} as TransportProducer, { source: '', idFactory: 'x' as never })).toThrow(
      /producer must be a TransportProducer; source must be a non-empty string.*; idFactory must be a function/,
    );
  });
});
