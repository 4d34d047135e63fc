/**
 * Tracing of sends: a PRODUCER `send <topic>` span per send call and topic,
 * whose context is injected into every record's headers so the consumer's
 * `process` span continues the trace.
 */
import { SpanKind, context as otelContext, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ProducerMiddleware, ProducerRecord, SendResult } from '@tributary/core';
import { MessagingAttr, OperationType } from './semconv';
import { recordFailure } from './span-attributes';
import { injectTraceContext } from './trace-context';
import { resolveTracing, type TracingOptions } from './tracing';

/**
 * Traces sends (a ProducerMiddleware: `wrapProducer(producer, withSendTracing())`).
 *
 * - One span `send <topic>`, kind PRODUCER, per topic of a send call (a
 *   batch to one topic is one span with `messaging.batch.message_count`),
 *   child of the active context — inside withTracing, of the `process` span.
 * - Attributes: `messaging.system`, `messaging.destination.name`,
 *   `messaging.operation.type` / `.name` = `send`; for a single record also
 *   `messaging.kafka.message.key` and, once acknowledged,
 *   `messaging.destination.partition.id` and `messaging.kafka.offset`.
 * - Each record is passed on with the span's context injected into its
 *   headers (`traceparent`, `tracestate`), replacing any it had.
 * - A record that fails sets status ERROR and `error.type` (first failure);
 *   a rejected call ends every span with its error.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withSendTracing(options: TracingOptions = {}): ProducerMiddleware {
  const { tracer, propagator, system } = resolveTracing('withSendTracing', options);
  return (next) => async (records) => {
    if (records.length === 0) return next(records);
    const base = otelContext.active();
    const byTopic = new Map<string, number[]>();
    records.forEach((r, i) => {
      const list = byTopic.get(r.topic);
      if (list) list.push(i);
      else byTopic.set(r.topic, [i]);
    });
    const spans: { span: Span; indices: number[] }[] = [];
    const traced: ProducerRecord[] = [...records];
    for (const [topic, indices] of byTopic) {
      const attributes: Attributes = {
        [MessagingAttr.system]: system,
        [MessagingAttr.destinationName]: topic,
        [MessagingAttr.operationType]: OperationType.send,
        [MessagingAttr.operationName]: OperationType.send,
      };
      const only = indices.length === 1 ? records[indices[0] as number] : undefined;
      if (only === undefined) attributes[MessagingAttr.batchCount] = indices.length;
      else if (only.key !== undefined && only.key !== null) attributes[MessagingAttr.kafkaKey] = only.key;
      const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes }, base);
      const withSpan = trace.setSpan(base, span);
      for (const i of indices) {
        const r = records[i] as ProducerRecord;
        traced[i] = { ...r, headers: injectTraceContext(r.headers, withSpan, propagator) };
      }
      spans.push({ span, indices });
    }
    let results: SendResult[];
    try {
      // With one span, the transport's own work (if instrumented) nests under it.
      const only = spans.length === 1 ? spans[0] : undefined;
      results = await (only ? otelContext.with(trace.setSpan(base, only.span), () => next(traced)) : next(traced));
    } catch (err) {
      for (const { span } of spans) {
        recordFailure(span, err);
        span.end();
      }
      throw err;
    }
    for (const { span, indices } of spans) {
      const failed = indices.map((i) => results[i]).find((r) => r !== undefined && !r.ok);
      if (failed !== undefined && !failed.ok) {
        recordFailure(span, failed.error);
      } else if (indices.length === 1) {
        const r = results[indices[0] as number];
        if (r?.ok) {
          span.setAttribute(MessagingAttr.partitionId, String(r.partition));
          span.setAttribute(MessagingAttr.kafkaOffset, r.offset);
        }
      }
      span.end();
    }
    return results;
  };
}
