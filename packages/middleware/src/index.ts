// @tributary/middleware — public API. Named exports only (`export type` for types).

// handler middleware, in the recommended order (outermost first)
export type { TracingOptions, RecordTracingOptions } from './tracing';
export { withTracing, OUTCOME_ATTRIBUTE, ATTEMPT_ATTRIBUTE } from './tracing';
export type { LogLevel, LoggingLevels, LoggingOptions } from './logging';
export { withLogging, LOGGING_LEVEL_DEFAULTS } from './logging';
export type { MetricsOptions } from './metrics';
export { withMetrics, ConsumerCounters } from './metrics';
export { withCollector } from './collector';
export type { DeadLetterRateGuard, DeadLetterInfo, DeadLetterMiddlewareOptions, DeadLetterTopicMiddlewareOptions, DeadLetterWriterMiddlewareOptions } from './dead-letter';
export { withDeadLetter, DEAD_LETTER_RATE_GUARD_DEFAULTS, DEAD_LETTER_PUBLISH_RETRY_DEFAULTS } from './dead-letter';
export type { DedupStore, DedupOptions } from './dedup';
export { withDedup, eventIdOf } from './dedup';
export type { MemoryDedupStore, MemoryDedupStoreOptions } from './memory-dedup-store';
export { memoryDedupStore, MEMORY_DEDUP_STORE_DEFAULTS } from './memory-dedup-store';
export type { RetryInfo, RetryOptions } from './retry';
export { withRetry } from './retry';
export type { CircuitState, CircuitStateChange, CircuitBreakerOptions, CircuitBreakerMiddleware } from './circuit-breaker';
export { withCircuitBreaker, CIRCUIT_BREAKER_DEFAULTS } from './circuit-breaker';
export type { ThrottleOptions } from './throttle';
export { withThrottle } from './throttle';
export type { TimeoutOptions } from './timeout';
export { withTimeout } from './timeout';

// the order, in code
export type { RecommendedChainOptions } from './recommended-chain';
export { recommendedChain, RECOMMENDED_ORDER } from './recommended-chain';

// batch handlers
export type { BatchMiddleware } from './batch-tracing';
export { withBatchTracing, BATCH_LINK_LIMIT } from './batch-tracing';

// producer middleware (use with core's wrapProducer)
export { withSendTracing } from './send-tracing';
export { withSendMetrics } from './send-metrics';
export type { SendCollectorOptions } from './send-collector';
export { withSendCollector } from './send-collector';
export type { SendLoggingLevels, SendLoggingOptions } from './send-logging';
export { withSendLogging, SEND_LOGGING_LEVEL_DEFAULTS } from './send-logging';

// error labels: `error.type` of the metrics, for collectors' labels too
export { errorType } from './error-type';

// trace context in headers
export type { Propagator } from './trace-context';
export { injectTraceContext, extractTraceContext, headersGetter, headersSetter } from './trace-context';

// record events: how inner middleware tells outer middleware what happened
export type { RecordEvent, RecordObserver } from './record-events';
export { observeRecord, emitRecordEvent } from './record-events';
