import {
  ConfigError,
  createBus,
  createEventRegistry,
  eventFromMessage,
  eventHandler,
  isTributaryError,
  valueAsString,
  type Bus,
  type BusOptions,
  type Event,
  type Message,
  type ProducerRecord,
  type SendResult,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { memory } from '@tributary/memory';
import { uniqueName, uniqueTopic, waitFor, waitForCount, withTimeout, wrapTransport } from '@tributary/testutil';

/** What `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

let transport: Transport;
const buses: Bus[] = [];

beforeEach(() => {
  transport = memory();
});

afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.shutdown()));
  await transport.close();
});

function bus(options: Partial<BusOptions> = {}): Bus {
  const b = createBus({ transport, source: uniqueName('shop'), consumer: { batch: { maxWaitMs: 1 } }, ...options });
  buses.push(b);
  return b;
}

async function topics(...names: string[]): Promise<string[]> {
  const unique = names.map((n) => uniqueTopic(n));
  const admin = transport.admin();
  await admin.createTopics(unique.map((topic) => ({ topic, partitions: 2 })));
  await admin.close();
  return unique;
}

/** Counts producers the transport hands out and closes. */
function countingTransport(base: Transport): { transport: Transport; closed: () => number } {
  let closed = 0;
  return {
    transport: wrapTransport(base, {
      producer: (o) => {
        const p = base.producer(o);
        return {
          connect: () => p.connect(),
          send: (r: readonly ProducerRecord[]) => p.send(r),
          flush: () => p.flush(),
          close: async () => {
            closed++;
            await p.close();
          },
        };
      },
    }),
    closed: () => closed,
  };
}

describe('createBus', () => {
  it('publishes registered events and delivers them, typed, to event subscribers', async () => {
    const [orders] = await topics('orders');
    const b = bus({ source: 'shop' });
    b.register('order.created', orders!).register('order.paid', orders!);
    const created: Event<{ id: string }>[] = [];
    const paid: Event<{ id: string }>[] = [];
    b.subscribeEvent('order.created', eventHandler<{ id: string }>((e) => void created.push(e)));
    b.subscribe(orders!, 'order.paid', eventHandler<{ id: string }>((e) => void paid.push(e)));
    await b.start();
    expect(b.isRunning()).toBe(true);

    await expect(b.publish('order.created', { id: 'o-1' }, 'o-1')).resolves.toMatchObject({ ok: true, topic: orders });
    const results = await b.publishBatch([
      { type: 'order.paid', data: { id: 'o-1' }, key: 'o-1' },
      { type: 'order.created', data: { id: 'o-2' }, key: 'o-2' },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);

    await waitFor(() => created.length === 2 && paid.length === 1, { message: 'events delivered' });
    expect(created.map((e) => [e.data.id, e.subject, e.source])).toEqual(
      expect.arrayContaining([
        ['o-1', 'o-1', 'shop'],
        ['o-2', 'o-2', 'shop'],
      ]),
    );
    expect(paid[0]).toMatchObject({ type: 'order.paid', data: { id: 'o-1' } });
  });

  it('carries a tenant extension and custom headers from publish to the subscriber', async () => {
    const [orders] = await topics('orders');
    const b = bus({ source: 'shop' });
    b.register('order.created', orders!);
    const seen: { event: Event<{ id: string }>; message: Message }[] = [];
    b.subscribeEvent('order.created', eventHandler<{ id: string }>((event, message) => void seen.push({ event, message })));
    await b.start();

    await b.publish('order.created', { id: 'o-1' }, { key: 'o-1', extensions: { tenantid: 'acme' }, headers: { 'x-request-id': 'r-1' }, schemaVersion: '2' });
    await b.publishBatch([{ type: 'order.created', data: { id: 'o-2' }, key: 'o-2', extensions: { tenantid: 'globex' }, headers: { 'x-request-id': 'r-2' } }]);
    await b.publish('order.created', { id: 'o-3' }, 'o-3'); // the original signature: no extensions, no extra headers

    await waitForCount(() => seen, 3, { message: 'three events delivered' });
    const byId = new Map(seen.map((s) => [s.event.data.id, s]));
    expect(byId.get('o-1')?.event).toMatchObject({ subject: 'o-1', schemaVersion: '2', extensions: { tenantid: 'acme' } });
    expect(byId.get('o-1')?.message).toMatchObject({ key: 'o-1', headers: { 'x-request-id': 'r-1', ce_tenantid: 'acme' } });
    expect(byId.get('o-2')?.event.extensions).toEqual({ tenantid: 'globex' });
    expect(byId.get('o-2')?.message.headers['x-request-id']).toBe('r-2');
    expect(byId.get('o-3')?.event.extensions).toBeUndefined();
    expect(byId.get('o-3')?.message.headers).not.toHaveProperty('x-request-id');
  });

  it('refuses a header that forges an envelope attribute before sending anything', async () => {
    const [orders] = await topics('orders');
    const b = bus();
    b.register('order.created', orders!);
    await expect(b.publish('order.created', {}, { headers: { ce_tenantid: 'acme' } })).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      problems: [{ field: 'headers.ce_tenantid' }],
    });
    const admin = transport.admin();
    const offsets = await admin.fetchTopicOffsets(orders!);
    await admin.close();
    expect(offsets.every((o) => o.high === o.low)).toBe(true);
  });

  it('dead-letters a failing record through the runtime option given as worker defaults', async () => {
    const [orders, dlq] = await topics('orders', 'orders-dlq');
    const b = bus({ consumer: { batch: { maxWaitMs: 1 }, retry: { maxAttempts: 2, initialMs: 1, maxMs: 2 }, deadLetter: { topic: dlq! } } });
    b.register('order.paid', orders!);
    const ok: string[] = [];
    b.subscribeEvent('order.paid', (m) => {
      const e = eventFromMessage<{ id: string }>(m);
      if (e.data.id === 'bad') throw new Error('card declined');
      ok.push(e.data.id);
    });
    const dead: Message[] = [];
    b.subscribeTopic(dlq!, (m) => void dead.push(m));
    await b.start();
    await b.publishBatch(['a', 'bad', 'c'].map((id) => ({ type: 'order.paid', data: { id }, key: id })));
    await waitForCount(() => dead, 1, { message: 'record dead-lettered' });
    await waitForCount(() => ok, 2);
    expect(eventFromMessage<{ id: string }>(dead[0]!).data.id).toBe('bad');
    const metrics = b.metrics().find((m) => m.task.topic === orders)!.metrics;
    expect(metrics.deadLettered).toBe(1);
  });

  it('fails publishing an unregistered type with ERR_EVENT_NOT_FOUND', async () => {
    const b = bus();
    await expect(b.publish('nope', {})).rejects.toMatchObject({ code: 'ERR_EVENT_NOT_FOUND' });
    expect(thrown(() => b.topicOf('nope'))).toMatchObject({ code: 'ERR_EVENT_NOT_FOUND' });
    const safe = b.subscribeEventSafe('nope', () => undefined);
    expect(!safe.ok && safe.error.code).toBe('ERR_EVENT_NOT_FOUND');
  });

  it('shutdown drains subscribers, closes the producer it created, leaves the transport open, and refuses later use', async () => {
    const counting = countingTransport(transport);
    const [t] = await topics('t');
    const b = bus({ transport: counting.transport });
    b.register('x.happened', t!);
    b.subscribeEvent('x.happened', () => undefined);
    await b.start();
    await b.shutdown();
    expect(counting.closed()).toBe(1);
    expect(b.isRunning()).toBe(false);
    await expect(b.publish('x.happened', 1)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(b.publishBatch([{ type: 'x.happened', data: 1 }])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrown(() => b.subscribeTopic(t!, () => undefined))).toMatchObject({ code: 'ERR_CLOSED' });
    await expect(b.start()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // The transport is the caller's: still usable.
    const p = transport.producer();
    await expect(p.send([{ topic: t!, value: 'still open' }])).resolves.toMatchObject([{ ok: true }]);
    await p.close();
  });

  it('shutdown({ timeoutMs }) bounds the subscribers\' drain, then closes the producer; bad options are refused and leave the bus open', async () => {
    const counting = countingTransport(transport);
    const [t] = await topics('t');
    const b = bus({ transport: counting.transport, consumer: { batch: { maxWaitMs: 1 }, drainTimeoutMs: 60_000 } });
    b.register('x.happened', t!);
    let held: AbortSignal | undefined;
    b.subscribeEvent('x.happened', (_m, ctx) => {
      held = ctx.signal;
      return new Promise<void>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }));
    });
    await b.start();

    const err: unknown = await b.shutdown({ timeoutMs: 1.5 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field)).toEqual(['timeoutMs']);
    // Still open: it publishes, and the subscriber gets the event.
    await b.publish('x.happened', 1);
    await waitFor(() => held, { message: 'the subscriber to hold the event' });

    await withTimeout(b.shutdown({ timeoutMs: 50 }), 5_000, 'shutdown({ timeoutMs: 50 }) of a subscriber with a 60 s drain');
    expect(isTributaryError(held?.reason) && held.reason.code).toBe('ERR_TIMEOUT');
    expect(counting.closed()).toBe(1);
    await expect(b.publish('x.happened', 2)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('does not close a producer it was given, and uses a given registry', async () => {
    const [t] = await topics('t');
    const sent: ProducerRecord[] = [];
    let closed = false;
    const producer: TransportProducer = {
      connect: async () => undefined,
      flush: async () => undefined,
      close: async () => {
        closed = true;
      },
      send: async (records) => {
        sent.push(...records);
        return records.map((r, i): SendResult => ({ ok: true, topic: r.topic, partition: 0, offset: i }));
      },
    };
    const registry = createEventRegistry({ 'y.happened': t! });
    const b = bus({ producer, registry });
    expect(b.registry).toBe(registry);
    await b.publish('y.happened', 'hi');
    await b.shutdown();
    expect(closed).toBe(false);
    expect(sent.map((r) => r.topic)).toEqual([t]);
    expect(valueAsString({ value: sent[0]!.value as Uint8Array })).toBe('"hi"');
  });

  it('derives consumer groups from the service, defaulting to the source', async () => {
    const [t] = await topics('t');
    const b1 = bus({ source: 'shop' });
    b1.subscribeTopic(t!, () => undefined);
    const b2 = bus({ source: 'shop', service: 'billing' });
    b2.subscribeTopic(t!, () => undefined);
    await Promise.all([b1.start(), b2.start()]);
    expect(b1.metrics()[0]?.groupId).toBe(`shop.${t}`);
    expect(b2.metrics()[0]?.groupId).toBe(`billing.${t}`);
  });

  it('validates every option at once, before creating anything', () => {
    let producers = 0;
    const t = wrapTransport(transport, { producer: (o) => (producers++, transport.producer(o)) });
    let caught: unknown;
    try {
      createBus({ transport: t, source: '', service: '', idFactory: 'x' as never, onError: 1 as never });
    } catch (err) {
      caught = err;
    }
    expect(isTributaryError(caught) && caught.code).toBe('ERR_CONFIG');
    expect((caught as { problems: { field: string }[] }).problems.map((p) => p.field)).toEqual(['source', 'service', 'idFactory', 'onError']);
    expect(producers).toBe(0);
  });
});
