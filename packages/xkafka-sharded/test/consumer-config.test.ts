import { Backoff, ConfigError, DEFAULT_BACKOFF, silentLogger } from '@tributary/core';
import { MockProducer } from '@tributary/testutil';
import {
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_RECONNECT,
  DEFAULT_SHARD_COUNT,
  DEFAULT_SHARD_QUEUE_SIZE,
  validateGroupConsumerConfig,
  validatePartitionConsumerConfig,
} from '../src/consumer-config';
import { defaultKeyExtractor } from '../src/key-extractor';
import { MemoryOffsetStore } from '../src/offset-store';
import { buildMessage } from '@tributary/testutil';

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.field);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('validateGroupConsumerConfig', () => {
  it('applies the defaults and freezes the result', () => {
    const c = validateGroupConsumerConfig({ groupId: 'g', topics: ['a'] });
    expect(c).toMatchObject({
      groupId: 'g',
      topics: ['a'],
      shardCount: DEFAULT_SHARD_COUNT,
      shardQueueSize: DEFAULT_SHARD_QUEUE_SIZE,
      routing: 'balanced',
      keyExtractor: defaultKeyExtractor,
      globalHandlers: [],
      logger: silentLogger,
      loggingHandler: true,
      exhaustedPolicy: 'block',
      dlqTopic: undefined,
      parkKey: false,
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
      commitIntervalMs: DEFAULT_COMMIT_INTERVAL_MS,
      fromBeginning: true,
    });
    expect(DEFAULT_SHARD_COUNT).toBe(32);
    expect(DEFAULT_SHARD_QUEUE_SIZE).toBe(1024);
    expect(c.retry).toBeInstanceOf(Backoff);
    expect(c.retry.options).toEqual(DEFAULT_BACKOFF);
    expect(c.topicHandlers.size).toBe(0);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every invalid field at once', () => {
    const fields = problems(() =>
      validateGroupConsumerConfig({
        groupId: '',
        topics: [],
        shardCount: 0,
        shardQueueSize: 1.5,
        routing: 'random' as never,
        keyExtractor: 'key' as never,
        globalHandlers: ['x' as never],
        logger: {} as never,
        loggingHandler: 'yes' as never,
        retry: { initialMs: -1, multiplier: 0.5, maxAttempts: 0 },
        exhaustedPolicy: 'skip' as never,
        dlq: { topic: 42 as never, producer: {} as never },
        failureHook: 1 as never,
        parkKey: 1 as never,
        drainTimeoutMs: -5,
        commitIntervalMs: 'soon' as never,
        maxBatchRecords: 0,
        clientId: '',
        onError: 'x' as never,
        sleep: 'later' as never,
        fromBeginning: 'no' as never,
        rebalanceTimeoutMs: -1,
      }),
    );
    expect(fields.sort()).toEqual(
      [
        'groupId',
        'topics',
        'shardCount',
        'shardQueueSize',
        'routing',
        'keyExtractor',
        'globalHandlers[0]',
        'logger',
        'loggingHandler',
        'retry.initialMs',
        'retry.multiplier',
        'retry.maxAttempts',
        'exhaustedPolicy',
        'dlq.topic',
        'dlq.producer',
        'failureHook',
        'parkKey',
        'drainTimeoutMs',
        'commitIntervalMs',
        'maxBatchRecords',
        'clientId',
        'onError',
        'sleep',
        'fromBeginning',
        'rebalanceTimeoutMs',
      ].sort(),
    );
  });

  it('checks per-topic middleware against the subscribed topics', () => {
    expect(problems(() => validateGroupConsumerConfig({ groupId: 'g', topics: ['a'], topicHandlers: { b: { handlers: [] } } }))).toEqual([
      'topicHandlers.b',
    ]);
  });

  it('dlq-commit without dlq sends to <topic>.dlq; a dlq topic may be a string or a function', () => {
    const byDefault = validateGroupConsumerConfig({ groupId: 'g', topics: ['a'], exhaustedPolicy: 'dlq-commit' });
    expect(byDefault.dlqTopic?.(buildMessage({ topic: 'orders' }))).toBe('orders.dlq');
    const producer = new MockProducer();
    const named = validateGroupConsumerConfig({ groupId: 'g', topics: ['a'], exhaustedPolicy: 'dlq-commit', dlq: { topic: 'dead', producer } });
    expect(named.dlqTopic?.(buildMessage())).toBe('dead');
    expect(named.dlqProducer).toBe(producer);
    const fn = validateGroupConsumerConfig({ groupId: 'g', topics: ['a'], dlq: { topic: (m) => `${m.topic}-x` } });
    expect(fn.dlqTopic?.(buildMessage({ topic: 'o' }))).toBe('o-x');
  });

  it('allows infinite retries and keeps given retry fields over the defaults', () => {
    const c = validateGroupConsumerConfig({ groupId: 'g', topics: ['a'], retry: { maxAttempts: Infinity, initialMs: 5, maxMs: undefined } });
    expect(c.retry.options).toEqual({ ...DEFAULT_BACKOFF, maxAttempts: Infinity, initialMs: 5 });
    expect(c.retry.canRetry(1_000_000)).toBe(true);
  });

  it('rejects a config that is not an object', () => {
    expect(problems(() => validateGroupConsumerConfig(null as never))).toEqual(['config']);
  });
});

describe('validatePartitionConsumerConfig', () => {
  it('applies the defaults: memory offset store, earliest, reconnect 200 ms → 5 s ×2', () => {
    const c = validatePartitionConsumerConfig({ topic: 't', partition: 0 });
    expect(c.offsetStore).toBeInstanceOf(MemoryOffsetStore);
    expect(c.initialOffset).toBe('earliest');
    expect(c.reconnect.options).toEqual(DEFAULT_RECONNECT);
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => c.reconnect.delayFor(n))).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('reports every invalid field at once', () => {
    const fields = problems(() =>
      validatePartitionConsumerConfig({
        topic: '',
        partition: -1,
        offsetStore: {} as never,
        initialOffset: 'middle' as never,
        reconnect: { initialMs: 10, maxMs: 5 },
        shardCount: 0,
      }),
    );
    expect(fields.sort()).toEqual(['initialOffset', 'offsetStore', 'partition', 'reconnect.maxMs', 'shardCount', 'topic'].sort());
  });
});
