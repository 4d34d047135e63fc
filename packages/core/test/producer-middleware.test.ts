import {
  ConfigError,
  chainSend,
  composeProducerMiddleware,
  wrapProducer,
  type ProducerMiddleware,
  type ProducerRecord,
  type SendFn,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';
import { MockProducer } from '@tributary/testutil';

/** Records the order middlewares see records and results, and tags each record with its name. */
function tagging(name: string, log: string[]): ProducerMiddleware {
  return (next) => async (records) => {
    log.push(`${name}>`);
    const results = await next(records.map((r) => ({ ...r, headers: { ...r.headers, [name]: '1' } })));
    log.push(`<${name}`);
    return results;
  };
}

describe('wrapProducer', () => {
  it('runs middlewares first outermost and sends what they pass on', async () => {
    const mock = new MockProducer();
    const log: string[] = [];
    const producer = wrapProducer(mock, tagging('a', log), tagging('b', log));
    const results = await producer.send([{ topic: 't', key: 'k', value: 'v' }]);
    expect(log).toEqual(['a>', 'b>', '<b', '<a']);
    expect(results).toEqual([{ ok: true, topic: 't', partition: 0, offset: 0 }]);
    expect(mock.records[0]?.headers).toEqual({ a: '1', b: '1' });
  });

  it('keeps one result per record, in input order, failures included', async () => {
    const mock = new MockProducer().failWhen((r) => r.key === 'bad');
    const producer = wrapProducer(mock, tagging('a', []));
    const results = await producer.send([
      { topic: 't', key: 'ok1', value: '1' },
      { topic: 't', key: 'bad', value: '2' },
      { topic: 't', key: 'ok2', value: '3' },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
  });

  it('passes connect, flush and close through to the producer', async () => {
    const mock = new MockProducer();
    const producer = wrapProducer(mock);
    await producer.connect();
    await producer.flush();
    expect(mock.connectCalls).toBe(1);
    expect(mock.flushCalls).toBe(1);
    await producer.close();
    expect(mock.closed).toBe(true);
    await expect(producer.send([{ topic: 't', value: 'v' }])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('rejects with a TypeError when a middleware breaks the one-result-per-record contract', async () => {
    const dropping: ProducerMiddleware = (next) => async (records) => (await next(records)).slice(1);
    const producer = wrapProducer(new MockProducer(), dropping);
    await expect(producer.send([{ topic: 't', value: '1' }, { topic: 't', value: '2' }])).rejects.toThrow(
      new TypeError('producer middleware returned 1 results for 2 records'),
    );
  });

  it('lets a call-level rejection through unchanged', async () => {
    const mock = new MockProducer().rejectNextSend('ERR_CONNECTION');
    const producer = wrapProducer(mock, tagging('a', []));
    await expect(producer.send([{ topic: 't', value: 'v' }])).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
  });

  it('validates the producer and every middleware at once', () => {
    let error: unknown;
    try {
      wrapProducer({ send: () => Promise.resolve([]) } as unknown as TransportProducer, 'x' as unknown as ProducerMiddleware);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['producer', 'middlewares[0]']);
  });
});

describe('chainSend and composeProducerMiddleware', () => {
  it('returns the send itself without middleware', () => {
    const send: SendFn = () => Promise.resolve([]);
    expect(chainSend(send)).toBe(send);
  });

  it('composes like chaining the same middlewares in a row', async () => {
    const records: ProducerRecord[] = [{ topic: 't', value: 'v' }];
    const seen: ProducerRecord[][] = [];
    const base: SendFn = async (rs) => {
      seen.push([...rs]);
      return rs.map((r): SendResult => ({ ok: true, topic: r.topic, partition: 0, offset: 0 }));
    };
    const log1: string[] = [];
    const log2: string[] = [];
    await chainSend(base, composeProducerMiddleware(tagging('a', log1), tagging('b', log1)), tagging('c', log1))(records);
    await chainSend(base, tagging('a', log2), tagging('b', log2), tagging('c', log2))(records);
    expect(log1).toEqual(log2);
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]?.[0]?.headers).toEqual({ a: '1', b: '1', c: '1' });
  });

  it('rejects middlewares that are not functions', () => {
    expect(() => composeProducerMiddleware(undefined as unknown as ProducerMiddleware)).toThrow(ConfigError);
    expect(() => chainSend(undefined as unknown as SendFn)).toThrow(ConfigError);
  });
});

describe('types (compile-time)', () => {
  it('types a middleware as a function of a SendFn giving a SendFn', () => {
    const passThrough: ProducerMiddleware = (next) => (records) => next(records);
    // @ts-expect-error a middleware must give a SendFn (a promise of results), not undefined
    const wrong: ProducerMiddleware = () => () => undefined;
    const mutating: ProducerMiddleware = (next) => (records) => {
      // @ts-expect-error records are read-only to middleware
      const mutable: ProducerRecord[] = records;
      return next(mutable);
    };
    const producer: TransportProducer = wrapProducer(new MockProducer(), passThrough);
    expect(typeof producer.send).toBe('function');
    expect([wrong, mutating]).toHaveLength(2);
  });
});
