/**
 * OpenTelemetry SDK pieces for tests (dev dependencies only — the package
 * itself uses the API): an in-memory span exporter, a metric reader that
 * collects on demand, the W3C propagator, and an AsyncLocalStorage context
 * manager so context crosses awaits. `tracingPerTest` and `metricsPerTest`
 * give every test of a describe block fresh ones, shut down after it.
 */
import { context, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface TracingHarness {
  readonly provider: BasicTracerProvider;
  readonly propagator: W3CTraceContextPropagator;
  spans(): ReadableSpan[];
  span(name: string): ReadableSpan;
  close(): Promise<void>;
}

export function tracingHarness(): TracingHarness {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return {
    provider,
    propagator: new W3CTraceContextPropagator(),
    spans: () => exporter.getFinishedSpans(),
    span(name) {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name);
      if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length}: ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
      return found[0] as ReadableSpan;
    },
    async close() {
      await provider.shutdown();
      context.disable();
    },
  };
}

/** A TracingHarness of the test that runs now; its `close` belongs to the hooks. */
export type TracingPerTest = Omit<TracingHarness, 'close'>;

/**
 * Registers hooks in the calling describe block: a new TracingHarness before
 * each test, closed after it. The object returned reads the harness of the
 * test that runs now, so it may be taken at describe time and used inside
 * tests and hooks (anywhere else it throws).
 */
export function tracingPerTest(): TracingPerTest {
  const current = perTest(tracingHarness, 'tracing harness');
  return {
    get provider() {
      return current().provider;
    },
    get propagator() {
      return current().propagator;
    },
    spans: () => current().spans(),
    span: (name) => current().span(name),
  };
}

/** A reader that only collects when asked. */
class OnDemandReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface MetricsHarness {
  readonly provider: MeterProvider;
  /** Every metric collected now, by name. */
  collect(): Promise<Map<string, MetricData>>;
  close(): Promise<void>;
}

export function metricsHarness(): MetricsHarness {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new Error(`metric collection failed: ${errors.map(String).join('; ')}`);
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      return byName;
    },
    close: () => provider.shutdown(),
  };
}

/** A MetricsHarness of the test that runs now; its `close` belongs to the hooks. */
export type MetricsPerTest = Omit<MetricsHarness, 'close'>;

/** Like {@link tracingPerTest}, for a MetricsHarness. */
export function metricsPerTest(): MetricsPerTest {
  const current = perTest(metricsHarness, 'metrics harness');
  return {
    get provider() {
      return current().provider;
    },
    collect: () => current().collect(),
  };
}

/** Creates a harness before each test and closes it after; returns a reader of the current one. */
function perTest<T extends { close(): Promise<void> }>(create: () => T, what: string): () => T {
  let current: T | undefined;
  beforeEach(() => {
    current = create();
  });
  afterEach(async () => {
    const closing = current;
    current = undefined;
    await closing?.close();
  });
  return () => {
    if (current === undefined) throw new Error(`the ${what} exists only while a test runs`);
    return current;
  };
}

/** Sum-like points of a counter as [attributes, value]. */
export function points(metric: MetricData | undefined): [Attributes, number][] {
  if (!metric) return [];
  return (metric.dataPoints as DataPoint<number>[]).map((p) => [p.attributes, p.value]);
}

/** Total of a counter, optionally over points matching `where`. */
export function total(metric: MetricData | undefined, where: Attributes = {}): number {
  return points(metric)
    .filter(([a]) => Object.entries(where).every(([k, v]) => a[k] === v))
    .reduce((sum, [, v]) => sum + v, 0);
}

/** Histogram points as [attributes, count]. */
export function histogramCounts(metric: MetricData | undefined): [Attributes, number][] {
  if (!metric) return [];
  return (metric.dataPoints as DataPoint<Histogram>[]).map((p) => [p.attributes, p.value.count]);
}
