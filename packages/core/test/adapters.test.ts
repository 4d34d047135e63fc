import {
  binaryHandler,
  createEvent,
  eventHandler,
  eventToRecord,
  isTributaryError,
  jsonHandler,
  silentLogger,
  stringCodec,
  toBytes,
  type Codec,
  type Event,
  type HandlerContext,
  type Message,
  type ProducerRecord,
  type StandardSchemaV1,
} from '@tributary/core';

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
