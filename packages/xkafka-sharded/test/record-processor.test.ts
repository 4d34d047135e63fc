import {
  Backoff,
  DeadLetterHeaders,
  RetriesExhaustedError,
  type TributaryError,
  isTributaryError,
  sleep,
  silentLogger,
  unrecoverable,
  type HandlerContext,
  type Message,
  type MessageHandler,
} from '@tributary/core';
import { MockProducer, buildMessage } from '@tributary/testutil';
import type { FailureEvent } from '../src/failure';
import { PartitionProgress } from '../src/partition-progress';
import { RecordProcessor, SUCCEEDED, type RecordProcessorOptions, type ShardEntry } from '../src/record-processor';
import { RecordingLogger } from './support/logger';

interface Setup {
  processor: RecordProcessor;
  events: FailureEvent[];
  delays: number[];
  failures: TributaryError[];
  producer: MockProducer;
  entry: ShardEntry;
  progress: PartitionProgress;
}

function setup(handler: MessageHandler, overrides: Partial<RecordProcessorOptions> = {}, message?: Message): Setup {
  const events: FailureEvent[] = [];
  const delays: number[] = [];
  const failures: TributaryError[] = [];
  const producer = new MockProducer();
  const progress = new PartitionProgress({ topic: 'orders', partition: 1 });
  const m = message ?? buildMessage({ topic: 'orders', partition: 1, offset: 42, key: 'k1', value: 'v' });
  const processor = new RecordProcessor({
    chains: new Map(),
    fallback: handler,
    retry: new Backoff({ initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 'none', maxAttempts: 3 }),
    exhaustedPolicy: 'block',
    dlqTopic: () => 'orders.dlq',
    dlqProducer: producer,
    failureHook: (e) => events.push(e),
    groupId: 'g1',
    logger: silentLogger,
    control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
    sleep: async (ms) => {
      delays.push(ms);
    },
    running: () => true,
    fail: (e) => failures.push(e),
    ...overrides,
  });
  return { processor, events, delays, failures, producer, progress, entry: { message: m, key: m.key ?? '', progress } };
}

/** A handler failing its first `n` calls with `error`, recording each call's context. */
function failingFirst(n: number, error: unknown = new Error('boom')): MessageHandler & { calls: HandlerContext[] } {
  const calls: HandlerContext[] = [];
  const handler = async (_m: Message, ctx: HandlerContext): Promise<void> => {
    calls.push(ctx);
    if (calls.length <= n) throw error;
  };
  return Object.assign(handler, { calls });
}

const stages = (events: FailureEvent[]): string[] => events.map((e) => `${e.stage}@${e.attempt}`);

