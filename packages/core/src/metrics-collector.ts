/**
 * A pluggable sink for messaging metrics (seed 001's `MetricsCollector`):
 * one call per record consumed and per record published, with what a
 * Prometheus or StatsD client needs to label and time it. It lives in core,
 * beside `ErrorClassifier`, because it is a contract: middleware calls it,
 * and users, adapter packages or a transport may implement or call it
 * without taking on the OpenTelemetry peer dependency of
 * `@tributary/middleware`. Types only: nothing here runs.
 */

/**
 * What became of a consumed record (the `tributary.outcome` values of the
 * tracing middleware):
 * - `processed` — the handler succeeded;
 * - `duplicate` — skipped as already processed (withDedup further in);
 * - `dead-lettered` — published to a dead-letter topic and acknowledged
 *   (withDeadLetter further in): the handler failed, the record is settled;
 * - `failed` — the failure went on to the consumer, which retries, stops or
 *   dead-letters it by its own policy.
 */
export type ConsumeOutcome = 'processed' | 'duplicate' | 'dead-lettered' | 'failed';

/** One consumed record, as a {@link MetricsCollector} is told it. */
export interface ConsumeObservation {
  readonly topic: string;
  readonly partition: number;
  /** The consumer group; undefined for partition consumers. */
  readonly groupId: string | undefined;
  /**
   * Milliseconds (fractional, `performance.now()`) from the record reaching
   * the measuring middleware to its outcome: retries, backoff and the
   * dead-letter publish further in are included.
   */
  readonly durationMs: number;
  readonly outcome: ConsumeOutcome;
  /**
   * Undefined for `processed` and `duplicate`; for `dead-lettered`, the
   * failure the record was dead-lettered for; for `failed`, what was thrown.
   * Derive low-cardinality labels from it (`errorType` of
   * `@tributary/middleware` gives a TributaryError's code, else the class
   * name); never label with its message.
   */
  readonly error: unknown;
  /** Attempts that failed and were retried further in (withRetry); 0 without retries. */
  readonly retries: number;
}

/** One published record, as a {@link MetricsCollector} is told it. */
export interface PublishObservation {
  readonly topic: string;
  /** Where the record was written; undefined when it failed. */
  readonly partition: number | undefined;
  /**
   * Milliseconds (fractional, `performance.now()`) of the send call that
   * carried the record: every record of one call reports the same duration.
   */
  readonly durationMs: number;
  /** The record was acknowledged. */
  readonly ok: boolean;
  /** Undefined when `ok`; else the record's own failure (a SendResult's error) or the whole call's rejection. */
  readonly error: unknown;
}

/**
 * Records messaging metrics into whatever backend the application uses
 * (Prometheus, StatsD, …). `withCollector` and `withSendCollector` of
 * `@tributary/middleware` call it.
 *
 * Contract for implementations:
 * - Called once per record, synchronously, on the processing path: keep it
 *   cheap (increment a counter, observe a histogram). A method may return a
 *   promise (a push to a gateway, say); it is not awaited — the record does
 *   not wait for metrics.
 * - May be called concurrently from many partitions and producers.
 * - A throw, or a rejection of a returned promise, is logged and ignored —
 *   it never changes what happens to the record — but it loses that sample.
 *   Callers other than the middleware must keep this promise too.
 * - Label by topic, partition, group, outcome and error class; keys, offsets
 *   and error messages make one time series per record.
 */
export interface MetricsCollector {
  /** Records the outcome of publishing one record. */
  recordPublish(observation: PublishObservation): void | PromiseLike<void>;
  /** Records the outcome of consuming one record. */
  recordConsume(observation: ConsumeObservation): void | PromiseLike<void>;
}
