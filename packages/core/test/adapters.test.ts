import {
  DeadLetterHeaders,
  ack,
  binaryHandler,
  createConsumer,
  createEvent,
  deadLetter,
  eventBatchHandler,
  eventHandler,
  eventToRecord,
  isTributaryError,
  jsonBatchHandler,
  jsonHandler,
  retry,
  silentLogger,
  stringCodec,
  toBytes,
  type Codec,
  type Consumer,
  type Event,
  type HandlerContext,
  type Message,
  type ProducerRecord,
  type RecordOutcome,
  type StandardSchemaV1,
  type Transport,
} from '@tributary/core';
import { memory } from '@tributary/memory';
import { uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';

const ctx: HandlerContext = {
  signal: new AbortController().signal,
  attempt: 1,
  groupId: 'g',
  logger: silentLogger,
  control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
};

function msg(value: string | Uint8Array | null, headers: Record<string, string> = {}): Message {
  return { topic: 'orders', partition: 2, offset: 41, key: 'o-1', value: value === null ? null : toBytes(value), timestamp: 0, headers };
}

function fromRecord(record: ProducerRecord): Message {
  return {
    topic: record.topic,
    partition: 0,
    offset: 0,
    key: record.key ?? null,
    value: record.value === null ? null : toBytes(record.value),
    timestamp: Date.UTC(2024, 0, 1),
    headers: record.headers ?? {},
  };
}

interface Order {
  id: string;
  total: number;
}

/** A tiny Standard Schema: accepts `{ id: string, total: number }`, coerces `total` from a string; async on demand. */
function orderSchema(async = false): StandardSchemaV1<unknown, Order> {
  const check = (v: unknown): StandardSchemaV1.Result<Order> => {
    const o = v as { id?: unknown; total?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.id !== 'string') return { issues: [{ message: 'id must be a string', path: ['id'] }] };
    const total = typeof o.total === 'string' ? Number(o.total) : o.total;
    if (typeof total !== 'number' || Number.isNaN(total)) return { issues: [{ message: 'total must be a number', path: ['total'] }] };
    return { value: { id: o.id, total } };
  };
  return { '~standard': { version: 1, vendor: 'test', validate: async ? async (v) => check(v) : check } };
}

async function failure(p: unknown): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('jsonHandler', () => {
  it('decodes JSON and hands value, message and context to the handler', async () => {
    const seen: unknown[] = [];
    const m = msg('{"id":"o-1","total":3}');
    await jsonHandler<Order>((value, message, c) => {
      seen.push(value, message, c);
    })(m, ctx);
    expect(seen).toEqual([{ id: 'o-1', total: 3 }, m, ctx]);
  });

  it('fails bad JSON with a non-retriable ERR_DECODE and never calls the handler', async () => {
    const handler = jest.fn();
    const err = await failure(jsonHandler(handler)(msg('{not json'), ctx));
    expect(isTributaryError(err) && [err.code, err.retriable]).toEqual(['ERR_DECODE', false]);
    expect(handler).not.toHaveBeenCalled();
  });

  it('wraps a foreign codec error in ERR_DECODE with the record coordinates', async () => {
    const cause = new Error('bad magic byte');
    const codec: Codec<unknown> = {
      contentType: 'x/y',
      encode: () => new Uint8Array(),
      decode: () => {
        throw cause;
      },
    };
    const err = await failure(jsonHandler(() => undefined, { codec })(msg('x'), ctx));
    expect(err).toMatchObject({ code: 'ERR_DECODE', cause, context: { topic: 'orders', partition: 2, offset: 41, key: 'o-1' } });
  });

  it('uses the given codec', async () => {
    const seen: string[] = [];
    await jsonHandler<string>((v) => void seen.push(v), { codec: stringCodec })(msg('plain text'), ctx);
    expect(seen).toEqual(['plain text']);
  });

  it.each([false, true])('validates with a Standard Schema (async validator: %s)', async (async) => {
    const seen: Order[] = [];
    const handler = jsonHandler((o) => void seen.push(o), { schema: orderSchema(async) });
    await handler(msg('{"id":"o-1","total":"12.5"}'), ctx);
    expect(seen).toEqual([{ id: 'o-1', total: 12.5 }]); // the schema's output, coerced
    const err = await failure(handler(msg('{"id":7}'), ctx));
    expect(err).toMatchObject({ code: 'ERR_VALIDATION', retriable: false });
    expect((err as Error).message).toContain('id: id must be a string');
    expect(seen).toHaveLength(1);
  });

  it('fails a tombstone with ERR_EMPTY_MESSAGE', async () => {
    await expect(jsonHandler(() => undefined)(msg(null), ctx)).rejects.toMatchObject({ code: 'ERR_EMPTY_MESSAGE' });
  });

  it('lets the handler’s own error through unchanged', async () => {
    const boom = new Error('db down');
    await expect(jsonHandler(() => Promise.reject(boom))(msg('1'), ctx)).rejects.toBe(boom);
  });

  it('validates its options', () => {
    expect(() => jsonHandler(undefined as unknown as () => void, { codec: {} as Codec<unknown> })).toThrow(/handler must be a function.*codec must be a Codec/);
  });
});

describe('binaryHandler', () => {
  it('passes the raw bytes and fails tombstones with ERR_EMPTY_MESSAGE', async () => {
    const seen: Uint8Array[] = [];
    const handler = binaryHandler((bytes) => void seen.push(bytes));
    const m = msg(new Uint8Array([0, 255, 7]));
    await handler(m, ctx);
    expect(seen).toEqual([m.value]);
    expect(seen[0]).toBe(m.value); // no copy
    await expect(Promise.resolve().then(() => handler(msg(null), ctx))).rejects.toMatchObject({ code: 'ERR_EMPTY_MESSAGE' });
  });
});

describe('eventHandler', () => {
  const event = createEvent({ type: 'order.created', source: 'shop', subject: 'o-1', data: { id: 'o-1', total: '9' } });
  const record = eventToRecord(event, { topic: 'orders' });

  it('gives the handler the typed event', async () => {
    const seen: Event<unknown>[] = [];
    await eventHandler((e) => void seen.push(e))(fromRecord(record), ctx);
    expect(seen).toEqual([expect.objectContaining({ id: event.id, type: 'order.created', source: 'shop', subject: 'o-1', data: event.data })]);
  });

  it('replaces data by the schema output, and fails invalid data with ERR_VALIDATION', async () => {
    const seen: Event<Order>[] = [];
    const handler = eventHandler((e) => void seen.push(e), { schema: orderSchema(true) });
    await handler(fromRecord(record), ctx);
    expect(seen[0]?.data).toEqual({ id: 'o-1', total: 9 });
    expect(Object.isFrozen(seen[0])).toBe(true);
    const bad = eventToRecord(createEvent({ type: 'order.created', source: 'shop', data: { total: 1 } }), { topic: 'orders' });
    await expect(handler(fromRecord(bad), ctx)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });

  it('fails a record that is not a CloudEvent with ERR_DECODE', async () => {
    const handler = jest.fn();
    await expect(eventHandler(handler)(msg('{}'), ctx)).rejects.toMatchObject({ code: 'ERR_DECODE', retriable: false });
    expect(handler).not.toHaveBeenCalled();
  });
});

/** `count` CloudEvent messages of `order.created`, offsets 0.., data `{ id: 'o-<i>', total: i }`. */
function eventMessages(count: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    ...fromRecord(eventToRecord(createEvent({ type: 'order.created', source: 'shop', data: { id: `o-${i}`, total: i } }), { topic: 'orders' })),
    offset: i,
  }));
}

