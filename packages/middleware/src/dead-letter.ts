/**
 * Dead-letter middleware: a record the chain inside cannot process is
 * published, untouched, to a dead-letter topic — or handed to a
 * DeadLetterWriter (S3, a table, a file) — and acknowledged, so its
 * partition moves on (seed 004's WithDeadLetterQueue).
 */
import {
  Backoff,
  ConfigCheck,
  ConfigError,
  TributaryError,
  abortedError,
  createDeadLetter,
  defaultDeadLetterTopic,
  errorMessage,
  isPermanentError,
  isTributaryError,
  RetriesExhaustedError,
  retryWithBackoff,
  type BackoffOptions,
  type ConfigProblem,
  type DeadLetter,
  type DeadLetterWriter,
  type HandlerContext,
  type HandlerMiddleware,
  type Message,
  type ProducerRecord,
  type TransportProducer,
} from '@tributary/core';
import { definedOnly } from './defined-only';
import { RatioWindow } from './ratio-window';
import { recordContext, where } from './record-context';
import { emitRecordEvent, enclosingRetry, observeRecord } from './record-events';

/**
 * Stops the consumer when too large a share of recent records dead-letters:
 * a bug or an outage that fails every record should stop consumption with a
 * clear error, not drain the topic into its dead-letter topic.
 */
export interface DeadLetterRateGuard {
  /** Stop when dead-lettered / handled records in the window exceeds this (0–1). */
  readonly maxRatio: number;
  /** …once at least this many records were handled in the window. */
  readonly minRecords: number;
  /** Length of the sliding window in ms. */
  readonly windowMs: number;
}

/** The guard's defaults: stop when more than half of at least 20 records within a minute dead-letter. */
export const DEAD_LETTER_RATE_GUARD_DEFAULTS: DeadLetterRateGuard = Object.freeze({ maxRatio: 0.5, minRecords: 20, windowMs: 60_000 });

/** How the dead-letter publish (or write) itself is retried before the record is given back (short: the partition waits). */
export const DEAD_LETTER_PUBLISH_RETRY_DEFAULTS: BackoffOptions = Object.freeze({ maxAttempts: 3, initialMs: 100, maxMs: 1_000 });

/** What {@link DeadLetterMiddlewareOptions.onDeadLetter} is told after a record was dead-lettered. */
export interface DeadLetterInfo {
  readonly message: Message;
  readonly error: unknown;
  /**
   * The record as published (original key, value and headers plus the
   * dead-letter headers); with a writer, as handed to it in its DeadLetter
   * (`topic` is then the default `<topic>.dlq`).
   */
  readonly record: ProducerRecord;
  readonly attempts: number;
}

/** What both forms of {@link DeadLetterMiddlewareOptions} share. */
interface DeadLetterMiddlewareCommonOptions {
  /**
   * Which failures are dead-lettered; the others are rethrown for the
   * runtime (or an outer middleware) to handle. Default core's
   * `isPermanentError`: exhausted retries (RetriesExhaustedError),
   * unrecoverable and programmer errors, non-retriable TributaryErrors
   * (decode, validation, unroutable). A retriable failure is left to be
   * retried, never dead-lettered on its first occurrence.
   */
  readonly deadLetterIf?: (error: unknown) => boolean;
  /** Value of the `tributary-dlq-handler` header. Default the wrapped handler's name, or `anonymous`. */
  readonly handlerName?: string;
  /** See {@link DeadLetterRateGuard}; missing fields take the defaults. `false` turns the guard off. */
  readonly rateGuard?: Partial<DeadLetterRateGuard> | false;
  /**
   * Retry of a failed dead-letter publish — or write — (core backoff
   * options), before the record is given back unacknowledged. Default
   * {@link DEAD_LETTER_PUBLISH_RETRY_DEFAULTS}; `false`: a single try.
   */
  readonly publishRetry?: BackoffOptions | false;
  /** Called after a record was dead-lettered; a throw is logged and ignored. */
  readonly onDeadLetter?: (info: DeadLetterInfo) => void;
  /** Clock for the guard's window. Default Date.now. */
  readonly now?: () => number;
}

