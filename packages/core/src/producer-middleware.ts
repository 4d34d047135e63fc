/**
 * Producer middleware: behaviour around `TransportProducer.send` (tracing,
 * metrics, logging of sends, per-topic policies), the producing twin of
 * `HandlerMiddleware`. It lives in core because every package that
 * produces (middleware, xkafka-sharded's per-topic producer pipelines, the
 * dead-letter path) composes the same shape.
 */
import { ConfigCheck } from './config';
import type { ProducerRecord } from './message';
import type { SendResult, TransportProducer } from './transport';

/**
 * One call of `TransportProducer.send`: resolves with one result per record,
 * in input order; rejects only for call-level failures.
 */
export type SendFn = (records: readonly ProducerRecord[]) => Promise<SendResult[]>;

/**
 * Wraps a send with behaviour. Contract for implementations: the returned
 * function resolves with exactly one result per record it was given, in
 * input order. It may pass changed copies of the records on (e.g. with trace
 * headers added) but must not drop, add or reorder them, and must not turn a
 * per-record failure into a rejection. {@link wrapProducer} checks the count.
 */
export type ProducerMiddleware = (next: SendFn) => SendFn;

function checkMiddlewares(check: ConfigCheck, middlewares: readonly unknown[]): void {
  middlewares.forEach((m, i) => check.fn(m, `middlewares[${i}]`, false));
}

/**
 * Wraps `send` in `middlewares`, first outermost (as `chainHandlers`): the
 * first middleware sees the records first and the results last.
 *
 * @throws ConfigError (ERR_CONFIG) when `send` or a middleware is not a function.
 */
export function chainSend(send: SendFn, ...middlewares: readonly ProducerMiddleware[]): SendFn {
  const check = new ConfigCheck('chainSend').fn(send, 'send', false);
  checkMiddlewares(check, middlewares);
  check.throwIfInvalid();
  let wrapped = send;
  for (let i = middlewares.length - 1; i >= 0; i--) wrapped = (middlewares[i] as ProducerMiddleware)(wrapped);
  return wrapped;
}

/** Composes producer middlewares into one, first outermost. */
export function composeProducerMiddleware(...middlewares: readonly ProducerMiddleware[]): ProducerMiddleware {
  const check = new ConfigCheck('composeProducerMiddleware');
  checkMiddlewares(check, middlewares);
  check.throwIfInvalid();
  return (next) => chainSend(next, ...middlewares);
}

/**
 * A producer whose `send` runs through `middlewares` (first outermost);
 * `connect`, `flush` and `close` go straight to `producer`. The wrapper does
 * not own anything of its own: closing it closes `producer` (idempotent, as
 * every producer's close), so several wrappers over one producer — one per
 * topic, say — may each be closed.
 *
 * A middleware that breaks the one-result-per-record contract makes `send`
 * reject with a TypeError (a bug, never retried) instead of handing callers
 * results that do not line up with their records.
 *
 * @throws ConfigError (ERR_CONFIG) when `producer` is not a producer or a middleware is not a function.
 */
export function wrapProducer(producer: TransportProducer, ...middlewares: readonly ProducerMiddleware[]): TransportProducer {
  const check = new ConfigCheck('wrapProducer');
  const p = producer as Partial<TransportProducer> | null | undefined;
  check.check(
    typeof p === 'object' && p !== null && ['connect', 'send', 'flush', 'close'].every((m) => typeof (p as Record<string, unknown>)[m] === 'function'),
    'producer',
    'must be a TransportProducer (connect, send, flush, close)',
  );
  checkMiddlewares(check, middlewares);
  check.throwIfInvalid();
  const send = chainSend((records) => producer.send(records), ...middlewares);
  return Object.freeze({
    connect: () => producer.connect(),
    async send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
      const results = await send(records);
      if (!Array.isArray(results) || results.length !== records.length) {
        throw new TypeError(
          `producer middleware returned ${Array.isArray(results) ? results.length : typeof results} results for ${records.length} records`,
        );
      }
      return results;
    },
    flush: () => producer.flush(),
    close: () => producer.close(),
  });
}