/** The code of a dead-letter outcome's reason (undefined for other outcomes). */
function deadLetterCode(o: RecordOutcome | undefined): string | undefined {
  return o?.kind === 'dead-letter' && isTributaryError(o.reason) ? o.reason.code : undefined;
}

describe('eventBatchHandler', () => {
  it('hands the decoded events, in order with their messages, and dead-letters undecodable records with the decode error', async () => {
    const [e0, e1, e2] = eventMessages(3);
    const notEvent = { ...msg('{"id":"raw"}'), offset: 10 };
    const invalid = { ...fromRecord(eventToRecord(createEvent({ type: 'order.created', source: 'shop', data: { total: 1 } }), { topic: 'orders' })), offset: 11 };
    const batch = [e0!, notEvent, e1!, invalid, e2!];
    const calls: { events: readonly Event<Order>[]; messages: readonly Message[]; ctx: HandlerContext }[] = [];
    const handler = eventBatchHandler<Order>((events, messages, c) => void calls.push({ events, messages, ctx: c }), { schema: orderSchema(true) });

    const outcomes = (await handler(batch, ctx)) as readonly RecordOutcome[];

    expect(calls).toHaveLength(1);
    expect(calls[0]?.events.map((e) => e.data.id)).toEqual(['o-0', 'o-1', 'o-2']);
    expect(calls[0]?.messages).toEqual([e0, e1, e2]);
    expect(calls[0]?.ctx).toBe(ctx);
    expect(outcomes.map((o) => o.kind)).toEqual(['ack', 'dead-letter', 'ack', 'dead-letter', 'ack']);
    expect(outcomes.map(deadLetterCode)).toEqual([undefined, 'ERR_DECODE', undefined, 'ERR_VALIDATION', undefined]);
    expect(String((outcomes[1] as { reason: Error }).reason.message)).toMatch(/orders\/2@10 is not a CloudEvent: missing attribute header ce_specversion/);
  });

  it('maps the handler’s outcomes back to the records they belong to', async () => {
    const [e0, e1, e2] = eventMessages(3);
    const boom = new Error('db conflict');
    const given: number[] = [];
    const handler = eventBatchHandler<Order>((events) => {
      given.push(...events.map((e) => e.data.total));
      return [deadLetter('poison'), retry(boom), ack];
    });
    const outcomes = await handler([e0!, msg('not an event'), e1!, e2!], ctx);
    expect(given).toEqual([0, 1, 2]);
    expect(outcomes).toEqual([deadLetter('poison'), expect.objectContaining({ kind: 'dead-letter' }), retry(boom), ack]);
  });

  it('retries the decoded records when the handler throws, still dead-lettering the undecodable ones', async () => {
    const [e0, e1] = eventMessages(2);
    const boom = new Error('db down');
    const outcomes = await eventBatchHandler(() => Promise.reject(boom))([e0!, msg('x'), e1!], ctx);
    expect(outcomes).toEqual([retry(boom), expect.objectContaining({ kind: 'dead-letter' }), retry(boom)]);
  });

  it('does not call the handler when no record decodes', async () => {
    const handler = jest.fn();
    const outcomes = (await eventBatchHandler(handler)([msg('a'), msg('b')], ctx)) as readonly RecordOutcome[];
    expect(handler).not.toHaveBeenCalled();
    expect(outcomes.map(deadLetterCode)).toEqual(['ERR_DECODE', 'ERR_DECODE']);
  });

  it('retries a record whose async validator fails transiently instead of dead-lettering it', async () => {
    const [e0] = eventMessages(1);
    const unreachable = new Error('schema registry unreachable');
    const schema: StandardSchemaV1<unknown, Order> = { '~standard': { version: 1, vendor: 'test', validate: () => Promise.reject(unreachable) } };
    const handler = jest.fn();
    await expect(eventBatchHandler(handler, { schema })([e0!], ctx)).resolves.toEqual([retry(unreachable)]);
    expect(handler).not.toHaveBeenCalled();
  });

  it('stops the consumer with a TypeError when the handler returns the wrong number of outcomes', async () => {
    const stops: unknown[] = [];
    const c: HandlerContext = { ...ctx, control: { ...ctx.control, stop: (reason) => void stops.push(reason) } };
    const [e0, e1] = eventMessages(2);
    const handler = eventBatchHandler(() => [ack]);
    const err = await failure(handler([e0!, msg('bad'), e1!], c));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('eventBatchHandler: handler returned 1 outcomes for 2 records');
    expect(stops).toEqual([err]);
  });

  it.each([
    ['a hole', (): readonly RecordOutcome[] => Object.assign(new Array<RecordOutcome>(2), { 0: ack })],
    ['an undefined entry', (): readonly RecordOutcome[] => [ack, undefined as unknown as RecordOutcome]],
  ])('stops the consumer with a TypeError when the outcomes have %s, acking nothing', async (_what, outcomes) => {
    const stops: unknown[] = [];
    const c: HandlerContext = { ...ctx, control: { ...ctx.control, stop: (reason) => void stops.push(reason) } };
    const [e0, e1] = eventMessages(2);
    const err = await failure(eventBatchHandler(outcomes)([e0!, e1!], c));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('eventBatchHandler: handler returned no outcome at index 1 of 2 (a hole, undefined or null)');
    expect(stops).toEqual([err]);
  });

  it('validates its options', () => {
    expect(() => eventBatchHandler(null as never, { schema: {} as never })).toThrow(/handler must be a function.*schema must implement Standard Schema v1/);
  });
});