/** Dead letters published to a topic. */
export interface DeadLetterTopicMiddlewareOptions extends DeadLetterMiddlewareCommonOptions {
  /** Publishes dead-lettered records. Not closed by the middleware. */
  readonly producer: TransportProducer;
  /** Dead-letter topic, or a function of the record. Default `<topic>.dlq`. */
  readonly topic?: string | ((message: Message) => string);
  /** Not with a producer: see {@link DeadLetterWriterMiddlewareOptions}. */
  readonly writer?: undefined;
}

/**
 * Dead letters handed to a core `DeadLetterWriter` (S3, a table, a file),
 * one letter per `write` call, with the same guarantees as a publish.
 */
export interface DeadLetterWriterMiddlewareOptions extends DeadLetterMiddlewareCommonOptions {
  /** Stores dead-lettered records. Not closed by the middleware. */
  readonly writer: DeadLetterWriter;
  /** Not with a writer (a ConfigError names it). */
  readonly producer?: undefined;
  /** Not with a writer (a ConfigError names it). */
  readonly topic?: undefined;
}

/** Where dead-lettered records go: a producer (and topic), or a writer — exactly one. */
export type DeadLetterMiddlewareOptions = DeadLetterTopicMiddlewareOptions | DeadLetterWriterMiddlewareOptions;

