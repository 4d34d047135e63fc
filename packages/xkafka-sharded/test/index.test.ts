/**
 * The public surface: every runtime export is present, and the public types
 * fit together as documented (checked by the type checker; a mistake here
 * fails `tsc`, not a run).
 */
import type { HandlerMiddleware, Message, ProducerMiddleware, TransportProducer } from '@tributary/core';
import * as api from '../src';
import type {
  BatchItemResult,
  ChainMode,
  ExhaustedPolicy,
  FailureEvent,
  FailureHook,
  GroupConsumerConfig,
  KeyExtractor,
  OffsetStore,
  PartitionConsumerConfig,
  ProduceResult,
  ProducerDispatchMode,
  ProducerExhaustedPolicy,
  ProducerFailureHook,
  ShardRouting,
  ShardedConsumerStats,
} from '../src';

describe('public API', () => {
  it('exports exactly these runtime values', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'DEFAULT_COMMIT_INTERVAL_MS',
        'DEFAULT_DRAIN_TIMEOUT_MS',
        'DEFAULT_PRODUCER_DRAIN_TIMEOUT_MS',
        'DEFAULT_PRODUCER_WORKER_COUNT',
        'DEFAULT_RECONNECT',
        'DEFAULT_RETRY',
        'DEFAULT_SHARD_COUNT',
        'DEFAULT_SHARD_QUEUE_SIZE',
        'DispatchingProducer',
        'FileOffsetStore',
        'INFINITE_RETRIES',
        'MemoryOffsetStore',
        'ProduceBatchError',
        'ProduceFuture',
        'ProducerDroppedError',
        'ShardedGroupConsumer',
        'ShardedPartitionConsumer',
        'createDispatchingProducer',
        'createShardedGroupConsumer',
        'createShardedPartitionConsumer',
        'defaultKeyExtractor',
        'hashKey',
        'loggingHandler',
        'producerLoggingHandler',
        'validateGroupConsumerConfig',
        'validatePartitionConsumerConfig',
        'validateProducerConfig',
      ].sort(),
    );
  });

  it('types compose as documented', () => {
    const middleware: HandlerMiddleware = (next) => next;
    const producerMiddleware: ProducerMiddleware = (next) => next;
    const extractor: KeyExtractor = (m: Message) => m.key ?? 'none';
    const hook: FailureHook = (e: FailureEvent) => {
      const stage: 'retry' | 'exhausted' | 'dlq' | 'stop' = e.stage;
      void stage;
    };
    const producerHook: ProducerFailureHook = (e) => void e.attempt;
    const store: OffsetStore = new api.MemoryOffsetStore();
    const policy: ExhaustedPolicy = 'dlq-commit';
    const mode: ChainMode = 'replace';
    const routing: ShardRouting = 'hash';
    const group: GroupConsumerConfig = {
      groupId: 'g',
      topics: ['t'],
      keyExtractor: extractor,
      globalHandlers: [middleware, api.loggingHandler()],
      topicHandlers: { t: { mode, handlers: [middleware] } },
      failureHook: hook,
      exhaustedPolicy: policy,
      routing,
      retry: { maxAttempts: api.INFINITE_RETRIES },
    };
    const partition: PartitionConsumerConfig = { topic: 't', partition: 0, offsetStore: store, initialOffset: 'latest' };
    const dispatch: ProducerDispatchMode = 'parallel';
    const producerPolicy: ProducerExhaustedPolicy = 'drop';
    const producerConfig: Parameters<typeof api.createDispatchingProducer>[1] = {
      dispatch: { mode: dispatch },
      exhaustedPolicy: producerPolicy,
      failureHook: producerHook,
      globalHandlers: [producerMiddleware],
      topicHandlers: { t: { handlers: [producerMiddleware] } },
      producer: undefined as TransportProducer | undefined,
    };
    const item: BatchItemResult = { index: 0, ok: true, result: { topic: 't', partition: 0, offset: 1 } satisfies ProduceResult };
    const stats: ShardedConsumerStats['pausedPartitions'] = [];
    expect([group, partition, producerConfig, item, stats]).toHaveLength(5);
    expect(api.validateGroupConsumerConfig(group).routing).toBe('hash');
    expect(api.validatePartitionConsumerConfig(partition).initialOffset).toBe('latest');
    expect(api.validateProducerConfig(producerConfig).mode).toBe('parallel');
  });
});
