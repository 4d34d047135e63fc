/**
 * Tracing for batch handlers: one CONSUMER `process <topic>` span per batch,
 * linked to the creation context of every record in it (a batch has many
 * producers, so none of them can be the parent).
 */
import { SpanKind, context as otelContext, trace, type Attributes, type Link } from '@opentelemetry/api';
import type { BatchHandler, RecordOutcome } from '@tributary/core';
import { MessagingAttr, OperationType } from './semconv';
import { recordFailure } from './span-attributes';
import { extractTraceContext, validSpanContext } from './trace-context';
import { OUTCOME_ATTRIBUTE, resolveTracing, type TracingOptions } from './tracing';

/** Wraps a batch handler with behaviour (the batch twin of HandlerMiddleware). */
export type BatchMiddleware = (next: BatchHandler) => BatchHandler;

/**
 * Most links a batch span carries: the SDK's default span link limit
 * (`OTEL_SPAN_LINK_COUNT_LIMIT`), past which it drops links anyway; a batch
 * of thousands of records then builds no thousands of links for nothing.
 */
export const BATCH_LINK_LIMIT = 128;

/** Records in the batch with a creation context; set only when more than BATCH_LINK_LIMIT had one. */
const BATCH_CREATION_CONTEXTS_ATTRIBUTE = 'tributary.batch.creation_contexts';

/**
 * Traces each batch.
 *
 * - Span `process <topic>`, kind CONSUMER, child of the active context, with
 *   one link per record whose headers carry a valid creation context (the
 *   producer's `send` span), in batch order, at most BATCH_LINK_LIMIT (128);
 *   past that, `tributary.batch.creation_contexts` counts them all.
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
    // Extracted without the active span, so a record without trace context
    // does not link the batch span's own parent.
    const spanless = trace.deleteSpan(base);
    const links: Link[] = [];
    let creationContexts = 0;
    for (const m of messages) {
      const creation = validSpanContext(extractTraceContext(m.headers, spanless, propagator));
      if (creation === undefined) continue;
      creationContexts++;
      if (links.length < BATCH_LINK_LIMIT) links.push({ context: creation });
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
    if (creationContexts > links.length) attributes[BATCH_CREATION_CONTEXTS_ATTRIBUTE] = creationContexts;
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
