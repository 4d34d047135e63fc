// @tributary/xkafka-sharded — public API. Named exports only (`export type` for types).

// consumers
export { ShardedGroupConsumer, createShardedGroupConsumer } from './group-consumer';
export { ShardedPartitionConsumer, createShardedPartitionConsumer } from './partition-consumer';
export type { ShardedConsumer, ShardedConsumerStats, CloseOptions } from './sharded-consumer';
export type {
  ShardedConsumerOptions,
  GroupConsumerConfig,
  PartitionConsumerConfig,
  ResolvedShardedOptions,
  ResolvedGroupConsumerConfig,
  ResolvedPartitionConsumerConfig,
  DlqConfig,
  SleepFn,
} from './consumer-config';
export {
  validateGroupConsumerConfig,
  validatePartitionConsumerConfig,
  DEFAULT_SHARD_COUNT,
  DEFAULT_SHARD_QUEUE_SIZE,
  DEFAULT_RETRY,
  DEFAULT_RECONNECT,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_COMMIT_INTERVAL_MS,
  INFINITE_RETRIES,
} from './consumer-config';
export type { ExhaustedPolicy, FailureStage, FailureEvent, FailureHook } from './failure';
export type { KeyExtractor } from './key-extractor';
export { defaultKeyExtractor } from './key-extractor';
export type { ShardRouting } from './shard-router';
export { hashKey } from './shard-router';
export type { ChainMode, TopicHandlers, ResolvedTopicHandlers } from './handler-chain';
export { loggingHandler } from './logging-handler';
export type { OffsetStore } from './offset-store';
export { MemoryOffsetStore, FileOffsetStore } from './offset-store';

// producer
export { DispatchingProducer, createDispatchingProducer } from './producer/producer';
export type { ProduceRecord, ProduceOptions, BatchItemResult } from './producer/producer';
export { ProduceFuture } from './producer/produce-future';
export { ProducerDroppedError, ProduceBatchError } from './producer/produce-errors';
export type {
  DispatchingProducerConfig,
  ResolvedProducerConfig,
  ProducerDispatchConfig,
  ProducerDispatchMode,
  ProducerExhaustedPolicy,
  ProducerFailureStage,
  ProducerFailureEvent,
  ProducerFailureHook,
} from './producer/producer-config';
export { validateProducerConfig, DEFAULT_PRODUCER_WORKER_COUNT, DEFAULT_PRODUCER_DRAIN_TIMEOUT_MS } from './producer/producer-config';
export type { ProduceResult } from './producer/produce-result';
export { producerLoggingHandler } from './producer/producer-logging';
