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
  closedError,
} from './errors';
export type { Closable } from './client-registry';
export { ClientRegistry } from './client-registry';

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

// key partitioning (Kafka's murmur2)
export { murmur2, toPositive, partitionForKey, KeyHasher } from './murmur2';

// codecs, ids, events, backoff (section: basics)
export type { Codec, JsonCodecOptions, StandardSchemaV1 } from './codec';
export { jsonCodec, stringCodec, bytesCodec, validate, validateAsync, isStandardSchema, formatIssue, ValidationError } from './codec';
export type { IdFactory, Uuidv7Options, KsuidParts } from './ids';
export { uuidv4, uuidv7, createUuidv7, uuidv7Timestamp, ksuid, ksuidFromParts, parseKsuid, KSUID_EPOCH_SECONDS } from './ids';
export type { Event, CreateEventInput, EventToRecordOptions } from './event';
export {
  createEvent,
  eventToRecord,
  eventFromMessage,
  isEventMessage,
  parseData,
  parseDataAsync,
  isValidExtensionName,
  EventHeaders,
  CLOUDEVENTS_SPEC_VERSION,
} from './event';
export type { BackoffOptions, BackoffJitter, RetryWithBackoffOptions } from './backoff';
export { Backoff, sleep, retryWithBackoff, abortedError, DEFAULT_BACKOFF, MAX_DELAY_MS } from './backoff';

// consumer runtime (section: runtime)
export type {
  Consumer,
  ConsumerOptions,
  ConsumerMetrics,
  DeadLetterOptions,
  DeadLetterTopicOptions,
  DeadLetterWriterOptions,
  DeadLetterRateLimit,
  StallInfo,
  StopOptions,
} from './runtime/types';
export { createConsumer, CONSUMER_DEFAULTS } from './runtime/consumer';
export { OffsetTracker } from './runtime/offset-tracker';
export type { DeadLetterDetails, DeadLetter, DeadLetterWriter, DeadLetterWriteContext } from './runtime/dead-letter';
export { DeadLetterHeaders, deadLetterRecord, defaultDeadLetterTopic, createDeadLetter } from './runtime/dead-letter';
export type { PartitionLag } from './lag';
export { consumerLag } from './lag';

// composition (section: composition)
export { chainHandlers, composeMiddleware } from './chain';
export type { RoutingKey, RouterOptions, Router } from './router';
export { createRouter, routeByTopic, routeByHeader, routeByEventType } from './router';
export type { SentRecord, BatchRecord, FailedRecord, FlushReport, BatchProducerOptions, BatchProducer } from './batch-producer';
export { createBatchProducer } from './batch-producer';
export type { ValueHandler, BinaryValueHandler, EventMessageHandler, ValueBatchHandler, EventBatchHandler, DecodeOptions } from './adapters';
export { jsonHandler, binaryHandler, eventHandler, jsonBatchHandler, eventBatchHandler } from './adapters';
export type { EventPublisherOptions, EventPublisher, PublishOptions } from './publisher';
export { createEventPublisher } from './publisher';
export type { EventRegistry } from './bus/registry';
export { createEventRegistry } from './bus/registry';
export type { BusEvent, PublisherOptions, Publisher } from './bus/publisher';
export { createPublisher } from './bus/publisher';
export type { ReadTaskArgs, ReadTask } from './bus/read-task';
export type { WorkerDefaults, WorkerMetrics, SubscriberSchedulerOptions, SubscribeResult, SubscriberScheduler } from './bus/scheduler';
export { createSubscriberScheduler } from './bus/scheduler';
export type { BusOptions, Bus } from './bus/bus';
export { createBus } from './bus/bus';

// producer middleware (section: producer-middleware)
export type { SendFn, ProducerMiddleware } from './producer-middleware';
export { chainSend, composeProducerMiddleware, wrapProducer } from './producer-middleware';

// metrics collector contract (section: metrics-collector)
export type { MetricsCollector, ConsumeObservation, ConsumeOutcome, PublishObservation } from './metrics-collector';
