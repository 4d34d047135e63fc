// Compile-time tests of the public types. Not run by Jest: the typecheck
// target compiles this file, so a `@ts-expect-error` that stops erroring (a
// type that got looser) fails the run. The functions are never called.
import type { BatchHandler, HandlerMiddleware, ProducerMiddleware, TransportProducer } from '@tributary/core';
import pino from 'pino';
import {
  recommendedChain,
  withBatchTracing,
  withCircuitBreaker,
  withDeadLetter,
  withLogging,
  withSendLogging,
  withSendTracing,
  withThrottle,
  withTimeout,
  withTracing,
  type BatchMiddleware,
  type CircuitState,
  type DedupStore,
  type RecordEvent,
} from '@tributary/middleware';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

/** A pino logger is a Logger, for handlers and sends alike. */
export function pinoFits(): void {
  const logger = pino();
  void withLogging({ logger });
  void withSendLogging({ logger });
}

/** Handler, batch and producer middleware have their own shapes. */
export function middlewareShapes(): void {
  const breaker = withCircuitBreaker();
  const asHandler: HandlerMiddleware = breaker;
  assertType<Equal<typeof breaker.state, CircuitState>>();
  // @ts-expect-error the state is read-only
  breaker.state = 'open';
  const send: ProducerMiddleware = withSendTracing();
  const batch: BatchMiddleware = withBatchTracing();
  assertType<Equal<BatchMiddleware, (next: BatchHandler) => BatchHandler>>();
  // @ts-expect-error a producer middleware is not a handler middleware
  const wrong: HandlerMiddleware = send;
  void [asHandler, batch, wrong];
}

/** Required options are required. */
export function requiredOptions(): void {
  // @ts-expect-error dead-lettering needs a producer
  withDeadLetter({ topic: 'x.dlq' });
  // @ts-expect-error a throttle needs a rate
  withThrottle({ burst: 2 });
  // @ts-expect-error a timeout needs a deadline
  withTimeout({});
  withDeadLetter({ producer: {} as TransportProducer, rateGuard: false, publishRetry: false });
  // @ts-expect-error the chain knows its middlewares by name
  recommendedChain({ poisonQueue: {} });
}

/** Only withTracing picks the parent of its span (a batch span has many creation contexts; a send span none). */
export function tracingParent(): void {
  void withTracing({ parent: 'ambient' });
  // @ts-expect-error the parent is 'creation' or 'ambient'
  void withTracing({ parent: 'producer' });
  // @ts-expect-error a batch span's parent is always the active span
  void withBatchTracing({ parent: 'creation' });
}

/** Stores may be synchronous or asynchronous. */
export function dedupStores(): void {
  const sync: DedupStore = { isDuplicated: () => false, commit: () => undefined };
  const async: DedupStore = { isDuplicated: async () => true, commit: async () => undefined };
  // @ts-expect-error isDuplicated answers with a boolean
  const wrong: DedupStore = { isDuplicated: () => 'yes', commit: () => undefined };
  void [sync, async, wrong];
}

/** Record events are a discriminated union. */
export function recordEvents(event: RecordEvent): void {
  if (event.type === 'retry') assertType<Equal<typeof event.delayMs, number>>();
  else if (event.type === 'dead-letter') assertType<Equal<typeof event.topic, string>>();
  else assertType<Equal<typeof event.id, string>>();
}
