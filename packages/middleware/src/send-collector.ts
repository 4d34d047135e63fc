/**
 * Metrics of sends through a pluggable collector (core's
 * `MetricsCollector`): the producing half of `withCollector`.
 */
import {
  ConfigCheck,
  silentLogger,
  type Logger,
  type MetricsCollector,
  type ProducerMiddleware,
  type PublishObservation,
  type SendResult,
} from '@tributary/core';
import { callCollector, checkCollector } from './collector';

export interface SendCollectorOptions {
  /** Where a failing collector is reported (warn). Default silent. */
  readonly logger?: Logger;
}

/**
 * Tells `collector.recordPublish` the outcome of each record sent (a
 * ProducerMiddleware: `wrapProducer(producer, withSendCollector(collector))`):
 * exactly one call per record, in input order, once the send call has
 * settled. A call can partly fail — each record reports its own
 * SendResult: `ok` with the partition it was written to, or its own error.
 * A rejected call reports every record failed with the rejection, which is
 * then rethrown unchanged. Every record of one call reports that call's
 * duration. Results pass through unchanged.
 *
 * The collector's exceptions never reach the caller of `send`: they are
 * logged at warn on `logger` and dropped.
 *
 * @throws ConfigError (ERR_CONFIG) when `collector` is not a MetricsCollector (naming each missing method) or `logger` is not a Logger.
 */
export function withSendCollector(collector: MetricsCollector, options: SendCollectorOptions = {}): ProducerMiddleware {
  const check = new ConfigCheck('withSendCollector');
  checkCollector(check, collector);
  const o = (options ?? {}) as Partial<SendCollectorOptions>;
  const l = o.logger as Partial<Logger> | null | undefined;
  check.check(l === undefined || (typeof l === 'object' && l !== null && typeof l.warn === 'function'), 'logger', 'must be a Logger (pino fits)');
  check.throwIfInvalid();
  const logger = o.logger ?? silentLogger;

  const report = (observation: PublishObservation): void =>
    callCollector(() => collector.recordPublish(observation), logger, { method: 'recordPublish', topic: observation.topic });

  return (next) => async (records) => {
    const started = performance.now();
    let results: SendResult[];
    try {
      results = await next(records);
    } catch (err) {
      const durationMs = performance.now() - started;
      for (const r of records) report({ topic: r.topic, partition: undefined, durationMs, ok: false, error: err });
      throw err;
    }
    const durationMs = performance.now() - started;
    results.forEach((r, i) => {
      // The caller's topic, as withSendMetrics reports it, so the two agree.
      const topic = records[i]?.topic ?? r.topic;
      if (r.ok) report({ topic, partition: r.partition, durationMs, ok: true, error: undefined });
      else report({ topic, partition: undefined, durationMs, ok: false, error: r.error });
    });
    return results;
  };
}
