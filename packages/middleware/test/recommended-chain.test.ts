import { ConfigError, DeadLetterHeaders, chainHandlers, valueAsString, type Consumer, type HandlerMiddleware, type Message } from '@tributary/core';
import { MockProducer, buildMessage, uniqueGroup, waitFor } from '@tributary/testutil';
import { RECOMMENDED_ORDER, recommendedChain, withDeadLetter, withRetry } from '@tributary/middleware';
import { testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';

const fastRetry = { initialMs: 1, maxMs: 2, maxAttempts: 3 } as const;

describe('recommendedChain', () => {
  it('lists the order', () => {
    expect(RECOMMENDED_ORDER).toEqual(['tracing', 'logging', 'metrics', 'deadLetter', 'dedup', 'retry', 'circuitBreaker', 'throttle', 'timeout']);
  });

  it('puts the middleware in the recommended order whatever order the options come in', async () => {
    const producer = new MockProducer();
    let calls = 0;
    const chain = chainHandlers(
      () => {
        calls++;
        throw new Error('db down');
      },
      recommendedChain({ timeout: { timeoutMs: 1_000 }, retry: fastRetry, deadLetter: { producer } }),
    );
    await chain(buildMessage(), testContext().ctx);
    expect(calls).toBe(3);
    expect(producer.records[0]?.headers?.[DeadLetterHeaders.attempts]).toBe('3');
  });

  it('reports unknown keys and every invalid option, prefixed by its middleware', () => {
    let error: unknown;
    try {
      recommendedChain({ retry: { maxAttempts: 0 }, timeout: { timeoutMs: 0 }, poison: {} } as Parameters<typeof recommendedChain>[0]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['poison', 'retry.maxAttempts', 'timeout.timeoutMs']);
  });
});

// Watermill's known trap: a dead-letter (poison queue) middleware placed
// inside the retry middleware. These tests show what goes wrong with that
// order and that the recommended one (deadLetter outside retry) retries.
describe('middleware order (consumer runtime on the memory transport)', () => {
  const mem = memoryTransportPerTest();

  async function run(
    values: readonly string[],
    handler: (m: Message) => void,
    ...middlewares: HandlerMiddleware[]
  ): Promise<{ consumer: Consumer; topic: string; committed: () => Promise<number | undefined>; dlq: () => Promise<number> }> {
    const topic = await mem.createTopic('orders', { deadLetterTopic: true });
    await mem.send(values.map((value) => ({ topic, value })));
    const consumer = mem.consumer({ groupId: uniqueGroup(), topics: [topic], retry: false });
    await consumer.start(chainHandlers(handler, ...middlewares));
    return {
      consumer,
      topic,
      committed: () => mem.committedOffset(consumer.groupId, topic),
      dlq: async () => (await mem.transport.admin().fetchTopicOffsets(`${topic}.dlq`))[0]?.high ?? 0,
    };
  }

  /** Fails the first two attempts at each record whose value starts with "flaky", then succeeds. */
  function flakyHandler(): { handle: (m: Message) => void; attempts: Map<string, number> } {
    const attempts = new Map<string, number>();
    return {
      attempts,
      handle: (m) => {
        const value = valueAsString(m) ?? '';
        const n = (attempts.get(value) ?? 0) + 1;
        attempts.set(value, n);
        if (value.startsWith('flaky') && n <= 2) throw new Error(`transient failure ${n}`);
      },
    };
  }

  // Watermill's known bug: a poison queue placed inside retry takes the first
  // failure, so no retry ever runs. Here withDeadLetter asks the enclosing
  // withRetry first, so that order retries too.
  it('no Watermill trap: a dead-letter that takes every failure, inside retry, still lets the retries run', async () => {
    const dlqProducer = mem.transport.producer();
    const { handle, attempts } = flakyHandler();
    const { committed, dlq } = await run(
      ['ok', 'flaky'],
      handle,
      withRetry(fastRetry),
      withDeadLetter({ producer: dlqProducer, deadLetterIf: () => true }),
    );
    await waitFor(async () => (await committed()) === 2, { message: 'both committed' });
    expect(attempts.get('flaky')).toBe(3); // retried, and succeeded on the third attempt
    expect(await dlq()).toBe(0); // …so nothing was dead-lettered
    await dlqProducer.close();
  });

  it('the default dead-letter inside retry dead-letters what exhausts its retries, and the partition moves on', async () => {
    const dlqProducer = mem.transport.producer();
    let attempts = 0;
    const { consumer, committed, dlq } = await run(
      ['ok', 'broken', 'after'],
      (m) => {
        if (valueAsString(m) === 'broken') {
          attempts++;
          throw new Error('db down');
        }
      },
      withRetry(fastRetry),
      withDeadLetter({ producer: dlqProducer }),
    );
    await waitFor(async () => (await committed()) === 3, { message: 'all three committed' });
    expect(attempts).toBe(3);
    expect(await dlq()).toBe(1);
    expect(consumer.isRunning()).toBe(true);
    await dlqProducer.close();
  });

  it('recommended: deadLetter outside retry retries first, and dead-letters only what exhausts its retries', async () => {
    const dlqProducer = mem.transport.producer();
    const { handle, attempts } = flakyHandler();
    let brokenAttempts = 0;
    const { committed, dlq } = await run(
      ['ok', 'flaky', 'broken', 'after'],
      (m) => {
        if (valueAsString(m) === 'broken') {
          brokenAttempts++;
          throw new Error('db down');
        }
        handle(m);
      },
      withDeadLetter({ producer: dlqProducer }),
      withRetry(fastRetry),
    );
    await waitFor(async () => (await committed()) === 4, { message: 'all four committed' });
    expect(attempts.get('flaky')).toBe(3); // retried, then processed
    expect(brokenAttempts).toBe(3); // retried, then…
    expect(await dlq()).toBe(1); // …dead-lettered
    expect(attempts.get('after')).toBe(1);
    await dlqProducer.close();
  });
});
