/**
 * Tracing middleware (OpenTelemetry API only — which SDK, exporter and
 * sampler record the spans stays the application's choice): a CONSUMER
 * `process <topic>` span per record, following the messaging semantic
 * conventions, continuing the trace the producer injected into the headers.
 */
import { SpanKind, context as otelContext, trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { ConfigCheck, errorMessage, type HandlerMiddleware } from '@tributary/core';
import { observeRecord, type RecordEvent } from './record-events';
import { MessagingAttr, INSTRUMENTATION_SCOPE } from './semconv';
import { processAttributes, recordFailure } from './span-attributes';
import { errorType } from './error-type';
import { extractTraceContext, type Propagator } from './trace-context';

/** Options of withTracing, withBatchTracing and withSendTracing. */
export interface TracingOptions {
  /** Where tracers come from. Default the global provider (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider;
  /** Injects and extracts trace context. Default the global propagator (`propagation`). */
  readonly propagator?: Propagator;
  /** `messaging.system`: pass `transport.system`. Default `kafka`. */
  readonly system?: string;
}

/** `tributary.outcome` of a process span: what became of the record. */
export const OUTCOME_ATTRIBUTE = 'tributary.outcome';

export interface ResolvedTracing {
  readonly tracer: Tracer;
  readonly propagator: Propagator | undefined;
  readonly system: string;
}

/** Validates tracing options and picks the tracer. */
export function resolveTracing(component: string, options: TracingOptions): ResolvedTracing {
  const check = new ConfigCheck(component);
  const tp = options.tracerProvider as Partial<TracerProvider> | undefined;
  check.check(tp === undefined || typeof tp?.getTracer === 'function', 'tracerProvider', 'must be a TracerProvider');
  const p = options.propagator as Partial<Propagator> | undefined;
  check.check(p === undefined || (typeof p?.inject === 'function' && typeof p.extract === 'function'), 'propagator', 'must be a TextMapPropagator');
  if (options.system !== undefined) check.nonEmptyString(options.system, 'system');
  check.throwIfInvalid();
  return Object.freeze({
    tracer: (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE),
    propagator: options.propagator,
    system: options.system ?? 'kafka',
  });
}

/**
 * Traces each record.
 *
 * - Span `process <topic>`, kind CONSUMER, whose parent is the context the
 *   record's headers carry (a producer's `send` span), else the active one.
 * - Attributes: `messaging.system`, `messaging.destination.name`,
 *   `messaging.destination.partition.id`, `messaging.kafka.offset`,
 *   `messaging.kafka.message.key` (when keyed), `messaging.consumer.group.name`,
 *   `messaging.operation.type` / `.name` = `process`, `messaging.message.id`
 *   (the `ce_id` header, when present) and `tributary.outcome`
 *   (`processed`, `dead-lettered`, `duplicate` or `failed`).
 * - The chain inside runs with the span active, so logs (withLogging binds
 *   `trace_id`), dead-letter sends (withSendTracing) and the handler's own
 *   spans nest under it.
 * - Retries and dead-letters from inside become span events (`retry`,
 *   `dead-letter`). A failure — or a dead-letter — sets status ERROR and
 *   `error.type` (a TributaryError's code, else the error's class name) and
 *   records the exception.
 *
 * Context crosses `await`s only with a context manager registered (the SDK's
 * `AsyncLocalStorageContextManager`); the span and its parent do not depend on it.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withTracing(options: TracingOptions = {}): HandlerMiddleware {
  const { tracer, propagator, system } = resolveTracing('withTracing', options);
  return (next) => async (message, ctx) => {
    const parent = extractTraceContext(message.headers, otelContext.active(), propagator);
    const span = tracer.startSpan(
      `process ${message.topic}`,
      { kind: SpanKind.CONSUMER, attributes: processAttributes(system, message, ctx) },
      parent,
    );
    let outcome = 'processed';
    const inner = observeRecord(ctx, (event) => {
      addSpanEvent(span, event);
      if (event.type === 'dead-letter') {
        outcome = 'dead-lettered';
        recordFailure(span, event.error, `dead-lettered to ${event.topic}: ${errorMessage(event.error)}`);
      } else if (event.type === 'duplicate') {
        outcome = 'duplicate';
      }
    });
    try {
      await otelContext.with(trace.setSpan(parent, span), () => next(message, inner));
    } catch (err) {
      outcome = 'failed';
      recordFailure(span, err);
      throw err;
    } finally {
      span.setAttribute(OUTCOME_ATTRIBUTE, outcome);
      span.end();
    }
  };
}

/** Records an inner record event on `span`. */
export function addSpanEvent(span: Span, event: RecordEvent): void {
  switch (event.type) {
    case 'retry':
      span.addEvent('retry', {
        'tributary.attempt': event.attempt,
        'tributary.retry.delay_ms': event.delayMs,
        [MessagingAttr.errorType]: errorType(event.error),
        'exception.message': errorMessage(event.error),
      });
      break;
    case 'dead-letter':
      span.addEvent('dead-letter', {
        'tributary.dead_letter.topic': event.topic,
        'tributary.attempts': event.attempts,
        [MessagingAttr.errorType]: errorType(event.error),
      });
      break;
    case 'duplicate':
      span.addEvent('duplicate', { [MessagingAttr.messageId]: event.id });
      break;
  }
}
