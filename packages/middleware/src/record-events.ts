/**
 * What happens to a record inside a middleware chain, told to the middleware
 * outside it. Observability middleware (tracing, logging, metrics) sits
 * outermost and so only sees the final outcome of a handler call; retries,
 * dead-letters and skipped duplicates happen further in. Inner middleware
 * emits {@link RecordEvent}s on the handler context; outer middleware
 * observes them by passing a context with its observer inward.
 *
 * The observers ride on the context under a registry symbol, so they survive
 * the `{ ...ctx, signal }` copies middleware makes and duplicate copies of
 * this package; a middleware that builds a context from scratch drops them
 * (and its inner events go unseen — nothing else breaks).
 */
import { errorMessage, type HandlerContext, type Message } from '@tributary/core';

/** Something that happened to a record on its way through the chain. */
export type RecordEvent =
  /** An attempt failed and another follows after `delayMs` (emitted by withRetry). */
  | { readonly type: 'retry'; readonly error: unknown; readonly attempt: number; readonly delayMs: number }
  /**
   * The record was published to `topic` and acknowledged (emitted by
   * withDeadLetter) — or, with `writer: true`, a DeadLetterWriter's write
   * resolved, and `topic` is only the default name its letter's record carries.
   */
  | { readonly type: 'dead-letter'; readonly error: unknown; readonly topic: string; readonly attempts: number; readonly writer?: boolean }
  /** The record was skipped as already processed (emitted by withDedup). */
  | { readonly type: 'duplicate'; readonly id: string };

/** Told every event of the records it observes, synchronously; must not throw (a throw is logged and ignored). */
export type RecordObserver = (event: RecordEvent, message: Message) => void;

const OBSERVERS = Symbol.for('@tributary/middleware.record-observers');
/** Set by withRetry on the context it passes inward, so withDeadLetter can tell it is placed inside a retry. */
const INSIDE_RETRY = Symbol.for('@tributary/middleware.inside-retry');

type Marked = HandlerContext & { readonly [OBSERVERS]?: readonly RecordObserver[]; readonly [INSIDE_RETRY]?: WillRetry };

/** Whether the enclosing withRetry will make another attempt after `error`. */
export type WillRetry = (error: unknown) => boolean;

/** A copy of `ctx` whose inner events also reach `observer` (outer observers keep theirs). */
export function observeRecord(ctx: HandlerContext, observer: RecordObserver): HandlerContext {
  const existing = (ctx as Marked)[OBSERVERS] ?? [];
  return { ...ctx, [OBSERVERS]: [...existing, observer] } as HandlerContext;
}

/** Tells every observer on `ctx` about `event` (innermost observer first). */
export function emitRecordEvent(ctx: HandlerContext, message: Message, event: RecordEvent): void {
  const observers = (ctx as Marked)[OBSERVERS];
  if (observers === undefined) return;
  for (let i = observers.length - 1; i >= 0; i--) {
    try {
      (observers[i] as RecordObserver)(event, message);
    } catch (err) {
      // An observability bug must not change what happens to the record.
      ctx.logger.warn({ err, event: event.type }, `record observer failed: ${errorMessage(err)}`);
    }
  }
}

/** A copy of `ctx` marked as being inside withRetry, which answers `willRetry` for the current attempt. */
export function markInsideRetry(ctx: HandlerContext, willRetry: WillRetry): HandlerContext {
  return { ...ctx, [INSIDE_RETRY]: willRetry } as HandlerContext;
}

/** The enclosing withRetry's decision for this attempt, when a withRetry is further out in the chain. */
export function enclosingRetry(ctx: HandlerContext): WillRetry | undefined {
  return (ctx as Marked)[INSIDE_RETRY];
}
