import { Backoff, ConfigError, DEFAULT_BACKOFF, silentLogger } from '@tributary/core';
import { DEFAULT_PRODUCER_DRAIN_TIMEOUT_MS, DEFAULT_PRODUCER_WORKER_COUNT, validateProducerConfig } from '../../src/producer/producer-config';

describe('validateProducerConfig', () => {
  it('applies the defaults: key-sharded dispatch, 32 shards, 4 parallel workers, queues of 1024, stop policy, logging on', () => {
    const c = validateProducerConfig();
    expect(c).toMatchObject({
      mode: 'key-sharded',
      shardCount: 32,
      workerCount: DEFAULT_PRODUCER_WORKER_COUNT,
      queueSize: 1024,
      exhaustedPolicy: 'stop',
      loggingHandler: true,
      logger: silentLogger,
      globalHandlers: [],
      drainTimeoutMs: DEFAULT_PRODUCER_DRAIN_TIMEOUT_MS,
      defaultTopic: undefined,
      producer: undefined,
    });
    expect(DEFAULT_PRODUCER_WORKER_COUNT).toBe(4);
    expect(c.retry).toBeInstanceOf(Backoff);
    expect(c.retry.options).toEqual(DEFAULT_BACKOFF);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every invalid field at once', () => {
    let err: unknown;
    try {
      validateProducerConfig({
        producer: {} as never,
        clientId: '',
        defaultTopic: '',
        dispatch: { mode: 'random' as never, shardCount: 0, workerCount: -1, queueSize: 0 },
        globalHandlers: [1 as never],
        topicHandlers: { t: { mode: 'x' as never, handlers: [] } },
        logger: 'console' as never,
        loggingHandler: 0 as never,
        retry: { multiplier: 0 },
        exhaustedPolicy: 'ignore' as never,
        failureHook: {} as never,
        drainTimeoutMs: -1,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field).sort()).toEqual(
      [
        'producer',
        'clientId',
        'defaultTopic',
        'dispatch.mode',
        'dispatch.shardCount',
        'dispatch.workerCount',
        'dispatch.queueSize',
        'globalHandlers[0]',
        'topicHandlers.t.mode',
        'logger',
        'loggingHandler',
        'retry.multiplier',
        'exhaustedPolicy',
        'failureHook',
        'drainTimeoutMs',
      ].sort(),
    );
  });
});
