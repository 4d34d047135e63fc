/**
 * W3C trace context (and whatever else the propagator carries, e.g. baggage)
 * in record headers: injected when a record is sent, extracted when it is
 * processed, so a trace continues from producer to consumer through the log.
 */
import { context as otelContext, propagation, trace, type Context, type SpanContext, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import type { Headers } from '@tributary/core';

/**
 * Reads propagation fields from record headers. Kafka header names are case
 * sensitive; an exact match wins, else a case-insensitive one (a producer
 * that wrote `Traceparent` still continues the trace).
 */
export const headersGetter: TextMapGetter<Headers> = Object.freeze({
  keys: (carrier: Headers) => Object.keys(carrier),
  get: (carrier: Headers, key: string) => {
    const exact = carrier[key];
    if (exact !== undefined) return exact;
    const lower = key.toLowerCase();
    for (const [name, value] of Object.entries(carrier)) if (name.toLowerCase() === lower) return value;
    return undefined;
  },
});

/** Writes propagation fields into a mutable header object. */
export const headersSetter: TextMapSetter<Record<string, string>> = Object.freeze({
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
});

/** The propagation API's global propagator, or the one given. */
export type Propagator = Pick<TextMapPropagator, 'inject' | 'extract'>;

/**
 * A copy of `headers` with the context `ctx` (default the active one)
 * injected: `traceparent` and `tracestate` with the W3C propagator.
 * Existing fields of the same names are replaced — a record forwarded (to a
 * dead-letter topic, say) carries the context of its new send.
 */
export function injectTraceContext(headers: Headers | undefined, ctx: Context = otelContext.active(), propagator: Propagator = propagation): Record<string, string> {
  const carrier: Record<string, string> = { ...headers };
  propagator.inject(ctx, carrier, headersSetter);
  return carrier;
}

/** The context carried by `headers`, on top of `base` (default the active context); `base` itself when they carry none. */
export function extractTraceContext(headers: Headers, base: Context = otelContext.active(), propagator: Propagator = propagation): Context {
  return propagator.extract(base, headers, headersGetter);
}

/**
 * The valid span context `ctx` holds, else undefined. Given a context
 * extracted on a base without a span (`trace.deleteSpan(active)`), that is the
 * record's *creation context* — the producer's `send` span — and never the
 * active span.
 */
export function validSpanContext(ctx: Context): SpanContext | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc : undefined;
}
