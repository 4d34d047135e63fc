import type { HandlerMiddleware, MessageHandler } from './handler';

/**
 * Wraps `base` in `middlewares` so that the first middleware is the outermost
 * (seed 001's ChainHandlers): it runs first on the way in and last on the way
 * out.
 *
 * ```ts
 * const handler = chainHandlers(base, logging, metrics, retry);
 * // a record flows logging → metrics → retry → base
 * ```
 *
 * The chain is built once, here; calling the returned handler does not
 * re-run the middleware factories.
 */
export function chainHandlers(base: MessageHandler, ...middlewares: readonly HandlerMiddleware[]): MessageHandler {
  let handler = base;
  for (let i = middlewares.length - 1; i >= 0; i--) {
    // Index is in range by the loop bound; the cast satisfies noUncheckedIndexedAccess.
    handler = (middlewares[i] as HandlerMiddleware)(handler);
  }
  return handler;
}

/**
 * Composes middlewares into one, first outermost: `chainHandlers(h,
 * composeMiddleware(a, b), c)` behaves as `chainHandlers(h, a, b, c)`.
 */
export function composeMiddleware(...middlewares: readonly HandlerMiddleware[]): HandlerMiddleware {
  return (next) => chainHandlers(next, ...middlewares);
}
