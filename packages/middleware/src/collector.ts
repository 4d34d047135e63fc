/**
 * Metrics through a pluggable collector: core's `MetricsCollector`, for
 * applications that count with Prometheus, StatsD or their own code instead
 * of an OpenTelemetry SDK. The consuming half; `withSendCollector` is the
 * producing one.
 */
import {
  ConfigCheck,
  errorMessage,
  type ConsumeObservation,
  type ConsumeOutcome,
  type HandlerMiddleware,
  type Logger,
  type MetricsCollector,
} from '@tributary/core';
import { observeRecord } from './record-events';

/**
 * Records one problem per missing method (`<field>.recordConsume`, …), so a
 * collector with a misspelt method fails at construction, not on the first
 * record. Both methods are required by both middlewares: the contract is one
 * interface, and a collector passed to one is usually passed to the other.
 */
export function checkCollector(check: ConfigCheck, collector: unknown, field = 'collector'): void {
  if ((typeof collector !== 'object' && typeof collector !== 'function') || collector === null) {
    check.problem(field, 'must be a MetricsCollector (recordConsume, recordPublish)');
    return;
  }
  const c = collector as Partial<Record<keyof MetricsCollector, unknown>>;
  check.fn(c.recordConsume, `${field}.recordConsume`, false).fn(c.recordPublish, `${field}.recordPublish`, false);
}

/**
 * Runs `call` (a collector method) so that nothing it does reaches the
 * caller: a throw, or the rejection of a promise it returns, is logged at
 * warn with `fields` and dropped. Metrics are observability; losing a
 * sample is better than failing, retrying or dead-lettering a record.
 */
export function callCollector(call: () => unknown, logger: Logger, fields: Record<string, unknown>): void {
  const fail = (err: unknown): void => {
    try {
      logger.warn({ ...fields, err }, `metrics collector failed: ${errorMessage(err)}`);
    } catch {
      // A logger that throws too has nowhere left to report to.
    }
  };
  try {
    const returned = call();
    if (isThenable(returned)) returned.then(undefined, fail);
  } catch (err) {
    fail(err);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Tells `collector.recordConsume` the outcome of each record: exactly one
 * call per record that reaches the middleware, after the chain inside has
 * settled it and before the outcome goes on (a failure is rethrown
 * unchanged). See {@link ConsumeObservation} for the fields: topic,
 * partition, consumer group, duration in ms, outcome, error, retries.
 *
 * Place it where `withMetrics` goes (outside withDeadLetter, withDedup and
 * withRetry): from there the duration covers retries, and dead-letters,
 * duplicates and retries further in are reported as record events. Inside
 * withRetry it would instead be called once per attempt.
 *
 * The collector's exceptions never reach the record: they are logged at
 * warn on `ctx.logger` and dropped.
 *
 * @throws ConfigError (ERR_CONFIG) when `collector` is not a MetricsCollector, naming each missing method.
 */
export function withCollector(collector: MetricsCollector): HandlerMiddleware {
  const check = new ConfigCheck('withCollector');
  checkCollector(check, collector);
  check.throwIfInvalid();

  return (next) => async (message, ctx) => {
    const started = performance.now();
    let retries = 0;
    let deadLettered = false;
    let deadLetterError: unknown;
    let duplicate = false;
    const inner = observeRecord(ctx, (event) => {
      if (event.type === 'retry') retries++;
      else if (event.type === 'duplicate') duplicate = true;
      else {
        deadLettered = true;
        deadLetterError = event.error;
      }
    });
    const report = (outcome: ConsumeOutcome, error: unknown): void => {
      const observation: ConsumeObservation = {
        topic: message.topic,
        partition: message.partition,
        groupId: ctx.groupId,
        durationMs: performance.now() - started,
        outcome,
        error,
        retries,
      };
      callCollector(() => collector.recordConsume(observation), ctx.logger, {
        method: 'recordConsume',
        topic: message.topic,
        partition: message.partition,
      });
    };
    try {
      await next(message, inner);
    } catch (err) {
      report('failed', err);
      throw err;
    }
    if (deadLettered) report('dead-lettered', deadLetterError);
    else report(duplicate ? 'duplicate' : 'processed', undefined);
  };
}