/**
 * Dead-letters records the chain inside fails with a dead-letter-worthy error
 * (see {@link DeadLetterMiddlewareOptions.deadLetterIf}).
 *
 * - The dead-letter record keeps the original key, value and headers and
 *   adds core's `DeadLetterHeaders`: reason, error code, original topic /
 *   partition / offset, attempts, handler, group, first and last failure
 *   time. Attempts and the first failure time come from withRetry inside
 *   (its `retry` record events and RetriesExhaustedError).
 * - Once the publish is acknowledged — or the writer's `write([letter])`
 *   resolved — the call resolves: the record is acknowledged and its
 *   partition moves on.
 * - If the publish or write fails (after `publishRetry`), the call rejects
 *   with ERR_DEAD_LETTER (retriable, cause = the publish or write error):
 *   the record is not acknowledged, so the consumer retries it or stops on
 *   it — it is never lost.
 * - A consumer shutting down (`ctx.stopping` or `ctx.signal` aborted) is never a reason to
 *   dead-letter: the failure is rethrown and the record is delivered again.
 * - The rate guard: when dead-lettering a record would push the share of
 *   dead-lettered records in the window above `maxRatio`, the record is not
 *   published (nor written); the consumer is stopped through `ctx.control.stop(err)` and
 *   the call rejects with that ERR_DEAD_LETTER_RATE error (cause = the record's
 *   failure), leaving the record unacknowledged.
 *
 * Either side of withRetry works. Outside (earlier in the chain, the
 * recommended order) it sees the final failure once retries ran out. Inside,
 * it asks the enclosing withRetry whether a failure will be retried and
 * leaves those to it; on the last attempt a transient failure is
 * dead-lettered as exhausted (ERR_RETRIES_EXHAUSTED). So the order in which
 * Watermill's poison queue skips retries does not skip them here.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withDeadLetter(options: DeadLetterMiddlewareOptions): HandlerMiddleware {
  const o = resolveOptions(options);
  const guard = o.rateGuard ? new RatioWindow(o.rateGuard.windowMs, o.now) : undefined;

  return (next) => {
    const handlerName = o.handlerName ?? (next.name || 'anonymous');
    return async (message, ctx) => {
      let lastRetried = 0;
      let firstFailureAt: number | undefined;
      const inner = observeRecord(ctx, (event) => {
        if (event.type !== 'retry') return;
        lastRetried = Math.max(lastRetried, event.attempt);
        firstFailureAt ??= Date.now();
      });
      try {
        await next(message, inner);
      } catch (error) {
        if (ctx.signal.aborted || ctx.stopping?.aborted) throw error;
        // Inside withRetry (the order where Watermill's poison queue skips
        // retries): a failure the retry will try again is not ours yet; on
        // the last attempt a transient failure is judged as exhausted.
        const retryAround = enclosingRetry(ctx);
        if (retryAround?.(error)) throw error;
        const reason = retryAround && !isPermanentError(error) ? new RetriesExhaustedError(ctx.attempt, error, recordContext(message)) : error;
        if (!o.deadLetterIf(reason)) throw error;
        const attempts = attemptsOf(reason, lastRetried, ctx);
        const topic = o.topicOf(message);
        if (guard && o.rateGuard) {
          const { total, hits } = guard.counts();
          if (total + 1 >= o.rateGuard.minRecords && (hits + 1) / (total + 1) > o.rateGuard.maxRatio) {
            const stop = new TributaryError(
              'ERR_DEAD_LETTER_RATE',
              `dead-letter rate guard: ${hits + 1} of the last ${total + 1} records (within ${o.rateGuard.windowMs} ms) would be dead-lettered, more than ${o.rateGuard.maxRatio * 100}%; stopping the consumer instead of draining ${message.topic} into ${o.writer ? 'the dead-letter writer' : topic}. Record ${where(message)} failed with: ${errorMessage(error)}`,
              { cause: error, context: recordContext(message) },
            );
            ctx.logger.error({ err: stop, topic: message.topic, ...(o.writer ? { deadLetterWriter: true } : { deadLetterTopic: topic }) }, 'dead-letter rate guard tripped');
            ctx.control.stop(stop);
            throw stop;
          }
        }
        const letter = createDeadLetter(message, {
          topic,
          reason,
          attempts,
          handler: handlerName,
          ...(ctx.groupId === undefined ? {} : { groupId: ctx.groupId }),
          firstFailureAt: firstFailureAt ?? Date.now(),
          lastFailureAt: Date.now(),
        });
        const record = letter.record;
        // Counted before the publish so that records failing at the same time
        // (other partitions) see each other; a failed publish stays counted,
        // which errs towards stopping.
        guard?.add(true);
        await publish(o, letter, reason, ctx);
        emitRecordEvent(ctx, message, { type: 'dead-letter', error: reason, topic, attempts, ...(o.writer ? { writer: true } : {}) });
        try {
          o.onDeadLetter?.({ message, error: reason, record, attempts });
        } catch (err) {
          ctx.logger.warn({ err }, 'withDeadLetter: onDeadLetter threw; ignored');
        }
        return;
      }
      guard?.add(false);
    };
  };
}

interface ResolvedOptions {
  /** Exactly one of producer and writer is set. */
  readonly producer: TransportProducer | undefined;
  readonly writer: DeadLetterWriter | undefined;
  /** With a writer, the default topic: what its letters' records name. */
  readonly topicOf: (message: Message) => string;
  readonly deadLetterIf: (error: unknown) => boolean;
  readonly handlerName: string | undefined;
  readonly rateGuard: DeadLetterRateGuard | undefined;
  readonly publishRetry: BackoffOptions | undefined;
  readonly onDeadLetter: ((info: DeadLetterInfo) => void) | undefined;
  readonly now: () => number;
}

