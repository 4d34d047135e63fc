/**
 * Tracing for batch handlers: one CONSUMER `process <topic>` span per batch,
 * linked to the context of every record in it (a batch has many producers,
 * so none of them can be the parent).
 */
import { SpanKind, context as otelContext, trace, type Attributes, type Link } from '@opentelemetry/api';
import type { BatchHandler, RecordOutcome } from '@tributary/core';
import { MessagingAttr, OperationType } from './semconv';
import { recordFailure } from './span-attributes';
import { extractTraceContext } from './trace-context';
import { OUTCOME_ATTRIBUTE, resolveTracing, type TracingOptions } from './tracing';

/** Wraps a batch handler with behaviour (the batch twin of HandlerMiddleware). */
export type BatchMiddleware = (next: BatchHandler) => BatchHandler;

/**
 * Traces each batch.
 *
 * - Span `process <topic>`, kind CONSUMER, child of the active context, with
 *   one link per record whose headers carry a valid context.
 * - Attributes: `messaging.system`, `messaging.destination.name`,
 *   `messaging.destination.partition.id`, `messaging.consumer.group.name`,
 *   `messaging.operation.type` / `.name` = `process`,
 *   `messaging.batch.message_count`, and — when the handler returns
 *   per-record outcomes — `tributary.batch.retried` and
 *   `tributary.batch.dead_lettered` counts.
 * - A thrown batch error sets status ERROR, `error.type` and the exception.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withBatchTracing(options: TracingOptions = {}): BatchMiddleware {
  const { tracer, propagator, system } = resolveTracing('withBatchTracing', options);
  return (next) => async (messages, ctx) => {
    const first = messages[0];
    if (first === undefined) return next(messages, ctx);
    const base = otelContext.active();
    const links: Link[] = [];
    for (const m of messages) {
      const carried = trace.getSpanContext(extractTraceContext(m.headers, base, propagator));
      if (carried !== undefined && trace.isSpanContextValid(carried)) links.push({ context: carried });
    }
    const attributes: Attributes = {
      [MessagingAttr.system]: system,
      [MessagingAttr.destinationName]: first.topic,
      [MessagingAttr.partitionId]: String(first.partition),
      [MessagingAttr.operationType]: OperationType.process,
      [MessagingAttr.operationName]: OperationType.process,
      [MessagingAttr.batchCount]: messages.length,
    };
    if (ctx.groupId !== undefined) attributes[MessagingAttr.consumerGroup] = ctx.groupId;
    const span = tracer.startSpan(`process ${first.topic}`, { kind: SpanKind.CONSUMER, attributes, links }, base);
    try {
      const outcomes = await otelContext.with(trace.setSpan(base, span), () => next(messages, ctx));
      if (Array.isArray(outcomes)) {
        const list = outcomes as readonly RecordOutcome[];
        span.setAttribute('tributary.batch.retried', list.filter((o) => o.kind === 'retry').length);
        span.setAttribute('tributary.batch.dead_lettered', list.filter((o) => o.kind === 'dead-letter').length);
      }
      span.setAttribute(OUTCOME_ATTRIBUTE, 'processed');
      return outcomes;
    } catch (err) {
      span.setAttribute(OUTCOME_ATTRIBUTE, 'failed');
      recordFailure(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
}
