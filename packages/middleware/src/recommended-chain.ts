/**
 * The recommended order of the middleware, in code: build the chain from
 * options and the order cannot be got wrong (the README explains each step).
 */
import { ConfigCheck, ConfigError, composeMiddleware, type HandlerMiddleware } from '@tributary/core';
import { withCircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';
import { withDeadLetter, type DeadLetterMiddlewareOptions } from './dead-letter';
import { withDedup, type DedupOptions } from './dedup';
import { withLogging, type LoggingOptions } from './logging';
import { withMetrics, type MetricsOptions } from './metrics';
import { withRetry, type RetryOptions } from './retry';
import { withThrottle, type ThrottleOptions } from './throttle';
import { withTimeout, type TimeoutOptions } from './timeout';
import { withTracing, type RecordTracingOptions } from './tracing';

/** One entry per middleware; those given (an options object, `{}` for defaults) are used, in the recommended order. */
export interface RecommendedChainOptions {
  readonly tracing?: RecordTracingOptions;
  readonly logging?: LoggingOptions;
  readonly metrics?: MetricsOptions;
  readonly deadLetter?: DeadLetterMiddlewareOptions;
  readonly dedup?: DedupOptions;
  readonly retry?: RetryOptions;
  readonly circuitBreaker?: CircuitBreakerOptions;
  readonly throttle?: ThrottleOptions;
  readonly timeout?: TimeoutOptions;
}

/**
 * Outermost first. Why this order:
 * 1. tracing — the span covers the record's whole life and is active for
 *    everything inside (logs carry its ids, dead-letter sends nest under it).
 * 2. logging — one outcome line per record, in the span, with the events of
 *    everything inside.
 * 3. metrics — the duration of the whole handling, retries included.
 * 4. deadLetter — sees the *final* failure, after retries ran out (inside
 *    withRetry it would see the first one: the Watermill bug).
 * 5. dedup — a duplicate costs no retry, token or call; only a success is
 *    committed, never a dead-letter (a replay from the dead-letter topic is
 *    processed again).
 * 6. retry — retries what fails below.
 * 7. circuitBreaker — counts every attempt against the dependency; while
 *    open it holds attempts and pauses the consumer, so retries are not
 *    burned.
 * 8. throttle — attempts take tokens (a retry is a call too); waiting for a
 *    token does not count against the timeout.
 * 9. timeout — each attempt gets its own deadline; a timed-out attempt is
 *    retried.
 */
export const RECOMMENDED_ORDER = Object.freeze([
  'tracing',
  'logging',
  'metrics',
  'deadLetter',
  'dedup',
  'retry',
  'circuitBreaker',
  'throttle',
  'timeout',
] as const satisfies readonly (keyof RecommendedChainOptions)[]);

/**
 * Builds one middleware out of those given, in {@link RECOMMENDED_ORDER}.
 *
 * ```ts
 * consumer.start(chainHandlers(handler, recommendedChain({
 *   tracing: { system: transport.system },
 *   logging: { logger },
 *   deadLetter: { producer },
 *   retry: { maxAttempts: 5 },
 *   timeout: { timeoutMs: 10_000 },
 * })));
 * ```
 *
 * To keep a handle on one (a circuit breaker's `state`), build the chain
 * with `chainHandlers` by hand in the same order.
 *
 * @throws ConfigError (ERR_CONFIG) for unknown keys and every invalid option of every middleware.
 */
export function recommendedChain(options: RecommendedChainOptions): HandlerMiddleware {
  const check = new ConfigCheck('recommendedChain');
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('recommendedChain', [{ field: 'options', message: 'must be an object' }]);
  }
  const known: readonly string[] = RECOMMENDED_ORDER;
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) check.problem(key, `is not a middleware of the chain (known: ${known.join(', ')})`);
  }
  const middlewares: HandlerMiddleware[] = [];
  const add = (name: string, build: () => HandlerMiddleware): void => {
    const middleware = check.nested(name, build);
    if (middleware) middlewares.push(middleware);
  };
  const o = options;
  for (const name of RECOMMENDED_ORDER) {
    if (o[name] === undefined) continue;
    switch (name) {
      case 'tracing':
        add(name, () => withTracing(o.tracing));
        break;
      case 'logging':
        add(name, () => withLogging(o.logging));
        break;
      case 'metrics':
        add(name, () => withMetrics(o.metrics));
        break;
      case 'deadLetter':
        add(name, () => withDeadLetter(o.deadLetter as DeadLetterMiddlewareOptions));
        break;
      case 'dedup':
        add(name, () => withDedup(o.dedup));
        break;
      case 'retry':
        add(name, () => withRetry(o.retry));
        break;
      case 'circuitBreaker':
        add(name, () => withCircuitBreaker(o.circuitBreaker));
        break;
      case 'throttle':
        add(name, () => withThrottle(o.throttle as ThrottleOptions));
        break;
      case 'timeout':
        add(name, () => withTimeout(o.timeout as TimeoutOptions));
        break;
    }
  }
  check.throwIfInvalid();
  return composeMiddleware(...middlewares);
}
