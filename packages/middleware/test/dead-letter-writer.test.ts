import {
  ConfigError,
  DeadLetterHeaders,
  TributaryError,
  chainHandlers,
  valueAsString,
  type DeadLetter,
  type DeadLetterWriteContext,
  type DeadLetterWriter,
  type MessageHandler,
} from '@tributary/core';
import { MockProducer, buildMessage, textOf, uniqueGroup, waitFor } from '@tributary/testutil';
import { observeRecord, withDeadLetter, withRetry, type DeadLetterInfo, type DeadLetterMiddlewareOptions, type RecordEvent } from '@tributary/middleware';
import { run, testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';

/** Records every write; rejects the next `failures` writes with `error`. */
class RecordingWriter implements DeadLetterWriter {
  readonly calls: (readonly DeadLetter[])[] = [];
  readonly contexts: DeadLetterWriteContext[] = [];
  failures = 0;
  error: unknown = new Error('bucket unavailable');

  get letters(): DeadLetter[] {
    return this.calls.flat();
  }

  failNext(count: number, error?: unknown): this {
    this.failures = count;
    if (error !== undefined) this.error = error;
    return this;
  }

  async write(letters: readonly DeadLetter[], context: DeadLetterWriteContext): Promise<void> {
    this.calls.push(letters);
    this.contexts.push(context);
    await Promise.resolve();
    if (this.failures > 0) {
      this.failures--;
      throw this.error;
    }
  }
}

const message = buildMessage({
  topic: 'orders',
  partition: 1,
  offset: 42,
  key: 'order-7',
  value: '{"id":7}',
  timestamp: 1_700_000_000_000,
  headers: { ce_id: 'evt-7' },
});
const decodeError = (): TributaryError => new TributaryError('ERR_DECODE', 'not JSON');
const failWith =
  (make: () => unknown): MessageHandler =>
  () => {
    throw make();
  };
const fastRetry = { initialMs: 1, maxMs: 1, maxAttempts: 3 } as const;

describe('withDeadLetter({ writer })', () => {
  it('hands a permanently failing record to the writer — message, dead-letter record and headers, error and classification — and acknowledges it', async () => {
    const writer = new RecordingWriter();
    const infos: DeadLetterInfo[] = [];
    const events: RecordEvent[] = [];
    const { ctx } = testContext({ groupId: 'billing' });
    const error = decodeError();
    const handler = chainHandlers(
      failWith(() => error),
      withDeadLetter({ writer, handlerName: 'billOrder', onDeadLetter: (i) => infos.push(i) }),
    );
    await handler(message, observeRecord(ctx, (e) => events.push(e)));

    expect(writer.calls).toHaveLength(1);
    expect(writer.calls[0]).toHaveLength(1);
    const letter = writer.letters[0] as DeadLetter;
    expect(letter.message).toBe(message);
    expect(letter.error).toBe(error);
    expect(letter.errorCode).toBe('ERR_DECODE');
    expect(letter.permanent).toBe(true);
    expect(letter.attempts).toBe(1);
    expect(letter.record.topic).toBe('orders.dlq');
    expect(letter.record.key).toBe('order-7');
    expect(textOf(letter.record.value)).toBe('{"id":7}');
    expect(letter.record.headers).toMatchObject({
      ce_id: 'evt-7',
      [DeadLetterHeaders.reason]: 'not JSON',
      [DeadLetterHeaders.errorCode]: 'ERR_DECODE',
      [DeadLetterHeaders.topic]: 'orders',
      [DeadLetterHeaders.partition]: '1',
      [DeadLetterHeaders.offset]: '42',
      [DeadLetterHeaders.attempts]: '1',
      [DeadLetterHeaders.handler]: 'billOrder',
      [DeadLetterHeaders.groupId]: 'billing',
    });
    expect(writer.contexts[0]?.signal).toBe(ctx.signal);
    expect(infos.map((i) => [i.message, i.record, i.error])).toEqual([[message, letter.record, error]]);
    expect(events).toEqual([{ type: 'dead-letter', error, topic: 'orders.dlq', attempts: 1, writer: true }]);
  });

  it('inside withRetry: an exhausted transient failure is written as not permanent, with the attempts made', async () => {
    const writer = new RecordingWriter();
    const handler = chainHandlers(failWith(() => new Error('db down')), withRetry(fastRetry), withDeadLetter({ writer }));
    await handler(message, testContext().ctx);
    const letter = writer.letters[0] as DeadLetter;
    expect(letter.errorCode).toBe('ERR_RETRIES_EXHAUSTED');
    expect(letter.permanent).toBe(false);
    expect(letter.attempts).toBe(3);
    expect(letter.record.headers?.[DeadLetterHeaders.attempts]).toBe('3');
  });

  it('rethrows retriable failures without writing', async () => {
    const writer = new RecordingWriter();
    const error = new Error('db down');
    await expect(chainHandlers(failWith(() => error), withDeadLetter({ writer }))(message, testContext().ctx)).rejects.toBe(error);
    expect(writer.calls).toHaveLength(0);
  });

  describe('when the write fails', () => {
    it('retries the write (publishRetry), then acknowledges once it succeeds', async () => {
      const writer = new RecordingWriter().failNext(2);
      await chainHandlers(failWith(decodeError), withDeadLetter({ writer, publishRetry: fastRetry }))(message, testContext().ctx);
      expect(writer.calls).toHaveLength(3);
    });

    it('rejects with a retriable ERR_DEAD_LETTER so the record is not acknowledged', async () => {
      const full = new Error('disk full');
      const writer = new RecordingWriter().failNext(Number.POSITIVE_INFINITY, full);
      const events: RecordEvent[] = [];
      const infos: DeadLetterInfo[] = [];
      const { ctx } = testContext();
      const handler = chainHandlers(failWith(decodeError), withDeadLetter({ writer, publishRetry: { ...fastRetry, maxAttempts: 2 }, onDeadLetter: (i) => infos.push(i) }));
      const err = await run(
        handler,
        message,
        observeRecord(ctx, (e) => events.push(e)),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TributaryError);
      const dlq = err as TributaryError;
      expect(dlq.code).toBe('ERR_DEAD_LETTER');
      expect(dlq.retriable).toBe(true);
      expect(dlq.cause).toBe(full);
      expect(dlq.context).toEqual({ topic: 'orders', partition: 1, offset: 42, key: 'order-7' });
      expect(dlq.message).toContain('dead-letter write failed for orders/1@42: disk full (the record failed with: not JSON)');
      expect(writer.calls).toHaveLength(2);
      expect(events).toEqual([]);
      expect(infos).toEqual([]);
    });
  });

  it('the rate guard stops the consumer instead of writing', async () => {
    const writer = new RecordingWriter();
    const { ctx, control } = testContext();
    const handler = chainHandlers(failWith(decodeError), withDeadLetter({ writer, rateGuard: { maxRatio: 0.5, minRecords: 2, windowMs: 60_000 } }));
    // 1 of 1: below minRecords; 2 of 2 would be 100%.
    await handler(message, ctx);
    const err = await run(handler, message, ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE' });
    expect(control.calls).toEqual(['stop']);
    expect(writer.calls).toHaveLength(1);
  });

  it('validates: a writer or a producer (and topic), not both, naming the fields', () => {
    const fields = (options: unknown): string[] => {
      try {
        withDeadLetter(options as DeadLetterMiddlewareOptions);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => p.field);
      }
    };
    const writer = new RecordingWriter();
    const producer = new MockProducer();
    expect(fields({ writer, producer })).toEqual(['producer']);
    expect(fields({ writer, topic: 'poison' })).toEqual(['topic']);
    expect(fields({ writer: {} })).toEqual(['writer']);
    expect(fields({ writer: { write: true } })).toEqual(['writer']);
    expect(fields({})).toEqual(['producer']);
    expect(fields({ writer: null, producer, topic: 'x', rateGuard: { maxRatio: 2 } })).toEqual(['producer', 'topic', 'writer', 'rateGuard.maxRatio']);
    expect(fields({ writer })).toEqual([]);
    let error: unknown;
    try {
      withDeadLetter({ writer, topic: 'x' } as unknown as DeadLetterMiddlewareOptions);
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).toContain('topic cannot be combined with writer');

    // The types say the same.
    // @ts-expect-error a writer and a producer
    const both: DeadLetterMiddlewareOptions = { writer, producer };
    // @ts-expect-error a writer and a topic
    const withTopic: DeadLetterMiddlewareOptions = { writer, topic: 'x' };
    // @ts-expect-error neither a writer nor a producer
    const neither: DeadLetterMiddlewareOptions = { topic: 'x' };
    expect([both, withTopic, neither]).toHaveLength(3);
  });

  describe('with the consumer runtime (memory transport)', () => {
    const mem = memoryTransportPerTest();
    const handler: MessageHandler = (m) => {
      if (valueAsString(m) === 'poison') throw new TributaryError('ERR_VALIDATION', 'invalid order');
    };

    it('acknowledges a written record: the partition moves on and commits past it', async () => {
      const topic = await mem.createTopic('orders');
      await mem.send(['ok-0', 'poison', 'ok-2'].map((value, i) => ({ topic, key: `k${i}`, value })));
      const groupId = uniqueGroup();
      const writer = new RecordingWriter();
      const c = mem.consumer({ groupId, topics: [topic], retry: false });
      await c.start(chainHandlers(handler, withDeadLetter({ writer })));
      await waitFor(async () => (await mem.committedOffset(groupId, topic)) === 3, { message: 'all three committed' });
      expect(writer.letters.map((l) => [l.message.topic, l.message.offset, l.record.headers?.[DeadLetterHeaders.groupId]])).toEqual([[topic, 1, groupId]]);
    });

    it('a write that keeps failing: not acknowledged, the consumer stops on ERR_DEAD_LETTER; the next consumer writes it', async () => {
      const topic = await mem.createTopic('orders');
      await mem.send(['ok-0', 'poison', 'ok-2'].map((value, i) => ({ topic, key: `k${i}`, value })));
      const groupId = uniqueGroup();
      const broken = new RecordingWriter().failNext(Number.POSITIVE_INFINITY);
      const first = mem.consumer({ groupId, topics: [topic], retry: false });
      await first.start(chainHandlers(handler, withDeadLetter({ writer: broken, publishRetry: { ...fastRetry, maxAttempts: 2 } })));
      await expect(first.wait()).rejects.toMatchObject({ code: 'ERR_DEAD_LETTER', context: { topic, offset: 1 } });
      expect(broken.calls).toHaveLength(2);
      expect(await mem.committedOffset(groupId, topic)).toBe(1);

      const writer = new RecordingWriter();
      const second = mem.consumer({ groupId, topics: [topic], retry: false });
      await second.start(chainHandlers(handler, withDeadLetter({ writer })));
      await waitFor(async () => (await mem.committedOffset(groupId, topic)) === 3, { message: 'all three committed' });
      expect(writer.letters.map((l) => l.message.offset)).toEqual([1]);
    });

    it('with the runtime retrying: a failed write (retriable ERR_DEAD_LETTER) makes the runtime retry the record', async () => {
      const topic = await mem.createTopic('orders');
      await mem.send([{ topic, key: 'k0', value: 'poison' }]);
      const groupId = uniqueGroup();
      const writer = new RecordingWriter().failNext(1);
      let calls = 0;
      const c = mem.consumer({ groupId, topics: [topic], retry: fastRetry });
      await c.start(
        chainHandlers((m, ctx) => {
          calls++;
          return handler(m, ctx);
        }, withDeadLetter({ writer, publishRetry: false })),
      );
      await waitFor(async () => (await mem.committedOffset(groupId, topic)) === 1, { message: 'the record committed' });
      expect(calls).toBe(2);
      expect(writer.calls).toHaveLength(2);
      expect(c.metrics().retries).toBe(1);
    });
  });
});