describe('RecordProcessor', () => {
  it('runs the topic chain with a context carrying the attempt, group and the partition abort signal', async () => {
    const seen: HandlerContext[] = [];
    const fallback = jest.fn();
    const s = setup(fallback, { chains: new Map([['orders', async (_m: Message, ctx: HandlerContext) => void seen.push(ctx)]]) });
    expect(await s.processor.attempt(s.entry, 1)).toBe(SUCCEEDED);
    expect(fallback).not.toHaveBeenCalled();
    expect(seen[0]).toMatchObject({ attempt: 1, groupId: 'g1' });
    expect(seen[0]?.signal).toBe(s.progress.handlerAbort.signal);
  });

  it('retries with the backoff delays and reports each retry to the hook', async () => {
    const handler = failingFirst(2);
    const s = setup(handler);
    expect(await s.processor.handle(s.entry)).toBe('done');
    expect(handler.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(s.delays).toEqual([100, 200]);
    expect(stages(s.events)).toEqual(['retry@1', 'retry@2']);
    expect(s.events[0]).toMatchObject({ topic: 'orders', partition: 1, offset: 42, key: 'k1', shardKey: 'k1', groupId: 'g1', delayMs: 100 });
    expect(s.processor.counters).toEqual({ failedAttempts: 2, retries: 2, deadLettered: 0 });
  });

  it('dlq-commit: publishes the record with its reason once retries are exhausted, then reports it done', async () => {
    const s = setup(failingFirst(Infinity), { exhaustedPolicy: 'dlq-commit' });
    expect(await s.processor.handle(s.entry)).toBe('dead-lettered');
    expect(stages(s.events)).toEqual(['retry@1', 'retry@2', 'exhausted@3', 'dlq@3']);
    expect(s.events[3]?.deadLetterTopic).toBe('orders.dlq');
    expect(s.producer.records).toHaveLength(1);
    const record = s.producer.records[0];
    expect(record).toMatchObject({ topic: 'orders.dlq', key: 'k1' });
    expect(record?.headers).toMatchObject({
      [DeadLetterHeaders.reason]: 'gave up after 3 attempts: boom',
      [DeadLetterHeaders.errorCode]: 'ERR_RETRIES_EXHAUSTED',
      [DeadLetterHeaders.topic]: 'orders',
      [DeadLetterHeaders.partition]: '1',
      [DeadLetterHeaders.offset]: '42',
      [DeadLetterHeaders.attempts]: '3',
      [DeadLetterHeaders.groupId]: 'g1',
    });
    expect(s.processor.counters.deadLettered).toBe(1);
    expect(s.failures).toEqual([]);
  });

  it('a permanent error skips the retries: dead-lettered at once with the error itself as reason', async () => {
    const s = setup(failingFirst(Infinity, new TypeError('bad payload')), { exhaustedPolicy: 'dlq-commit' });
    expect(await s.processor.handle(s.entry)).toBe('dead-lettered');
    expect(stages(s.events)).toEqual(['exhausted@1', 'dlq@1']);
    expect(s.delays).toEqual([]);
    expect(s.producer.records[0]?.headers?.[DeadLetterHeaders.reason]).toBe('bad payload');
    expect(s.producer.records[0]?.headers?.[DeadLetterHeaders.errorCode]).toBe('TypeError');
  });

  it('stop: stops the consumer with ERR_STOPPED whose cause is the exhausted error', async () => {
    const boom = new Error('boom');
    const s = setup(failingFirst(Infinity, boom), { exhaustedPolicy: 'stop' });
    expect(await s.processor.handle(s.entry)).toBe('stopped');
    expect(stages(s.events)).toEqual(['retry@1', 'retry@2', 'exhausted@3', 'stop@3']);
    expect(s.failures).toHaveLength(1);
    const stop = s.failures[0] as TributaryError;
    expect(stop.code).toBe('ERR_STOPPED');
    expect(stop.context).toMatchObject({ topic: 'orders', partition: 1, offset: 42 });
    expect(stop.cause).toBeInstanceOf(RetriesExhaustedError);
    expect((stop.cause as Error).cause).toBe(boom);
    expect(s.events[3]?.error).toBe(stop);
    expect(s.producer.records).toHaveLength(0);
  });

  it('block: reports exhaustion once and keeps retrying (delays capped) until the record succeeds', async () => {
    const handler = failingFirst(6);
    const s = setup(handler, { exhaustedPolicy: 'block', retry: new Backoff({ initialMs: 100, maxMs: 300, jitter: 'none', maxAttempts: 2 }) });
    expect(await s.processor.handle(s.entry)).toBe('done');
    expect(stages(s.events)).toEqual(['retry@1', 'exhausted@2', 'retry@2', 'retry@3', 'retry@4', 'retry@5', 'retry@6']);
    expect(s.delays).toEqual([100, 200, 300, 300, 300, 300]);
    expect(handler.calls).toHaveLength(7);
    expect(s.failures).toEqual([]);
  });

  it('a failed dead-letter publish stops the consumer with ERR_DEAD_LETTER (the record is not done)', async () => {
    const s = setup(failingFirst(Infinity), { exhaustedPolicy: 'dlq-commit', retry: new Backoff({ maxAttempts: 1 }) });
    s.producer.failNext(1, 'ERR_UNKNOWN_TOPIC');
    expect(await s.processor.handle(s.entry)).toBe('stopped');
    expect(stages(s.events)).toEqual(['exhausted@1', 'stop@1']);
    expect(s.failures[0]?.code).toBe('ERR_DEAD_LETTER');
    expect(s.processor.counters.deadLettered).toBe(0);
  });

  it('gives up (abandoned) as soon as its partition is revoked during a retry wait', async () => {
    const s = setup(failingFirst(Infinity), { sleep, retry: new Backoff({ initialMs: 60_000, maxMs: 60_000, jitter: 'none', maxAttempts: Infinity }) });
    const outcome = s.processor.handle(s.entry);
    await new Promise((resolve) => setImmediate(resolve));
    const started = Date.now();
    s.progress.revoke();
    expect(await outcome).toBe('abandoned');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('does not start attempts while the consumer is not running', async () => {
    const handler = failingFirst(0);
    const s = setup(handler, { running: () => false });
    expect(await s.processor.handle(s.entry)).toBe('abandoned');
    expect(handler.calls).toHaveLength(0);
  });

  it('a record whose key could not be extracted fails permanently without calling the handler', async () => {
    const handler = failingFirst(0);
    const s = setup(handler, { exhaustedPolicy: 'dlq-commit' });
    const keyError = unrecoverable(new Error('no key'));
    expect(await s.processor.handle({ ...s.entry, keyError })).toBe('dead-lettered');
    expect(handler.calls).toHaveLength(0);
    expect(s.producer.records[0]?.headers?.[DeadLetterHeaders.reason]).toBe('unrecoverable: no key');
  });

  it('a failure hook that throws is logged and does not disturb processing', async () => {
    const logger = new RecordingLogger();
    const s = setup(failingFirst(1), {
      logger,
      failureHook: () => {
        throw new Error('hook bug');
      },
    });
    expect(await s.processor.handle(s.entry)).toBe('done');
    expect(logger.messages('error')).toEqual(['failure hook threw: hook bug']);
  });

  it('never rejects: a handler throwing a non-Error is a failure like any other', async () => {
    const s = setup(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'plain string';
    }, { exhaustedPolicy: 'stop', retry: new Backoff({ maxAttempts: 1 }) });
    expect(await s.processor.handle(s.entry)).toBe('stopped');
    expect(isTributaryError(s.failures[0]) && s.failures[0].message).toContain('plain string');
  });
});
