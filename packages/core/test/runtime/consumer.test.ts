import {
  ConfigError,
  DeadLetterHeaders,
  RetriesExhaustedError,
  TributaryError,
  ack,
  createConsumer,
  deadLetter,
  isTributaryError,
  retry,
  valueAsString,
  type Message,
} from '@tributary/core';
import { uniqueGroup, waitFor } from '@tributary/testutil';
import { runtimeFixture } from './support';

const fastRetry = { initialMs: 1, maxMs: 5, maxAttempts: 3 };

describe('createConsumer', () => {
  const fx = runtimeFixture('rt');
  const { consumer, committed, readAll } = fx;

  /** A topic with `count` records spread over `partitions` by their key. */
  function topicWith(count: number, partitions = 1, keyOf = (i: number) => `k${i % 7}`): Promise<string> {
    return fx.topicWith(Array.from({ length: count }, (_, i) => ({ key: keyOf(i), value: String(i) })), { partitions });
  }

  it('handles every record once, in order per partition, and commits the end of each partition', async () => {
    const topic = await topicWith(300, 3);
    const groupId = uniqueGroup();
    const seen = new Map<number, number[]>();
    const c = consumer({ groupId, topics: [topic] });
    await c.start((m) => {
      const list = seen.get(m.partition) ?? [];
      list.push(m.offset);
      seen.set(m.partition, list);
    });
    expect(c.isRunning()).toBe(true);
    await waitFor(() => c.metrics().processed === 300, { message: 'all processed' });
    for (const offsets of seen.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    const ends = await fx.transport.admin().fetchTopicOffsets(topic);
    await waitFor(async () => {
      const c2 = await committed(groupId, topic);
      return ends.every((e) => c2[e.partition] === e.high);
    }, { message: 'committed to the end' });
    await c.stop();
    expect(c.isRunning()).toBe(false);
    await expect(c.wait()).resolves.toBeUndefined();
  });

  it('batches by size and by time for batch handlers', async () => {
    const topic = await topicWith(25);
    const sizes: number[] = [];
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], batch: { maxRecords: 10, maxWaitMs: 30 } });
    await c.startBatch((messages) => {
      sizes.push(messages.length);
    });
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) === 25, { message: '25 records in batches' });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.filter((s) => s === 10).length).toBeGreaterThanOrEqual(2);
    expect(c.metrics().batches).toBe(sizes.length);
  });

  it('retries a failing record with backoff, then succeeds without skipping it', async () => {
    const topic = await topicWith(5);
    const attempts = new Map<number, number>();
    const order: number[] = [];
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], retry: fastRetry });
    await c.start((m, ctx) => {
      attempts.set(m.offset, ctx.attempt);
      if (m.offset === 2 && ctx.attempt < 3) throw new Error('flaky dependency');
      order.push(m.offset);
    });
    await waitFor(() => order.length === 5, { message: 'five processed' });
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(attempts.get(2)).toBe(3);
    expect(c.metrics()).toMatchObject({ processed: 5, failed: 2, retries: 2, deadLettered: 0 });
  });

  it('stops on exhausted retries without a dead-letter topic and commits nothing past the record', async () => {
    const topic = await topicWith(6);
    const groupId = uniqueGroup();
    const errors: unknown[] = [];
    const c = consumer({ groupId, topics: [topic], retry: fastRetry, onError: (e) => errors.push(e) });
    await c.start((m) => {
      if (m.offset === 3) throw new Error('always fails');
    });
    const failure = await c.wait().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(RetriesExhaustedError);
    expect((failure as RetriesExhaustedError).attempts).toBe(3);
    expect((failure as RetriesExhaustedError).context).toMatchObject({ topic, partition: 0, offset: 3 });
    expect(errors).toContain(failure);
    expect(c.isRunning()).toBe(false);
    expect((await committed(groupId, topic))[0]).toBe(3);
  });

  it('dead-letters an exhausted record with its reason and moves on', async () => {
    const topic = await topicWith(6);
    await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
    const groupId = uniqueGroup();
    const c = consumer({ groupId, topics: [topic], retry: fastRetry, deadLetter: {} });
    const done: number[] = [];
    await c.start((m) => {
      if (m.offset === 1 || m.offset === 4) throw new Error(`bad record ${m.offset}`);
      done.push(m.offset);
    });
    await waitFor(async () => (await committed(groupId, topic))[0] === 6, { message: 'committed past the dead letters' });
    expect(done).toEqual([0, 2, 3, 5]);
    expect(c.metrics().deadLettered).toBe(2);
    const dlq = await readAll(`${topic}.dlq`);
    expect(dlq.map((m) => valueAsString(m))).toEqual(['1', '4']);
    expect(dlq[0]?.key).toBe('k1');
    expect(dlq[0]?.headers).toMatchObject({
      [DeadLetterHeaders.topic]: topic,
      [DeadLetterHeaders.partition]: '0',
      [DeadLetterHeaders.offset]: '1',
      [DeadLetterHeaders.attempts]: '3',
      [DeadLetterHeaders.errorCode]: 'ERR_RETRIES_EXHAUSTED',
      [DeadLetterHeaders.groupId]: groupId,
    });
    expect(dlq[0]?.headers[DeadLetterHeaders.reason]).toContain('bad record 1');
  });

  it('never retries programmer errors: one attempt, then the dead-letter topic', async () => {
    const topic = await topicWith(2);
    await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
    let calls = 0;
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], retry: fastRetry, deadLetter: {} });
    await c.start((m) => {
      calls++;
      if (m.offset === 0) throw new TypeError('cannot read properties of undefined');
    });
    await waitFor(() => c.metrics().processed === 1 && c.metrics().deadLettered === 1, { message: 'one processed, one dead' });
    expect(calls).toBe(2);
    const [dead] = await readAll(`${topic}.dlq`);
    expect(dead?.headers[DeadLetterHeaders.errorCode]).toBe('TypeError');
  });

  it('applies per-record batch outcomes: ack, retry and dead-letter never lose neighbours', async () => {
    const topic = await topicWith(6);
    await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
    const groupId = uniqueGroup();
    const calls: number[][] = [];
    const c = consumer({ groupId, topics: [topic], retry: fastRetry, deadLetter: {}, batch: { maxRecords: 6, maxWaitMs: 50 } });
    await c.startBatch((messages, ctx) => {
      calls.push(messages.map((m) => m.offset));
      return messages.map((m) => {
        if (m.offset === 2) return deadLetter(new Error('poison'));
        if (m.offset === 4 && ctx.attempt === 1) return retry(new Error('try again'));
        return ack;
      });
    });
    await waitFor(async () => (await committed(groupId, topic))[0] === 6, { message: 'all committed' });
    expect(calls[0]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(calls[1]).toEqual([4]);
    expect(c.metrics()).toMatchObject({ processed: 5, deadLettered: 1, retries: 1 });
    expect((await readAll(`${topic}.dlq`)).map((m) => m.headers[DeadLetterHeaders.offset])).toEqual(['2']);
  });

  it('a thrown batch error retries the whole batch', async () => {
    const topic = await topicWith(4);
    let calls = 0;
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], retry: fastRetry, batch: { maxRecords: 4, maxWaitMs: 50 } });
    await c.startBatch((messages) => {
      calls++;
      if (calls === 1) throw new Error('database unavailable');
      expect(messages).toHaveLength(4);
    });
    await waitFor(() => c.metrics().processed === 4, { message: 'processed after retry' });
    expect(calls).toBe(2);
  });

  it('stop waits for in-flight work and commits it', async () => {
    const topic = await topicWith(3);
    const groupId = uniqueGroup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    const c = consumer({ groupId, topics: [topic], drainTimeoutMs: 5_000 });
    await c.start(async (m) => {
      if (m.offset === 1) {
        entered = true;
        await gate;
      }
    });
    await waitFor(() => entered, { message: 'handler entered' });
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    const c2 = await committed(groupId, topic);
    expect(c2[0]).toBeGreaterThanOrEqual(2);
  });

  it('stop is bounded: a stuck handler is aborted after the drain timeout', async () => {
    const topic = await topicWith(1);
    let signal: AbortSignal | undefined;
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], drainTimeoutMs: 50 });
    await c.start(
      (_m, ctx) =>
        new Promise<void>((_resolve, reject) => {
          signal = ctx.signal;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        }),
    );
    await waitFor(() => signal !== undefined, { message: 'handler entered' });
    await c.stop();
    expect(signal?.aborted).toBe(true);
    expect(isTributaryError(signal?.reason) && signal.reason.code).toBe('ERR_TIMEOUT');
  });

  it('stop ends a retry backoff at once and neither dead-letters nor fails the record', async () => {
    const topic = await topicWith(2);
    await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
    const groupId = uniqueGroup();
    let failures = 0;
    let stopping: AbortSignal | undefined;
    // A 60 s backoff: stop() must not wait for it.
    const c = consumer({ groupId, topics: [topic], retry: { initialMs: 60_000, maxMs: 60_000, maxAttempts: 5 }, deadLetter: {} });
    await c.start((m, ctx) => {
      stopping = ctx.stopping;
      if (m.offset === 1) {
        failures++;
        throw new Error('dependency down');
      }
    });
    await waitFor(() => failures === 1, { message: 'first failure' });
    const started = Date.now();
    await c.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stopping?.aborted).toBe(true);
    await expect(c.wait()).resolves.toBeUndefined();
    expect(c.metrics().deadLettered).toBe(0);
    expect((await committed(groupId, topic))[0]).toBe(1);
    expect((await fx.transport.admin().fetchTopicOffsets(`${topic}.dlq`))[0]?.high).toBe(0);
  });

  it('validates every option at once', () => {
    let error: unknown;
    try {
      createConsumer(fx.transport, {
        groupId: '',
        topics: [],
        batch: { maxRecords: 0, maxWaitMs: -1 },
        drainTimeoutMs: Number.NaN,
        retry: { maxAttempts: 0 },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const fields = (error as ConfigError).problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining(['groupId', 'topics', 'batch.maxRecords', 'batch.maxWaitMs', 'drainTimeoutMs', 'retry.maxAttempts']),
    );
  });

  it('refuses to start twice or after stop', async () => {
    const topic = await topicWith(1);
    const c = consumer({ groupId: uniqueGroup(), topics: [topic] });
    await c.start(() => undefined);
    await expect(c.start(() => undefined)).rejects.toMatchObject({ code: 'ERR_STATE' });
    await c.stop();
    await expect(c.start(() => undefined)).rejects.toBeInstanceOf(TributaryError);
  });

  it('two members of a group share the work and lose nothing across the rebalance', async () => {
    const topic = await topicWith(2_000, 4, (i) => `key-${i % 50}`);
    const groupId = uniqueGroup();
    const seen = new Set<string>();
    const handler = (m: Message): void => {
      seen.add(`${m.partition}:${m.offset}`);
    };
    const a = consumer({ groupId, topics: [topic] });
    await a.start(handler);
    await waitFor(() => seen.size > 0, { message: 'first member started' });
    const b = consumer({ groupId, topics: [topic] });
    await b.start(handler);
    await waitFor(() => seen.size === 2_000, { message: 'every record seen' });
    await a.stop();
    const ends = await fx.transport.admin().fetchTopicOffsets(topic);
    await waitFor(async () => {
      const c2 = await committed(groupId, topic);
      return ends.every((e) => c2[e.partition] === e.high);
    }, { message: 'group committed to the end' });
  });
});