function resolveOptions(options: DeadLetterMiddlewareOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('withDeadLetter', [{ field: 'options', message: 'must be an object with a producer or a writer' }]);
  }
  const check = new ConfigCheck('withDeadLetter');
  // Checked at run time: JavaScript callers are not held to the union type.
  const { producer: p, topic: t, writer: w } = options as { producer?: unknown; topic?: unknown; writer?: unknown };
  let topicOf: (message: Message) => string = defaultDeadLetterTopic;
  if (w !== undefined) {
    const conflict = 'cannot be combined with writer: give producer (and topic) or writer, not both';
    check.check(p === undefined, 'producer', conflict);
    check.check(t === undefined, 'topic', conflict);
    check.check(
      typeof w === 'object' && w !== null && typeof (w as Partial<DeadLetterWriter>).write === 'function',
      'writer',
      'must be a DeadLetterWriter (an object with a write(letters, context) method)',
    );
  } else {
    const producer = p as Partial<TransportProducer> | undefined;
    check.check(
      typeof producer === 'object' && producer !== null && typeof producer.send === 'function',
      'producer',
      'must be a TransportProducer (or give a writer instead)',
    );
    if (typeof t === 'string') {
      check.nonEmptyString(t, 'topic');
      topicOf = () => t;
    } else if (typeof t === 'function') {
      topicOf = t as (message: Message) => string;
    } else if (t !== undefined) {
      check.problem('topic', 'must be a non-empty string or a function of the record');
    }
  }
  check.fn(options.deadLetterIf, 'deadLetterIf').fn(options.onDeadLetter, 'onDeadLetter').fn(options.now, 'now');
  if (options.handlerName !== undefined) check.nonEmptyString(options.handlerName, 'handlerName');
  let rateGuard: DeadLetterRateGuard | undefined;
  if (options.rateGuard !== false) {
    const g = { ...DEAD_LETTER_RATE_GUARD_DEFAULTS, ...definedOnly(options.rateGuard ?? {}) };
    check
      .number(g.maxRatio, 'rateGuard.maxRatio', 0, 1)
      .integer(g.minRecords, 'rateGuard.minRecords', 1)
      .integer(g.windowMs, 'rateGuard.windowMs', 1);
    rateGuard = Object.freeze(g);
  }
  let publishRetry: BackoffOptions | undefined;
  if (options.publishRetry !== false) {
    publishRetry = { ...DEAD_LETTER_PUBLISH_RETRY_DEFAULTS, ...definedOnly(options.publishRetry ?? {}) };
    for (const problem of backoffProblems(publishRetry)) check.problem(`publishRetry.${problem.field}`, problem.message);
  }
  check.throwIfInvalid();
  return Object.freeze({
    producer: w === undefined ? (p as TransportProducer) : undefined,
    writer: w as DeadLetterWriter | undefined,
    topicOf,
    deadLetterIf: options.deadLetterIf ?? isPermanentError,
    handlerName: options.handlerName,
    rateGuard,
    publishRetry,
    onDeadLetter: options.onDeadLetter,
    now: options.now ?? Date.now,
  });
}

/** Attempts made on the record: from an exhausted retry, from withRetry's events, else the runtime's count. */
function attemptsOf(error: unknown, lastRetried: number, ctx: HandlerContext): number {
  if (isTributaryError(error) && error.code === 'ERR_RETRIES_EXHAUSTED') {
    const attempts = (error as { attempts?: unknown }).attempts;
    if (typeof attempts === 'number') return attempts;
  }
  return lastRetried > 0 ? lastRetried + 1 : ctx.attempt;
}

/** Publishes the letter's record, or hands the letter to the writer; retried per `publishRetry`. */
async function publish(o: ResolvedOptions, letter: DeadLetter, failure: unknown, ctx: HandlerContext): Promise<void> {
  const { record, message } = letter;
  const writer = o.writer;
  const sendOnce = async (): Promise<void> => {
    if (writer) {
      await writer.write(Object.freeze([letter]), Object.freeze({ signal: ctx.signal }));
      return;
    }
    const [result] = await (o.producer as TransportProducer).send([record]);
    if (result === undefined) throw new TributaryError('ERR_DEAD_LETTER', 'the producer returned no result');
    if (!result.ok) throw result.error;
  };
  try {
    if (o.publishRetry) {
      await retryWithBackoff(sendOnce, { ...o.publishRetry, signal: ctx.signal });
    } else {
      await sendOnce();
    }
  } catch (err) {
    if (ctx.signal.aborted) throw abortedError(ctx.signal);
    // retryWithBackoff wraps the last failure when the attempts run out: report that failure.
    const cause = isTributaryError(err) && err.code === 'ERR_RETRIES_EXHAUSTED' ? err.cause : err;
    const what = writer ? 'dead-letter write' : `dead-letter publish to ${record.topic}`;
    throw new TributaryError(
      'ERR_DEAD_LETTER',
      `${what} failed for ${where(message)}: ${errorMessage(cause)} (the record failed with: ${errorMessage(failure)})`,
      { cause, context: recordContext(message) },
    );
  }
}

/** Problems of a backoff policy, checked as core's Backoff checks it (retryWithBackoff checks the same on use). */
function backoffProblems(policy: BackoffOptions): readonly ConfigProblem[] {
  try {
    new Backoff(policy);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}
