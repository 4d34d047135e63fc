import {
  ConfigError,
  RetriesExhaustedError,
  isTributaryError,
  valueAsString,
  type ProducerMiddleware,
  type ProducerRecord,
  type Transport,
} from '@tributary/core';
import { memory, type MemoryTransport } from '@tributary/memory';
import { MockProducer, uniqueTopic, waitFor, withTimeout } from '@tributary/testutil';
import {
  ProduceBatchError,
  ProducerDroppedError,
  createDispatchingProducer,
  type DispatchingProducer,
  type DispatchingProducerConfig,
  type ProducerFailureEvent,
} from '../../src';
import { readTopic } from '../support/proof';
import { RecordingLogger } from '../support/logger';

let transport: MemoryTransport;
const producers: DispatchingProducer[] = [];

beforeEach(() => {
  transport = memory();
});
afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close()));
  await transport.close();
});

function producer(config: DispatchingProducerConfig = {}): DispatchingProducer {
  const p = createDispatchingProducer(transport, config);
  producers.push(p);
  return p;
}

async function topic(partitions = 1): Promise<string> {
  const name = uniqueTopic('xks-prod');
  const admin = transport.admin();
  await admin.createTopics([{ topic: name, partitions }]);
  await admin.close();
  return name;
}

/** A mock producer, the sleeps it was asked for, and the failure events. */
function mocked(config: DispatchingProducerConfig = {}): { p: DispatchingProducer; mock: MockProducer; delays: number[]; events: ProducerFailureEvent[] } {
  const mock = new MockProducer();
  const delays: number[] = [];
  const events: ProducerFailureEvent[] = [];
  const p = producer({
    producer: mock,
    defaultTopic: 't',
    retry: { initialMs: 10, multiplier: 2, jitter: 'none', maxAttempts: 3 },
    sleep: async (ms) => void delays.push(ms),
    failureHook: (e) => events.push(e),
    ...config,
  });
  return { p, mock, delays, events };
}

const stages = (events: ProducerFailureEvent[]): string[] => events.map((e) => `${e.stage}@${e.attempt}`);

