// @tributary/core — public API. Named exports only (`export type` for types).

// messages
export type { Headers, Message, ProducerRecord, TopicPartition, TopicPartitionOffset } from './message';
export { toBytes, valueAsString, recordSize, partitionKey } from './message';

// errors
export type { ErrorCode, RecordContext, TributaryErrorOptions, ConfigProblem, ErrorClassifier } from './errors';
export {
  ErrorCodes,
  TributaryError,
  isTributaryError,
  ConfigError,
  RetriesExhaustedError,
  UnrecoverableError,
  unrecoverable,
  isUnrecoverableError,
  isPermanentError,
  isProgrammerError,
  isRetryableError,
  isConnectionError,
  CONNECTION_PATTERNS,
  RETRYABLE_PATTERNS,
  defaultErrorClassifier,
  errorMessage,
  causeChain,
} from './errors';

// config
export { ConfigCheck, freezeOptions } from './config';

// logging
export type { Logger, LogFn } from './logger';
export { silentLogger } from './logger';

// transport
export type {
  Transport,
  TransportFeatures,
  ProducerOptions,
  SendResult,
  TransportProducer,
  RecordBatch,
  ConsumerHandlers,
  StartOffset,
  GroupConsumerOptions,
  GroupConsumer,
  PartitionConsumerOptions,
  PartitionConsumer,
  TopicSpec,
  PartitionOffsets,
  Admin,
} from './transport';

// handlers
export type { ConsumerControl, HandlerContext, MessageHandler, HandlerMiddleware, RecordOutcome, BatchHandler } from './handler';
export { ack, retry, deadLetter } from './handler';

// codecs, ids, events, backoff (section: basics)

// consumer runtime (section: runtime)
