/**
 * OpenTelemetry messaging semantic-convention names used by the tracing and
 * metrics middleware. Spelled out here instead of imported from
 * `@opentelemetry/semantic-conventions` so the package depends on
 * `@opentelemetry/api` only (the messaging names are still "incubating"
 * there). A test checks each string against that package.
 */
export const MessagingAttr = Object.freeze({
  system: 'messaging.system',
  destinationName: 'messaging.destination.name',
  partitionId: 'messaging.destination.partition.id',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
  kafkaKey: 'messaging.kafka.message.key',
  kafkaOffset: 'messaging.kafka.offset',
  kafkaTombstone: 'messaging.kafka.message.tombstone',
  errorType: 'error.type',
} as const);

export const MessagingMetric = Object.freeze({
  sentMessages: 'messaging.client.sent.messages',
  consumedMessages: 'messaging.client.consumed.messages',
  operationDuration: 'messaging.client.operation.duration',
  processDuration: 'messaging.process.duration',
} as const);

/** `messaging.operation.type` values. */
export const OperationType = Object.freeze({ send: 'send', process: 'process' } as const);

/**
 * Histogram buckets (seconds) the messaging conventions advise for
 * `messaging.*.duration`.
 */
export const DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Name of the instrumentation scope of every tracer and meter here. */
export const INSTRUMENTATION_SCOPE = '@tributary/middleware';
