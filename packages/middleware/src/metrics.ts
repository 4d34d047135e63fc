/**
 * Metrics middleware (OpenTelemetry API only): the messaging semantic
 * convention instruments for consumption plus Tributary's record counters
 * (the seeds' processed / failed / dead-lettered / retries).
 */
import { metrics, type Attributes, type Meter, type MeterProvider } from '@opentelemetry/api';
import { ConfigCheck, type HandlerMiddleware } from '@tributary/core';
import { errorType } from './error-type';
import { observeRecord } from './record-events';
import { DURATION_BUCKETS_S, INSTRUMENTATION_SCOPE, MessagingAttr, MessagingMetric, OperationType } from './semconv';

/** Options of withMetrics and withSendMetrics. */
export interface MetricsOptions {
  /** Where the meter comes from. Default the global provider (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider;
  /** `messaging.system`: pass `transport.system`. Default `kafka`. */
  readonly system?: string;
}

/** Names of Tributary's own consumer counters (unit `{record}`). */
export const ConsumerCounters = Object.freeze({
  /** Records processed successfully (acknowledged; duplicates and dead-letters not included). */
  processed: 'tributary.consumer.processed',
  /** Records that failed: dead-lettered, or failed out of the chain (with `error.type`). */
  failed: 'tributary.consumer.failed',
  /** Records dead-lettered (with `error.type`). */
  deadLettered: 'tributary.consumer.dead_lettered',
  /** Retries of records (one per retried attempt). */
  retries: 'tributary.consumer.retries',
  /** Records skipped as duplicates. */
  duplicates: 'tributary.consumer.duplicates',
} as const);

/** Validates metrics options and picks the meter. */
export function resolveMetrics(component: string, options: MetricsOptions): { meter: Meter; system: string } {
  const check = new ConfigCheck(component);
  const mp = options.meterProvider as Partial<MeterProvider> | undefined;
  check.check(mp === undefined || typeof mp?.getMeter === 'function', 'meterProvider', 'must be a MeterProvider');
  if (options.system !== undefined) check.nonEmptyString(options.system, 'system');
  check.throwIfInvalid();
  return { meter: (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE), system: options.system ?? 'kafka' };
}

/**
 * Measures each record.
 *
 * | instrument | kind | unit | when |
 * |---|---|---|---|
 * | `messaging.client.consumed.messages` | counter | `{message}` | a record reaches the middleware |
 * | `messaging.process.duration` | histogram | `s` | a record's handling ends (with `error.type` on failure) |
 * | `tributary.consumer.processed` | counter | `{record}` | handled successfully |
 * | `tributary.consumer.failed` | counter | `{record}` | dead-lettered or failed (with `error.type`) |
 * | `tributary.consumer.dead_lettered` | counter | `{record}` | dead-lettered (with `error.type`) |
 * | `tributary.consumer.retries` | counter | `{retry}` | withRetry inside retries |
 * | `tributary.consumer.duplicates` | counter | `{record}` | withDedup inside skips |
 *
 * Attributes: `messaging.system`, `messaging.destination.name`,
 * `messaging.destination.partition.id`, `messaging.consumer.group.name`,
 * `messaging.operation.name` = `process` — never keys or offsets, which
 * would make every record its own time series.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withMetrics(options: MetricsOptions = {}): HandlerMiddleware {
  const { meter, system } = resolveMetrics('withMetrics', options);
  const consumed = meter.createCounter(MessagingMetric.consumedMessages, { unit: '{message}', description: 'Messages delivered to the application.' });
  const duration = meter.createHistogram(MessagingMetric.processDuration, {
    unit: 's',
    description: 'Duration of processing a message, retries and dead-lettering included.',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
  });
  const processed = meter.createCounter(ConsumerCounters.processed, { unit: '{record}', description: 'Records processed successfully.' });
  const failed = meter.createCounter(ConsumerCounters.failed, { unit: '{record}', description: 'Records that failed (dead-lettered or failed out).' });
  const deadLettered = meter.createCounter(ConsumerCounters.deadLettered, { unit: '{record}', description: 'Records published to a dead-letter topic.' });
  const retries = meter.createCounter(ConsumerCounters.retries, { unit: '{retry}', description: 'Retried attempts.' });
  const duplicates = meter.createCounter(ConsumerCounters.duplicates, { unit: '{record}', description: 'Records skipped as already processed.' });

  return (next) => async (message, ctx) => {
    const attributes: Attributes = {
      [MessagingAttr.system]: system,
      [MessagingAttr.destinationName]: message.topic,
      [MessagingAttr.partitionId]: String(message.partition),
      [MessagingAttr.operationName]: OperationType.process,
    };
    if (ctx.groupId !== undefined) attributes[MessagingAttr.consumerGroup] = ctx.groupId;
    consumed.add(1, attributes);
    const started = performance.now();
    let deadLetterError: unknown;
    let deadLetteredHere = false;
    let duplicate = false;
    const inner = observeRecord(ctx, (event) => {
      if (event.type === 'retry') retries.add(1, attributes);
      else if (event.type === 'duplicate') duplicate = true;
      else {
        deadLetteredHere = true;
        deadLetterError = event.error;
      }
    });
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      await next(message, inner);
    } catch (err) {
      const withError = { ...attributes, [MessagingAttr.errorType]: errorType(err) };
      duration.record(seconds(), withError);
      failed.add(1, withError);
      throw err;
    }
    if (deadLetteredHere) {
      const withError = { ...attributes, [MessagingAttr.errorType]: errorType(deadLetterError) };
      duration.record(seconds(), withError);
      failed.add(1, withError);
      deadLettered.add(1, withError);
    } else {
      duration.record(seconds(), attributes);
      if (duplicate) duplicates.add(1, attributes);
      else processed.add(1, attributes);
    }
  };
}
