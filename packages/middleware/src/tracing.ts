/**
 * Tracing middleware (OpenTelemetry API only — which SDK, exporter and
 * sampler record the spans stays the application's choice): a CONSUMER
 * `process <topic>` span per record, following the messaging semantic
 * conventions, linked to the record's creation context (the producer's
 * `send` span, from the headers) and by default continuing its trace.
 */
import { SpanKind, context as otelContext, trace, type Context, type Link, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { ConfigCheck, errorMessage, type HandlerMiddleware } from '@tributary/core';
import { observeRecord, type RecordEvent } from './record-events';
import { MessagingAttr, INSTRUMENTATION_SCOPE } from './semconv';
import { processAttributes, recordFailure } from './span-attributes';
import { errorType } from './error-type';
import { extractTraceContext, validSpanContext, type Propagator } from './trace-context';

/** Options of withTracing, withBatchTracing and withSendTracing. */
export interface TracingOptions {
  /** Where tracers come from. Default the global provider (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider;
  /** Injects and extracts trace context. Default the global propagator (`propagation`). */
  readonly propagator?: Propagator;
  /** `messaging.system`: pass `transport.system`. Default `kafka`. */
  readonly system?: string;
}

/** Options of withTracing. */
export interface RecordTracingOptions extends TracingOptions {
  /**
   * The parent of each `process` span. The span links to the record's
   * creation context either way.
   *
   * - `'creation'` (default): the creation context the record's headers
   *   carry (the producer's `send` span), so producer and consumer share one
   *   trace; the active context when the headers carry none. An active span
   *   that is not the parent is linked too (after the creation context).
   * - `'ambient'`: always the active context (a new trace when no span is
   *   active) — the conventions' own default. For processing that runs in the
   *   scope of another span (a batch span, an HTTP push), or to keep consumer
   *   traces apart from long-lived producer traces.
   */
  readonly parent?: 'creation' | 'ambient';
}

const PARENTS: readonly string[] = ['creation', 'ambient'];

/** `tributary.outcome` of a process span: what became of the record. */
export const OUTCOME_ATTRIBUTE = 'tributary.outcome';

export interface ResolvedTracing {
  readonly tracer: Tracer;
  readonly propagator: Propagator | undefined;
  readonly system: string;
}

/**
 * Validates tracing options and picks the tracer. `more` adds the checks of
 * a middleware's own options, so one ConfigError names every problem.
 */
export function resolveTracing(component: string, options: TracingOptions, more?: (check: ConfigCheck) => void): ResolvedTracing {
  const check = new ConfigCheck(component);
  const tp = options.tracerProvider as Partial<TracerProvider> | undefined;
  check.check(tp === undefined || typeof tp?.getTracer === 'function', 'tracerProvider', 'must be a TracerProvider');
  const p = options.propagator as Partial<Propagator> | undefined;
  check.check(p === undefined || (typeof p?.inject === 'function' && typeof p.extract === 'function'), 'propagator', 'must be a TextMapPropagator');
  if (options.system !== undefined) check.nonEmptyString(options.system, 'system');
  more?.(check);
  check.throwIfInvalid();
  return Object.freeze({
    tracer: (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE),
    propagator: options.propagator,
    system: options.system ?? 'kafka',
  });
}

/** `tributary.attempt` of a process span: `ctx.attempt` (the conventions define no generic attempt attribute). */
export const ATTEMPT_ATTRIBUTE = 'tributary.attempt';

/**
 * Traces each record.
 *
 * - Span `process <topic>`, kind CONSUMER. Its parent (option `parent`):
 *   by default the record's *creation context* — the context its headers
 *   carry, a producer's `send` span — else the active one; with `'ambient'`
 *   always the active one.
 * - Links: one to the creation context, when the headers carry a valid one
 *   (as the conventions ask of every `process` span, parent or not); with
 *   the creation context as parent, also one to the active span, if any.
 * - Attributes: `messaging.system`, `messaging.destination.name`,
 *   `messaging.destination.partition.id`, `messaging.kafka.offset`,
 *   `messaging.kafka.message.key` (when keyed), `messaging.consumer.group.name`,
 *   `messaging.operation.type` / `.name` = `process`, `messaging.message.id`
 *   (the `ce_id` header, when present), `tributary.attempt` (`ctx.attempt`)
 *   and `tributary.outcome` (`processed`, `dead-lettered`, `duplicate` or
 *   `failed`).
 * - The chain inside runs with the span active, so logs (withLogging binds
 *   `trace_id`), dead-letter sends (withSendTracing) and the handler's own
 *   spans nest under it.
 * - Retries and dead-letters from inside become span events (`retry`,
 *   `dead-letter`). A failure — or a dead-letter — sets status ERROR and
 *   `error.type` (a TributaryError's code, else the error's class name) and
 *   records the exception.
 *
 * Context crosses `await`s only with a context manager registered (the SDK's
 * `AsyncLocalStorageContextManager`); the span, its parent and links do not
 * depend on it.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withTracing(options: RecordTracingOptions = {}): HandlerMiddleware {
  const { tracer, propagator, system } = resolveTracing('withTracing', options, (check) => check.oneOf(options.parent ?? 'creation', 'parent', PARENTS));
  const creationIsParent = (options.parent ?? 'creation') === 'creation';
  return (next) => async (message, ctx) => {
    const active = otelContext.active();
    const ambient = trace.getSpan(active);
    // Extracted on a base without the active span, so a span context in
    // `carried` came from the headers; baggage and other fields stay on top
    // of the active context.
    const carried = extractTraceContext(message.headers, trace.deleteSpan(active), propagator);
    const creation = validSpanContext(carried);
    const links: Link[] = [];
    let parent: Context;
    if (creation !== undefined) links.push({ context: creation });
    if (creation !== undefined && creationIsParent) {
      parent = carried;
      const ambientContext = ambient?.spanContext();
      // The conventions: a creation-context parent in the scope of another span links that span.
      if (ambientContext !== undefined && trace.isSpanContextValid(ambientContext) && ambientContext.spanId !== creation.spanId) {
        links.push({ context: ambientContext });
      }
    } else {
      parent = ambient === undefined ? trace.deleteSpan(carried) : trace.setSpan(carried, ambient);
    }
    const attributes = { ...processAttributes(system, message, ctx), [ATTEMPT_ATTRIBUTE]: ctx.attempt };
    const span = tracer.startSpan(`process ${message.topic}`, { kind: SpanKind.CONSUMER, attributes, links }, parent);
    let outcome = 'processed';
    const inner = observeRecord(ctx, (event) => {
      addSpanEvent(span, event);
      if (event.type === 'dead-letter') {
        outcome = 'dead-lettered';
        recordFailure(span, event.error, `dead-lettered ${event.writer ? 'through the writer' : `to ${event.topic}`}: ${errorMessage(event.error)}`);
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
        [ATTEMPT_ATTRIBUTE]: event.attempt,
        'tributary.retry.delay_ms': event.delayMs,
        [MessagingAttr.errorType]: errorType(event.error),
        'exception.message': errorMessage(event.error),
      });
      break;
    case 'dead-letter':
      span.addEvent('dead-letter', {
        ...(event.writer ? { 'tributary.dead_letter.writer': true } : { 'tributary.dead_letter.topic': event.topic }),
        'tributary.attempts': event.attempts,
        [MessagingAttr.errorType]: errorType(event.error),
      });
      break;
    case 'duplicate':
      span.addEvent('duplicate', { [MessagingAttr.messageId]: event.id });
      break;
  }
}
