// Compile-time tests of the collector types. Not run by Jest: the typecheck
// target compiles this file, so a `@ts-expect-error` that stops erroring (a
// type that got looser) fails the run. The functions are never called.
import type {
  ConsumeObservation,
  ConsumeOutcome,
  HandlerMiddleware,
  MetricsCollector,
  ProducerMiddleware,
  PublishObservation,
} from '@tributary/core';
import { withCollector, withSendCollector, type errorType } from '@tributary/middleware';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

/** Plain objects, classes and async methods are collectors; half a collector is not. */
export function collectorShapes(): void {
  const plain: MetricsCollector = { recordConsume: () => undefined, recordPublish: () => undefined };
  class Prom implements MetricsCollector {
    recordConsume(_o: ConsumeObservation): void {}
    recordPublish(_o: PublishObservation): void {}
  }
  const pushing: MetricsCollector = { recordConsume: async () => undefined, recordPublish: async () => undefined };
  void [withCollector(plain), withCollector(new Prom()), withSendCollector(pushing)];
  // @ts-expect-error recordPublish is required
  withCollector({ recordConsume: () => undefined });
  // @ts-expect-error recordConsume is required
  withSendCollector({ recordPublish: () => undefined });
}

/** withCollector is handler middleware, withSendCollector producer middleware. */
export function middlewareKinds(collector: MetricsCollector): void {
  const handler: HandlerMiddleware = withCollector(collector);
  const send: ProducerMiddleware = withSendCollector(collector, { logger: undefined });
  // @ts-expect-error a producer middleware is not a handler middleware
  const wrong: HandlerMiddleware = withSendCollector(collector);
  void [handler, send, wrong];
}

/** The observations carry what labels need, read-only; outcomes are a closed set. */
export function observationFields(c: ConsumeObservation, p: PublishObservation): void {
  assertType<Equal<ConsumeOutcome, 'processed' | 'duplicate' | 'dead-lettered' | 'failed'>>();
  assertType<Equal<typeof c.groupId, string | undefined>>();
  assertType<Equal<typeof p.partition, number | undefined>>();
  assertType<Equal<ReturnType<typeof errorType>, string>>();
  // @ts-expect-error observations are read-only
  c.outcome = 'processed';
  // @ts-expect-error observations are read-only
  p.ok = true;
}