describe('DispatchingProducer', () => {
  it('produce waits for the broker and resolves with where the record landed; the default topic fills in', async () => {
    const t = await topic(3);
    const p = producer({ defaultTopic: t });
    const result = await p.produce({ key: 'k', value: 'hello', partition: 2 });
    expect(result).toEqual({ topic: t, partition: 2, offset: 0 });
    const other = await topic();
    expect(await p.produce({ topic: other, value: 'x' })).toEqual({ topic: other, partition: 0, offset: 0 });
  });

  it('rejects records it cannot send: no topic, bad value, closed', async () => {
    const p = producer();
    await expect(p.produce({ value: 'x' })).rejects.toBeInstanceOf(ConfigError);
    await expect(p.produce({ topic: 't', value: 42 as never })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(p.produce(null as never)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await p.close();
    await expect(p.produce({ topic: 't', value: 'x' })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(p.produceAsync({ topic: 't', value: 'x' })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('produceAsync returns a handle once queued; records of a key land in call order', async () => {
    const t = await topic();
    const p = producer({ defaultTopic: t });
    const futures = [];
    for (let i = 0; i < 50; i++) futures.push(await p.produceAsync({ key: `k${i % 3}`, value: `v${i}` }));
    const results = await Promise.all(futures.map((f) => f.wait()));
    expect(futures.every((f) => f.done)).toBe(true);
    expect(new Set(results.map((r) => r.offset)).size).toBe(50);
    const log = await readTopic(transport, t, 50);
    for (const key of ['k0', 'k1', 'k2']) {
      const values = log.filter((m) => m.key === key).map((m) => Number(valueAsString(m)?.slice(1)));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
  });

  it('produceBatch sends in order and fails fast with the index and what was sent', async () => {
    const { p, mock } = mocked();
    mock.failWhen((r) => r.value === 'v2', 'ERR_RECORD_TOO_LARGE');
    const err: unknown = await p.produceBatch(['v0', 'v1', 'v2', 'v3'].map((value) => ({ value }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProduceBatchError);
    const batchErr = err as ProduceBatchError;
    expect(batchErr.index).toBe(2);
    expect(batchErr.code).toBe('ERR_RECORD_TOO_LARGE');
    expect(batchErr.sent.map((r) => r.offset)).toEqual([0, 1]);
    expect(mock.records.map((r) => r.value)).toEqual(['v0', 'v1', 'v2']);
    await expect(p.produceBatch(['a', 'b'].map((value) => ({ value })))).resolves.toHaveLength(2);
  });

  it('produceBatchReport gives one result per record and rejects only for call-level failures', async () => {
    const { p, mock } = mocked();
    mock.failWhen((r) => r.value === 'bad', 'ERR_RECORD_TOO_LARGE');
    const report = await p.produceBatchReport([{ value: 'a', key: 'k' }, { value: 'bad', key: 'k' }, { value: 'c', key: 'k' }, { value: 'd' }]);
    expect(report.map((r) => r.ok)).toEqual([true, false, true, true]);
    expect(report.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    const failed = report[1];
    expect(failed?.ok === false && isTributaryError(failed.error) && failed.error.code).toBe('ERR_RECORD_TOO_LARGE');
    // Records of one key went out one after another, in input order.
    expect(mock.records.filter((r) => r.key === 'k').map((r) => r.value)).toEqual(['a', 'bad', 'c']);
    await expect(p.produceBatchReport('nope' as never)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(p.produceBatchReport([{ value: 'x', topic: '' }])).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('retries a failed send with backoff and reports each retry', async () => {
    const { p, mock, delays, events } = mocked();
    mock.failNext(2, 'ERR_PRODUCE');
    await expect(p.produce({ value: 'x', key: 'k' })).resolves.toMatchObject({ topic: 't' });
    expect(delays).toEqual([10, 20]);
    expect(stages(events)).toEqual(['retry@1', 'retry@2']);
    expect(events[0]).toMatchObject({ topic: 't', key: 'k', delayMs: 10 });
  });

  it("exhausted 'stop' rejects the call with RetriesExhaustedError", async () => {
    const { p, mock, events } = mocked({ exhaustedPolicy: 'stop' });
    mock.failWhen(() => true, 'ERR_PRODUCE');
    const err: unknown = await p.produce({ value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(3);
    expect(stages(events)).toEqual(['retry@1', 'retry@2', 'exhausted@3', 'stop@3']);
  });

  it("exhausted 'drop' rejects with ProducerDroppedError (ERR_DROPPED); a permanent error is dropped without retries", async () => {
    const { p, mock, events, delays } = mocked({ exhaustedPolicy: 'drop' });
    mock.failWhen(() => true, 'ERR_RECORD_TOO_LARGE');
    const err: unknown = await p.produce({ value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProducerDroppedError);
    expect((err as ProducerDroppedError).code).toBe('ERR_DROPPED');
    expect(isTributaryError((err as Error).cause) && (err as { cause: { code: string } }).cause.code).toBe('ERR_RECORD_TOO_LARGE');
    expect(stages(events)).toEqual(['exhausted@1', 'drop@1']);
    expect(delays).toEqual([]);
    const future = await p.produceAsync({ value: 'y' });
    await expect(future.wait()).rejects.toMatchObject({ code: 'ERR_DROPPED' });
  });

  it("exhausted 'block' keeps retrying past maxAttempts until the send succeeds", async () => {
    const { p, mock, events } = mocked({ exhaustedPolicy: 'block' });
    mock.failNext(5, 'ERR_PRODUCE');
    await expect(p.produce({ value: 'x' })).resolves.toMatchObject({ offset: 0 });
    expect(stages(events)).toEqual(['retry@1', 'retry@2', 'exhausted@3', 'retry@3', 'retry@4', 'retry@5']);
    expect(mock.records).toHaveLength(6);
  });

  it('an abort during the retry wait rejects the call with ERR_ABORTED', async () => {
    const { p, mock } = mocked({ exhaustedPolicy: 'block', sleep: (_ms, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))) });
    mock.failWhen(() => true, 'ERR_PRODUCE');
    const abort = new AbortController();
    const call = p.produce({ value: 'x' }, { signal: abort.signal });
    await waitFor(() => mock.records.length === 1);
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('runs global then per-topic middleware (append), or the topic middleware only (replace); logging is on unless turned off', async () => {
    const trail: string[] = [];
    const tag =
      (name: string): ProducerMiddleware =>
      (next) =>
      async (records) => {
        trail.push(`${name}:${records.map((r) => r.topic).join(',')}`);
        return next(records.map((r) => ({ ...r, headers: { ...r.headers, [name]: '1' } })));
      };
    const logger = new RecordingLogger();
    const { p, mock } = mocked({
      logger,
      globalHandlers: [tag('g')],
      topicHandlers: { a: { handlers: [tag('ta')] }, b: { mode: 'replace', handlers: [tag('tb')] } },
    });
    await p.produce({ topic: 'a', value: '1' });
    await p.produce({ topic: 'b', value: '2' });
    await p.produce({ topic: 'c', value: '3' });
    expect(trail).toEqual(['g:a', 'ta:a', 'tb:b', 'g:c']);
    // Middleware may pass changed copies on: the headers reached the transport producer.
    expect(mock.records.map((r) => r.headers)).toEqual([{ g: '1', ta: '1' }, { tb: '1' }, { g: '1' }]);
    expect(logger.messages('debug').filter((m) => m === 'record produced')).toHaveLength(3);
    const quiet = new RecordingLogger();
    await mocked({ logger: quiet, loggingHandler: false }).p.produce({ value: 'x' });
    expect(quiet.entries).toEqual([]);
  });

  it('a middleware that breaks the one-result-per-record contract fails the record at once (a bug, not retried)', async () => {
    const dropAll: ProducerMiddleware = () => async () => [];
    const { p, delays } = mocked({ globalHandlers: [dropAll] });
    await expect(p.produce({ value: 'x' })).rejects.toBeInstanceOf(TypeError);
    expect(delays).toEqual([]);
  });

  it('close drains queued and in-flight records, then closes the transport producer it created (not one it was given)', async () => {
    const { p, mock } = mocked();
    mock.holdAcks();
    const futures = await Promise.all([1, 2, 3].map((i) => p.produceAsync({ value: `v${i}`, key: 'k' })));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    mock.releaseAcks();
    await waitFor(() => mock.pendingSends > 0 || futures.every((f) => f.done));
    mock.releaseAcks();
    await withTimeout(closing, 2_000, 'close');
    expect(futures.every((f) => f.done && f.result !== undefined)).toBe(true);
    expect(mock.closed).toBe(false);

    const created = new MockProducer();
    const owned = createDispatchingProducer({ producer: () => created } as unknown as Transport);
    await owned.produce({ topic: 't', value: 'x' });
    await owned.close();
    expect(created.closed).toBe(true);
  });

  it('close gives up after drainTimeoutMs: blocked records fail with ERR_CLOSED', async () => {
    const { p, mock } = mocked({ exhaustedPolicy: 'block', drainTimeoutMs: 30, sleep: (ms, signal) => new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    }) });
    mock.failWhen((r: ProducerRecord) => r.value === 'stuck', 'ERR_PRODUCE');
    const stuck = await p.produceAsync({ value: 'stuck', key: 'k' });
    const behind = await p.produceAsync({ value: 'behind', key: 'k' });
    await withTimeout(p.close(), 2_000, 'close');
    await expect(stuck.wait()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(behind.wait()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(mock.records.some((r) => r.value === 'behind')).toBe(false);
  });
});
