import { ConfigError, DeadLetterHeaders, TributaryError, chainHandlers, valueAsString, type Message, type MessageHandler } from '@tributary/core';
import { MockProducer, buildMessage, textOf, uniqueGroup, waitFor } from '@tributary/testutil';
import { observeRecord, withDeadLetter, withRetry, type DeadLetterInfo, type RecordEvent } from '@tributary/middleware';
import { run, testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';

const message = buildMessage({
  topic: 'orders',
  partition: 1,
  offset: 42,
  key: 'order-7',
  value: '{"id":7}',
  timestamp: 1_700_000_000_000,
  headers: { ce_id: 'evt-7', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
});
const decodeError = (): TributaryError => new TributaryError('ERR_DECODE', 'not JSON');
const failWith =
  (make: () => unknown): MessageHandler =>
  () => {
    throw make();
  };

describe('withDeadLetter', () => {
  it('publishes a permanently failing record untouched, with the dead-letter headers, and acknowledges it', async () => {
    const producer = new MockProducer();
    const infos: DeadLetterInfo[] = [];
    const events: RecordEvent[] = [];
    const { ctx } = testContext({ groupId: 'billing' });
    const handler = chainHandlers(failWith(decodeError), withDeadLetter({ producer, handlerName: 'billOrder', onDeadLetter: (i) => infos.push(i) }));
    await handler(message, observeRecord(ctx, (e) => events.push(e)));

    expect(producer.records).toHaveLength(1);
    const record = producer.records[0]!;
    expect(record.topic).toBe('orders.dlq');
    expect(record.key).toBe('order-7');
    expect(textOf(record.value)).toBe('{"id":7}');
    expect(record.timestamp).toBe(1_700_000_000_000);
    const headers = record.headers ?? {};
    expect(headers).toMatchObject({
      ce_id: 'evt-7',
      traceparent: message.headers.traceparent,
      [DeadLetterHeaders.reason]: 'not JSON',
      [DeadLetterHeaders.errorCode]: 'ERR_DECODE',
      [DeadLetterHeaders.topic]: 'orders',
      [DeadLetterHeaders.partition]: '1',
      [DeadLetterHeaders.offset]: '42',
      [DeadLetterHeaders.attempts]: '1',
      [DeadLetterHeaders.handler]: 'billOrder',
      [DeadLetterHeaders.groupId]: 'billing',
    });
    expect(Date.parse(headers[DeadLetterHeaders.firstFailureAt]!)).toBeLessThanOrEqual(Date.parse(headers[DeadLetterHeaders.lastFailureAt]!));
    expect(events).toEqual([{ type: 'dead-letter', error: expect.objectContaining({ code: 'ERR_DECODE' }) as unknown, topic: 'orders.dlq', attempts: 1 }]);
    expect(infos.map((i) => [i.message, i.record, i.attempts])).toEqual([[message, record, 1]]);
  });

  it('dead-letters an exhausted retry with the attempts made and the first failure time', async () => {
    const producer = new MockProducer();
    let calls = 0;
    const handler = chainHandlers(
      async () => {
        calls++;
        throw new Error(`db down (${calls})`);
      },
      withDeadLetter({ producer }),
      withRetry({ initialMs: 15, maxMs: 15, jitter: 'none', maxAttempts: 3 }),
    );
    await handler(message, testContext().ctx);
    expect(calls).toBe(3);
    const headers = producer.records[0]?.headers ?? {};
    expect(headers[DeadLetterHeaders.attempts]).toBe('3');
    expect(headers[DeadLetterHeaders.errorCode]).toBe('ERR_RETRIES_EXHAUSTED');
    expect(headers[DeadLetterHeaders.reason]).toBe('gave up after 3 attempts: db down (3)');
    const first = Date.parse(headers[DeadLetterHeaders.firstFailureAt]!);
    const last = Date.parse(headers[DeadLetterHeaders.lastFailureAt]!);
    expect(last - first).toBeGreaterThanOrEqual(25);
  });

  it('counts attempts from retry events when a permanent error ends the retries early', async () => {
    const producer = new MockProducer();
    let calls = 0;
    const handler = chainHandlers(
      () => {
        calls++;
        throw calls === 1 ? new Error('flaky') : decodeError();
      },
      withDeadLetter({ producer }),
      withRetry({ initialMs: 1, maxMs: 1, maxAttempts: 5 }),
    );
    await handler(message, testContext().ctx);
    expect(producer.records[0]?.headers?.[DeadLetterHeaders.attempts]).toBe('2');
    expect(producer.records[0]?.headers?.[DeadLetterHeaders.errorCode]).toBe('ERR_DECODE');
  });

  it('rethrows retriable failures untouched, publishing nothing (they are for a retry to handle)', async () => {
    const producer = new MockProducer();
    const error = new Error('db down');
    await expect(chainHandlers(failWith(() => error), withDeadLetter({ producer }))(message, testContext().ctx)).rejects.toBe(error);
    expect(producer.records).toHaveLength(0);
  });

  it('takes a topic name, a topic function and a custom deadLetterIf', async () => {
    const producer = new MockProducer();
    await chainHandlers(failWith(decodeError), withDeadLetter({ producer, topic: 'poison' }))(message, testContext().ctx);
    await chainHandlers(failWith(decodeError), withDeadLetter({ producer, topic: (m: Message) => `dlq.${m.topic}.${m.partition}` }))(message, testContext().ctx);
    await chainHandlers(failWith(() => new Error('anything')), withDeadLetter({ producer, deadLetterIf: () => true }))(message, testContext().ctx);
    expect(producer.records.map((r) => r.topic)).toEqual(['poison', 'dlq.orders.1', 'orders.dlq']);
  });

  it('does not dead-letter when the consumer is stopping: the record is redelivered instead', async () => {
    const producer = new MockProducer();
    const { ctx, abort } = testContext();
    abort.abort(new Error('stopping'));
    const error = decodeError();
    await expect(chainHandlers(failWith(() => error), withDeadLetter({ producer }))(message, ctx)).rejects.toBe(error);
    expect(producer.records).toHaveLength(0);
  });

  describe('when the dead-letter publish fails', () => {
    it('retries the publish, then acknowledges once it succeeds', async () => {
      const producer = new MockProducer().failNext(2, 'ERR_PRODUCE');
      await chainHandlers(failWith(decodeError), withDeadLetter({ producer, publishRetry: { initialMs: 1, maxMs: 1, maxAttempts: 3 } }))(message, testContext().ctx);
      expect(producer.calls).toHaveLength(3);
      expect(producer.produced).toHaveLength(1);
    });

    it('rejects with a retriable ERR_DEAD_LETTER so the record is not acknowledged', async () => {
      const producer = new MockProducer().failWhen(() => true, 'ERR_PRODUCE');
      const events: RecordEvent[] = [];
      const { ctx } = testContext();
      const handler = chainHandlers(failWith(decodeError), withDeadLetter({ producer, publishRetry: { initialMs: 1, maxMs: 1, maxAttempts: 2 } }));
      const err = await run(
        handler,
        message,
        observeRecord(ctx, (e) => events.push(e)),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TributaryError);
      const dlq = err as TributaryError;
      expect(dlq.code).toBe('ERR_DEAD_LETTER');
      expect(dlq.retriable).toBe(true);
      expect(dlq.cause).toMatchObject({ code: 'ERR_PRODUCE' });
      expect(dlq.context).toEqual({ topic: 'orders', partition: 1, offset: 42, key: 'order-7' });
      expect(dlq.message).toContain('the record failed with: not JSON');
      expect(producer.calls).toHaveLength(2);
      expect(events).toEqual([]);
    });

    it('does not retry a publish that cannot succeed (unknown topic) and reports a rejected send too', async () => {
      const unknown = new MockProducer({ topics: ['orders'] });
      await expect(chainHandlers(failWith(decodeError), withDeadLetter({ producer: unknown }))(message, testContext().ctx)).rejects.toMatchObject({
        code: 'ERR_DEAD_LETTER',
        cause: { code: 'ERR_UNKNOWN_TOPIC' },
      });
      expect(unknown.calls).toHaveLength(1);
      const rejecting = new MockProducer().rejectNextSend('ERR_CONNECTION');
      await expect(
        chainHandlers(failWith(decodeError), withDeadLetter({ producer: rejecting, publishRetry: false }))(message, testContext().ctx),
      ).rejects.toMatchObject({ code: 'ERR_DEAD_LETTER', cause: { code: 'ERR_CONNECTION' } });
    });
  });

  describe('rate guard', () => {
    it('stops the consumer instead of dead-lettering once too large a share of the window dead-letters', async () => {
      const producer = new MockProducer();
      const { ctx, control } = testContext();
      let fail = false;
      const handler = chainHandlers(
        () => {
          if (fail) throw decodeError();
        },
        withDeadLetter({ producer, rateGuard: { maxRatio: 0.5, minRecords: 6, windowMs: 60_000 } }),
      );
      for (let i = 0; i < 3; i++) await handler(buildMessage({ offset: i }), ctx);
      fail = true;
      // 3 ok + 2 dead-lettered = 40% of 5: below minRecords; then 3 of 6 = 50%: not above the ratio.
      for (let i = 3; i < 6; i++) await handler(buildMessage({ offset: i }), ctx);
      expect(producer.records).toHaveLength(3);
      expect(control.calls).toEqual([]);
      // 4 of 7 would be 57%: stop.
      const err = await run(handler, buildMessage({ offset: 6 }), ctx).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE', cause: expect.objectContaining({ code: 'ERR_DECODE' }) as unknown });
      expect((err as Error).message).toMatch(/4 of the last 7 records .* would be dead-lettered, more than 50%/);
      expect(control.calls).toEqual(['stop']);
      expect(control.stopReasons).toEqual([err]);
      expect(producer.records).toHaveLength(3);
    });

    it('counts records dead-lettering at the same time (several partitions) against each other', async () => {
      const producer = new MockProducer().holdAcks();
      const { ctx } = testContext();
      const handler = chainHandlers(failWith(decodeError), withDeadLetter({ producer, rateGuard: { maxRatio: 0.5, minRecords: 4, windowMs: 60_000 } }));
      const calls = Array.from({ length: 8 }, () => run(handler, message, ctx));
      await waitFor(() => producer.records.length === 3, { message: 'three publishes started' });
      producer.releaseAcks();
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', ...Array.from({ length: 5 }, () => 'rejected')]);
      expect(producer.produced).toHaveLength(3);
    });

    it('forgets outcomes older than the window', async () => {
      const producer = new MockProducer();
      let now = 0;
      const { ctx, control } = testContext();
      const handler = chainHandlers(failWith(decodeError), withDeadLetter({ producer, rateGuard: { maxRatio: 0.5, minRecords: 3, windowMs: 1_000 }, now: () => now }));
      await handler(message, ctx);
      await handler(message, ctx);
      now = 5_000;
      await handler(message, ctx);
      await handler(message, ctx);
      expect(control.calls).toEqual([]);
      await expect(handler(message, ctx)).rejects.toMatchObject({ code: 'ERR_DEAD_LETTER_RATE' });
    });

    it('is on by default and can be turned off', async () => {
      const { ctx, control } = testContext();
      const guarded = chainHandlers(failWith(decodeError), withDeadLetter({ producer: new MockProducer() }));
      let rejected = 0;
      for (let i = 0; i < 25; i++) await run(guarded, message, ctx).catch(() => rejected++);
      // Defaults: 19 of 19 are below minRecords 20; the 20th would make 100% of 20.
      expect(rejected).toBe(6);
      expect(control.calls).toEqual(Array.from({ length: 6 }, () => 'stop'));
      const free = testContext();
      const unguarded = chainHandlers(failWith(decodeError), withDeadLetter({ producer: new MockProducer(), rateGuard: false }));
      for (let i = 0; i < 25; i++) await unguarded(message, free.ctx);
      expect(free.control.calls).toEqual([]);
    });
  });

  it('inside withRetry: leaves failures the retry will try again to it, and dead-letters the last attempt as exhausted', async () => {
    const { ctx } = testContext();
    const producer = new MockProducer();
    let calls = 0;
    const handler = chainHandlers(
      () => {
        calls++;
        throw new Error('db down');
      },
      withRetry({ initialMs: 1, maxMs: 1, maxAttempts: 3 }),
      withDeadLetter({ producer }),
    );
    await handler(message, ctx);
    expect(calls).toBe(3);
    expect(producer.records).toHaveLength(1);
    expect(producer.records[0]?.headers).toMatchObject({
      [DeadLetterHeaders.errorCode]: 'ERR_RETRIES_EXHAUSTED',
      [DeadLetterHeaders.attempts]: '3',
    });
  });

  it('inside withRetry: a permanent failure is dead-lettered at once', async () => {
    const { ctx } = testContext();
    const producer = new MockProducer();
    let calls = 0;
    const handler = chainHandlers(
      () => {
        calls++;
        throw decodeError();
      },
      withRetry({ initialMs: 1, maxMs: 1, maxAttempts: 3 }),
      withDeadLetter({ producer }),
    );
    await handler(message, ctx);
    expect(calls).toBe(1);
    expect(producer.records[0]?.headers?.[DeadLetterHeaders.errorCode]).toBe('ERR_DECODE');
  });

  it('validates every option at once', () => {
    let error: unknown;
    try {
      withDeadLetter({
        producer: {} as MockProducer,
        topic: '',
        rateGuard: { maxRatio: 2, minRecords: 0 },
        publishRetry: { maxAttempts: 0 },
        deadLetterIf: 1 as unknown as () => boolean,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field).sort()).toEqual([
      'deadLetterIf',
      'producer',
      'publishRetry.maxAttempts',
      'rateGuard.maxRatio',
      'rateGuard.minRecords',
      'topic',
    ]);
    expect(() => withDeadLetter(undefined as unknown as { producer: MockProducer })).toThrow(ConfigError);
  });

  describe('with the consumer runtime (memory transport)', () => {
    const mem = memoryTransportPerTest();

    it('keeps a record whose dead-letter publish fails, and dead-letters it once the publish works', async () => {
      const topic = await mem.createTopic('orders', { deadLetterTopic: true });
      await mem.send(['ok-0', 'poison', 'ok-2'].map((value, i) => ({ topic, key: `k${i}`, value })));
      const groupId = uniqueGroup();
      const handler: MessageHandler = (m) => {
        if (valueAsString(m) === 'poison') throw new TributaryError('ERR_VALIDATION', 'invalid order');
      };

      const broken = new MockProducer().failWhen(() => true, 'ERR_PRODUCE');
      const first = mem.consumer({ groupId, topics: [topic], retry: false });
      await first.start(chainHandlers(handler, withDeadLetter({ producer: broken, publishRetry: { initialMs: 1, maxMs: 1, maxAttempts: 2 } })));
      await expect(first.wait()).rejects.toMatchObject({ code: 'ERR_DEAD_LETTER' });
      expect(await mem.committedOffset(groupId, topic)).toBe(1);

      const dlqProducer = mem.transport.producer();
      const second = mem.consumer({ groupId, topics: [topic], retry: false });
      await second.start(chainHandlers(handler, withDeadLetter({ producer: dlqProducer })));
      await waitFor(async () => (await mem.committedOffset(groupId, topic)) === 3, { message: 'all three committed' });
      const dlq = await mem.transport.admin().fetchTopicOffsets(`${topic}.dlq`);
      expect(dlq[0]?.high).toBe(1);
      await dlqProducer.close();
    });
  });
});
