import {
  ConfigError,
  DeadLetterHeaders,
  TributaryError,
  createConsumer,
  deadLetter,
  isTributaryError,
  retry,
  type Consumer,
  type ConsumerOptions,
  type DeadLetter,
  type DeadLetterWriteContext,
  type DeadLetterWriter,
  type Message,
} from '@tributary/core';
import { MockProducer, textOf, uniqueGroup, waitFor, type Deferred } from '@tributary/testutil';
import { runtimeFixture } from './support';

/**
 * Records every write. A class: the consumer deep-freezes plain option
 * objects without methods, and a test's writer must stay its own.
 */
class RecordingWriter implements DeadLetterWriter {
  readonly calls: (readonly DeadLetter[])[] = [];
  readonly contexts: DeadLetterWriteContext[] = [];
  /** When set, each write rejects with it (after recording the call). */
  failWith: Error | undefined = undefined;
  /** When set, each write waits for it. */
  hold: Deferred<void> | undefined;

  get letters(): DeadLetter[] {
    return this.calls.flat();
  }

  async write(letters: readonly DeadLetter[], context: DeadLetterWriteContext): Promise<void> {
    this.calls.push(letters);
    this.contexts.push(context);
    if (this.hold) await this.hold.promise;
    if (this.failWith !== undefined) throw this.failWith;
  }
}

const offsetsOf = (letters: readonly DeadLetter[]): number[] => letters.map((l) => l.message.offset);