describe('jsonBatchHandler', () => {
  it('decodes values, dead-letters tombstones, bad bytes and invalid data, and acks the rest', async () => {
    const seen: Order[] = [];
    const handler = jsonBatchHandler<Order>((values) => void seen.push(...values), { schema: orderSchema() });
    const outcomes = (await handler([msg('{"id":"a","total":"1"}'), msg(null), msg('{oops'), msg('{"id":1}'), msg('{"id":"b","total":2}')], ctx)) as readonly RecordOutcome[];
    expect(seen).toEqual([
      { id: 'a', total: 1 },
      { id: 'b', total: 2 },
    ]);
    expect(outcomes.map((o) => deadLetterCode(o) ?? o.kind)).toEqual(['ack', 'ERR_EMPTY_MESSAGE', 'ERR_DECODE', 'ERR_VALIDATION', 'ack']);
  });

  it('uses the given codec', async () => {
    const seen: string[] = [];
    await jsonBatchHandler<string>((values) => void seen.push(...values), { codec: stringCodec })([msg('one'), msg('two')], ctx);
    expect(seen).toEqual(['one', 'two']);
  });
});

describe('eventBatchHandler on the consumer runtime (memory transport)', () => {
  let transport: Transport;
  const consumers: Consumer[] = [];

  beforeEach(() => {
    transport = memory();
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await transport.close();
  });

  it('dead-letters an undecodable record with its reason and handles the rest in order', async () => {
    const topic = uniqueTopic('orders');
    const dlq = `${topic}.dlq`;
    const admin = transport.admin();
    await admin.createTopics([{ topic, partitions: 1 }, { topic: dlq }]);
    const producer = transport.producer();
    const records: ProducerRecord[] = [0, 1, 2, 3].map((i) => eventToRecord(createEvent({ type: 'order.created', source: 'shop', data: { id: `o-${i}`, total: i } }), { topic }));
    records.splice(2, 0, { topic, key: 'raw', value: '{"id":"not-an-event"}' }); // offset 2: no ce_* headers
    expect((await producer.send(records)).every((r) => r.ok)).toBe(true);
    await producer.close();

    const handled: { id: string; offset: number }[] = [];
    const groupId = uniqueGroup();
    const consumer = createConsumer(transport, { groupId, topics: [topic], deadLetter: {}, retry: false, batch: { maxRecords: 10, maxWaitMs: 5 } });
    consumers.push(consumer);
    await consumer.startBatch(
      eventBatchHandler<{ id: string }>((events, messages) => {
        events.forEach((e, i) => handled.push({ id: e.data.id, offset: messages[i]!.offset }));
      }),
    );
    await waitFor(() => consumer.metrics().deadLettered === 1 && handled.length === 4, { message: 'four handled, one dead-lettered' });

    expect(handled).toEqual([
      { id: 'o-0', offset: 0 },
      { id: 'o-1', offset: 1 },
      { id: 'o-2', offset: 3 },
      { id: 'o-3', offset: 4 },
    ]);
    const dead: Message[] = [];
    const reader = createConsumer(transport, { groupId: uniqueGroup('dlq-reader'), topics: [dlq] });
    consumers.push(reader);
    await reader.start((m) => void dead.push(m));
    await waitFor(() => dead.length === 1, { message: 'the dead-lettered record read back' });
    expect(dead[0]).toMatchObject({ key: 'raw', headers: { [DeadLetterHeaders.errorCode]: 'ERR_DECODE', [DeadLetterHeaders.offset]: '2' } });
    expect(dead[0]?.headers[DeadLetterHeaders.reason]).toMatch(/is not a CloudEvent: missing attribute header ce_specversion/);
    await waitFor(async () => (await admin.fetchCommittedOffsets(groupId, [topic]))[0]?.offset === 5, { message: 'committed past every record' });
    await admin.close();
  });
});
