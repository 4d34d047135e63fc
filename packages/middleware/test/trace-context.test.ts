import { ROOT_CONTEXT, TraceFlags, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { extractTraceContext, headersGetter, injectTraceContext } from '@tributary/middleware';

const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
const w3c = new W3CTraceContextPropagator();

describe('trace context in headers', () => {
  it('injects into a copy of the headers and extracts it back', () => {
    const headers = { ce_id: 'evt-1' };
    const injected = injectTraceContext(headers, trace.setSpanContext(ROOT_CONTEXT, spanContext), w3c);
    expect(injected).toEqual({ ce_id: 'evt-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(headers).toEqual({ ce_id: 'evt-1' });
    const extracted = trace.getSpanContext(extractTraceContext(injected, ROOT_CONTEXT, w3c));
    expect(extracted).toEqual({ ...spanContext, isRemote: true });
  });

  it('reads header names case-insensitively when there is no exact match', () => {
    const headers = { Traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    expect(headersGetter.get(headers, 'traceparent')).toBe(headers.Traceparent);
    expect(trace.getSpanContext(extractTraceContext(headers, ROOT_CONTEXT, w3c))?.traceId).toBe(spanContext.traceId);
    expect(headersGetter.get({ traceparent: 'exact', TRACEPARENT: 'other' }, 'traceparent')).toBe('exact');
    expect(headersGetter.keys({ a: '1', b: '2' })).toEqual(['a', 'b']);
  });

  it('returns the base context when the headers carry none, and ignores garbage', () => {
    expect(extractTraceContext({}, ROOT_CONTEXT, w3c)).toBe(ROOT_CONTEXT);
    expect(trace.getSpanContext(extractTraceContext({ traceparent: 'nonsense' }, ROOT_CONTEXT, w3c))).toBeUndefined();
  });

  it('uses the global propagator by default (a no-op until an SDK registers one)', () => {
    expect(injectTraceContext({ a: '1' }, trace.setSpanContext(ROOT_CONTEXT, spanContext))).toEqual({ a: '1' });
    propagation.setGlobalPropagator(w3c);
    try {
      expect(injectTraceContext(undefined, trace.setSpanContext(ROOT_CONTEXT, spanContext))).toHaveProperty('traceparent');
    } finally {
      propagation.disable();
    }
  });
});