describe('consumer runtime: deadLetter.writer', () => {
  const fx = runtimeFixture('dlq-writer');
  const { consumer } = fx;

  /** Holds `writer`'s writes until the returned gate opens (at teardown at the latest). */
  function held(writer: RecordingWriter): Deferred<void> {
    const d = fx.gate();
    writer.hold = d;
    return d;
  }

  const topicWith = (values: readonly (string | null)[]): Promise<string> => fx.topicWith(values.map((value, i) => ({ key: `k${i}`, value })));

  /** The offset `groupId` committed on partition 0 of `topic`, if any. */
  async function committed(groupId: string, topic: string): Promise<number | undefined> {
    return (await fx.committed(groupId, topic))[0];
  }

  async function failure(c: Consumer): Promise<unknown> {
    return c.wait().then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  /** Lets timers and I/O callbacks run a few rounds: long enough for work that does not wait to finish. */
  async function turns(count = 20): Promise<void> {
    for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  it('writes a poison record with its message, the dead-letter record and headers, the error and its classification; no producer is made', async () => {
    const topic = await topicWith(['ok-0', 'poison', 'ok-2']);
    const groupId = uniqueGroup();
    const writer = new RecordingWriter();
    const producerSpy = jest.spyOn(fx.transport, 'producer');
    const invalid = new TributaryError('ERR_VALIDATION', 'invalid order');
    const seen: Message[] = [];
    const c = consumer({ groupId, topics: [topic], deadLetter: { writer } });
    await c.start(function billOrder(m) {
      seen.push(m);
      if (textOf(m.value) === 'poison') throw invalid;
    });
    await waitFor(async () => (await committed(groupId, topic)) === 3, { message: 'all three committed' });

    expect(writer.calls).toHaveLength(1);
    const [letter] = writer.letters;
    expect(letter).toBeDefined();
    const l = letter as DeadLetter;
    expect(l.message).toBe(seen[1]);
    expect(l.message).toMatchObject({ topic, partition: 0, offset: 1, key: 'k1' });
    expect(l.error).toBe(invalid);
    expect(l.errorCode).toBe('ERR_VALIDATION');
    expect(l.permanent).toBe(true);
    expect(l.attempts).toBe(1);
    expect(l.record.topic).toBe(`${topic}.dlq`);
    expect(l.record.key).toBe('k1');
    expect(textOf(l.record.value)).toBe('poison');
    expect(l.record.headers).toMatchObject({
      [DeadLetterHeaders.reason]: 'invalid order',
      [DeadLetterHeaders.errorCode]: 'ERR_VALIDATION',
      [DeadLetterHeaders.topic]: topic,
      [DeadLetterHeaders.partition]: '0',
      [DeadLetterHeaders.offset]: '1',
      [DeadLetterHeaders.attempts]: '1',
      [DeadLetterHeaders.groupId]: groupId,
      [DeadLetterHeaders.handler]: 'billOrder',
    });
    expect(Object.isFrozen(l)).toBe(true);
    expect(Object.isFrozen(writer.calls[0])).toBe(true);
    expect(writer.contexts[0]?.signal.aborted).toBe(false);
    expect(c.metrics()).toMatchObject({ processed: 2, deadLettered: 1, failed: 1 });
    // A writer replaces the dead-letter producer: the consumer makes none.
    expect(producerSpy).not.toHaveBeenCalled();
  });

  it('classifies a transient failure that exhausted the retries as not permanent', async () => {
    const topic = await topicWith(['flaky']);
    const groupId = uniqueGroup();
    const writer = new RecordingWriter();
    const c = consumer({ groupId, topics: [topic], retry: { initialMs: 1, maxMs: 1, maxAttempts: 2 }, deadLetter: { writer } });
    await c.start(() => {
      throw new Error('ledger timeout');
    });
    await waitFor(async () => (await committed(groupId, topic)) === 1, { message: 'the record committed' });
    const l = writer.letters[0] as DeadLetter;
    expect(l.errorCode).toBe('ERR_RETRIES_EXHAUSTED');
    expect(l.permanent).toBe(false);
    expect(l.attempts).toBe(2);
    expect((l.error as Error).cause).toMatchObject({ message: 'ledger timeout' });
    expect(l.record.headers?.[DeadLetterHeaders.attempts]).toBe('2');
  });

  it('acknowledges the record only once write() resolved: later records wait, nothing commits meanwhile', async () => {
    const topic = await topicWith(['poison', 'ok-1']);
    const groupId = uniqueGroup();
    const writer = new RecordingWriter();
    const release = held(writer);
    const seen: number[] = [];
    const c = consumer({ groupId, topics: [topic], deadLetter: { writer } });
    await c.start((m) => {
      seen.push(m.offset);
      if (m.offset === 0) throw new TributaryError('ERR_DECODE', 'not JSON');
    });
    await waitFor(() => writer.calls.length === 1, { message: 'the write started' });
    await turns();
    expect(seen).toEqual([0]);
    expect(c.metrics().deadLettered).toBe(0);
    expect(await committed(groupId, topic)).toBeUndefined();

    release.resolve();
    await waitFor(async () => (await committed(groupId, topic)) === 2, { message: 'both committed' });
    expect(seen).toEqual([0, 1]);
    expect(c.metrics().deadLettered).toBe(1);
  });

  it('a rejected write leaves the record unacknowledged: the consumer stops with ERR_DEAD_LETTER and the record comes back', async () => {
    const topic = await topicWith(['ok-0', 'poison', 'ok-2']);
    const groupId = uniqueGroup();
    const diskFull = new Error('disk full');
    const broken = new RecordingWriter();
    broken.failWith = diskFull;
    const errors: unknown[] = [];
    const handler = (m: Message): void => {
      if (textOf(m.value) === 'poison') throw new TributaryError('ERR_VALIDATION', 'invalid order');
    };
    const first = consumer({ groupId, topics: [topic], deadLetter: { writer: broken }, onError: (e) => errors.push(e) });
    await first.start(handler);

    const err = await failure(first);
    expect(isTributaryError(err) && err.code).toBe('ERR_DEAD_LETTER');
    const e = err as TributaryError;
    expect(e.retriable).toBe(true);
    expect(e.cause).toBe(diskFull);
    expect(e.context).toEqual({ topic, partition: 0, offset: 1, key: 'k1' });
    expect(e.message).toContain(`dead-letter write failed for ${topic}/0@1: disk full`);
    expect(errors).toEqual([err]);
    expect(broken.calls).toHaveLength(1);
    expect(first.metrics().deadLettered).toBe(0);
    // The record before it is committed; the poison record is not.
    expect(await committed(groupId, topic)).toBe(1);

    // Nothing lost: the next consumer of the group gets it again, and a working writer takes it.
    const writer = new RecordingWriter();
    const second = consumer({ groupId, topics: [topic], deadLetter: { writer } });
    await second.start(handler);
    await waitFor(async () => (await committed(groupId, topic)) === 3, { message: 'all three committed' });
    expect(offsetsOf(writer.letters)).toEqual([1]);
  });

  it('a writer that throws synchronously is a rejected write', async () => {
    const topic = await topicWith(['poison']);
    const groupId = uniqueGroup();
    const writer: DeadLetterWriter = {
      write: () => {
        throw new TypeError('not a bucket');
      },
    };
    const c = consumer({ groupId, topics: [topic], retry: false, deadLetter: { writer } });
    await c.start(() => {
      throw new TributaryError('ERR_DECODE', 'not JSON');
    });
    expect(await failure(c)).toMatchObject({ code: 'ERR_DEAD_LETTER', cause: expect.any(TypeError) as unknown });
    expect(await committed(groupId, topic)).toBeUndefined();
  });

  it('aborts the write signal when the drain ends at stop: a write that gives up leaves the record uncommitted', async () => {
    const topic = await topicWith(['ok-0', 'poison']);
    const groupId = uniqueGroup();
    const signals: AbortSignal[] = [];
    const writer: DeadLetterWriter = {
      write: (_letters, { signal }) =>
        new Promise<void>((_resolve, reject) => {
          signals.push(signal);
          signal.addEventListener('abort', () => reject(new Error('write aborted', { cause: signal.reason })), { once: true });
        }),
    };
    const c = consumer({ groupId, topics: [topic], deadLetter: { writer } });
    await c.start((m) => {
      if (m.offset === 1) throw new TributaryError('ERR_DECODE', 'not JSON');
    });
    await waitFor(() => signals.length === 1, { message: 'the write started' });
    await c.stop({ timeoutMs: 20 }).catch(() => undefined);
    expect(signals[0]?.aborted).toBe(true);
    expect(c.metrics().deadLettered).toBe(0);
    expect(await committed(groupId, topic)).toBe(1);
  });

  describe('batch handlers', () => {
    it("writes one call per handler call: its dead-letter outcomes and the retries it cannot retry, in offset order, each with its own error", async () => {
      const topic = await topicWith(['0', '1', '2', '3', '4', '5']);
      const groupId = uniqueGroup();
      const writer = new RecordingWriter();
      const reasons = [new TributaryError('ERR_DECODE', 'bad bytes'), new Error('ledger down'), new TributaryError('ERR_VALIDATION', 'no id')];
      const batches: number[][] = [];
      const c = consumer({ groupId, topics: [topic], retry: false, batch: { maxRecords: 6, maxWaitMs: 5_000 }, deadLetter: { writer } });
      await c.startBatch((messages) => {
        batches.push(messages.map((m) => m.offset));
        return messages.map((m) => {
          if (m.offset === 1) return deadLetter(reasons[0]);
          if (m.offset === 2) return retry(reasons[1]);
          if (m.offset === 4) return deadLetter(reasons[2]);
          return { kind: 'ack' as const };
        });
      });
      await waitFor(async () => (await committed(groupId, topic)) === 6, { message: 'all six committed' });
      expect(batches).toEqual([[0, 1, 2, 3, 4, 5]]);
      expect(writer.calls).toHaveLength(1);
      const letters = writer.calls[0] ?? [];
      expect(offsetsOf(letters)).toEqual([1, 2, 4]);
      expect(letters.map((l) => l.error)).toEqual(reasons);
      expect(letters.map((l) => l.errorCode)).toEqual(['ERR_DECODE', 'Error', 'ERR_VALIDATION']);
      expect(letters.map((l) => l.permanent)).toEqual([true, false, true]);
      expect(letters.map((l) => l.record.headers?.[DeadLetterHeaders.offset])).toEqual(['1', '2', '4']);
      expect(c.metrics()).toMatchObject({ processed: 3, deadLettered: 3 });
    });

    it('writes again for each retry attempt that dead-letters more', async () => {
      const topic = await topicWith(['0', '1', '2']);
      const groupId = uniqueGroup();
      const writer = new RecordingWriter();
      const c = consumer({
        groupId,
        topics: [topic],
        retry: { initialMs: 1, maxMs: 1, maxAttempts: 2 },
        batch: { maxRecords: 3, maxWaitMs: 5_000 },
        deadLetter: { writer },
      });
      // Attempt 1: 0 dead-letters, 1 and 2 ask to retry; attempt 2 (1 and 2): both fail again, retries run out.
      await c.startBatch((messages, ctx) => messages.map((m) => (ctx.attempt === 1 && m.offset === 0 ? deadLetter(new Error('poison')) : retry(new Error('down')))));
      await waitFor(async () => (await committed(groupId, topic)) === 3, { message: 'all three committed' });
      expect(writer.calls.map(offsetsOf)).toEqual([[0], [1, 2]]);
      expect(writer.calls[1]?.map((l) => [l.errorCode, l.attempts])).toEqual([
        ['ERR_RETRIES_EXHAUSTED', 2],
        ['ERR_RETRIES_EXHAUSTED', 2],
      ]);
    });

    it('the topic form publishes a handler call’s dead letters in one send too', async () => {
      const topic = await topicWith(['0', '1', '2']);
      const groupId = uniqueGroup();
      const producer = new MockProducer();
      const c = consumer({ groupId, topics: [topic], batch: { maxRecords: 3, maxWaitMs: 5_000 }, deadLetter: { producer } });
      await c.startBatch((messages) => messages.map((m) => (m.offset === 1 ? { kind: 'ack' as const } : deadLetter(new Error(`bad ${m.offset}`)))));
      await waitFor(async () => (await committed(groupId, topic)) === 3, { message: 'all three committed' });
      expect(producer.calls.map((records) => records.map((r) => r.headers?.[DeadLetterHeaders.offset]))).toEqual([['0', '2']]);
    });
  });

  describe('rate limit', () => {
    it('counts written letters: the record past the limit is not written nor committed, the consumer stops', async () => {
      const topic = await topicWith(['0', '1', '2', '3']);
      const groupId = uniqueGroup();
      const writer = new RecordingWriter();
      const c = consumer({ groupId, topics: [topic], retry: false, deadLetter: { writer, rateLimit: { max: 2, windowMs: 60_000 } } });
      await c.start((m) => {
        throw new TributaryError('ERR_DECODE', `poison ${m.offset}`);
      });
      const err = await failure(c);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE', context: { topic, partition: 0, offset: 2 } });
      expect((err as Error).message).toContain('2 per 60000 ms');
      expect(writer.calls.map(offsetsOf)).toEqual([[0], [1]]);
      expect(c.metrics().deadLettered).toBe(2);
      expect(await committed(groupId, topic)).toBe(2);
    });

    it('a batch handler call: the letters within the limit go in one write, then the consumer stops at the first past it', async () => {
      const topic = await topicWith(['0', '1', '2', '3', '4']);
      const groupId = uniqueGroup();
      const writer = new RecordingWriter();
      const c = consumer({
        groupId,
        topics: [topic],
        batch: { maxRecords: 5, maxWaitMs: 5_000 },
        deadLetter: { writer, rateLimit: { max: 2 } },
      });
      await c.startBatch((messages) => messages.map(() => deadLetter(new Error('bad deploy'))));
      const err = await failure(c);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE', context: { offset: 2 } });
      expect(writer.calls.map(offsetsOf)).toEqual([[0, 1]]);
      expect(c.metrics().deadLettered).toBe(2);
      expect(await committed(groupId, topic)).toBe(2);
    });
  });

  describe('configuration', () => {
    const problems = (deadLetter: unknown, extra: Partial<ConsumerOptions> = {}): ConfigError => {
      try {
        createConsumer(fx.transport, { groupId: 'g', topics: ['t'], ...extra, deadLetter: deadLetter as ConsumerOptions['deadLetter'] });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
      }
      throw new Error('no ConfigError');
    };
    const fields = (err: ConfigError): string[] => err.problems.map((p) => p.field);
    const writer = new RecordingWriter();

    it('takes a writer or a topic (with a producer), not both, naming the fields', () => {
      const both = problems({ topic: 'orders.dlq', writer });
      expect(fields(both)).toEqual(['deadLetter.topic']);
      expect(both.message).toContain('deadLetter.topic cannot be combined with deadLetter.writer');
      expect(fields(problems({ producer: new MockProducer(), writer }))).toEqual(['deadLetter.producer']);
      expect(fields(problems({ writer: {} }))).toEqual(['deadLetter.writer']);
      expect(fields(problems({ writer: { write: 'later' } }))).toEqual(['deadLetter.writer']);
      expect(fields(problems({ writer: null }))).toEqual(['deadLetter.writer']);
      // Every problem at once, with the rest of the options.
      expect(fields(problems({ topic: '', producer: {}, writer: {}, rateLimit: { max: 0 } }, { groupId: '' }))).toEqual([
        'groupId',
        'deadLetter.topic',
        'deadLetter.producer',
        'deadLetter.writer',
        'deadLetter.rateLimit.max',
      ]);
      expect(() => createConsumer(fx.transport, { groupId: 'g', topics: ['t'], deadLetter: { writer, rateLimit: false } })).not.toThrow();
    });

    it('types: a writer excludes topic and producer', () => {
      const ok: ConsumerOptions[] = [
        { groupId: 'g', topics: ['t'], deadLetter: { writer } },
        { groupId: 'g', topics: ['t'], deadLetter: { writer, rateLimit: { max: 10 } } },
        { groupId: 'g', topics: ['t'], deadLetter: { topic: 'x', producer: new MockProducer() } },
        { groupId: 'g', topics: ['t'], deadLetter: {} },
      ];
      // @ts-expect-error a topic and a writer
      const both: ConsumerOptions = { groupId: 'g', topics: ['t'], deadLetter: { topic: 'x', writer } };
      // @ts-expect-error a producer and a writer
      const withProducer: ConsumerOptions = { groupId: 'g', topics: ['t'], deadLetter: { producer: new MockProducer(), writer } };
      expect([...ok, both, withProducer]).toHaveLength(6);
    });
  });
});
