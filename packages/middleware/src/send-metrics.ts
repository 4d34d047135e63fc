/**
 * Metrics of sends (OpenTelemetry API only): the messaging semantic
 * convention instruments for producing.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ProducerMiddleware, SendResult } from '@tributary/core';
import { errorType } from './error-type';
import { resolveMetrics, type MetricsOptions } from './metrics';
import { DURATION_BUCKETS_S, MessagingAttr, MessagingMetric, OperationType } from './semconv';

/**
 * Measures sends (a ProducerMiddleware: `wrapProducer(producer, withSendMetrics())`).
 *
 * | instrument | kind | unit | when |
 * |---|---|---|---|
 * | `messaging.client.sent.messages` | counter | `{message}` | per record once its result is in (with `error.type` when it failed) |
 * | `messaging.client.operation.duration` | histogram | `s` | per send call and topic (with `error.type` when a record or the call failed) |
 *
 * Attributes: `messaging.system`, `messaging.destination.name`,
 * `messaging.operation.name` = `send` (and `messaging.operation.type` =
 * `send` on the duration) — plus `messaging.destination.partition.id` on
 * acknowledged records.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withSendMetrics(options: MetricsOptions = {}): ProducerMiddleware {
  const { meter, system } = resolveMetrics('withSendMetrics', options);
  const sent = meter.createCounter(MessagingMetric.sentMessages, { unit: '{message}', description: 'Messages a producer attempted to send.' });
  const duration = meter.createHistogram(MessagingMetric.operationDuration, {
    unit: 's',
    description: 'Duration of send operations.',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
  });
  const base = (topic: string): Attributes => ({
    [MessagingAttr.system]: system,
    [MessagingAttr.destinationName]: topic,
    [MessagingAttr.operationName]: OperationType.send,
  });

  return (next) => async (records) => {
    const started = performance.now();
    const topics = [...new Set(records.map((r) => r.topic))];
    let results: SendResult[];
    try {
      results = await next(records);
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      const type = errorType(err);
      for (const r of records) sent.add(1, { ...base(r.topic), [MessagingAttr.errorType]: type });
      for (const topic of topics) duration.record(seconds, { ...base(topic), [MessagingAttr.operationType]: OperationType.send, [MessagingAttr.errorType]: type });
      throw err;
    }
    const seconds = (performance.now() - started) / 1000;
    const firstError = new Map<string, string>();
    results.forEach((r, i) => {
      const topic = records[i]?.topic ?? r.topic;
      if (r.ok) {
        sent.add(1, { ...base(topic), [MessagingAttr.partitionId]: String(r.partition) });
      } else {
        const type = errorType(r.error);
        if (!firstError.has(topic)) firstError.set(topic, type);
        sent.add(1, { ...base(topic), [MessagingAttr.errorType]: type });
      }
    });
    for (const topic of topics) {
      const type = firstError.get(topic);
      duration.record(seconds, {
        ...base(topic),
        [MessagingAttr.operationType]: OperationType.send,
        ...(type === undefined ? {} : { [MessagingAttr.errorType]: type }),
      });
    }
    return results;
  };
}
