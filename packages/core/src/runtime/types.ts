import type { BackoffOptions } from '../backoff';
import type { Logger } from '../logger';
import type { Message } from '../message';
import type { TransportProducer } from '../transport';
import type { BatchHandler, MessageHandler } from '../handler';
import type { DeadLetterWriter } from './dead-letter';

/**
 * How many records a consumer may dead-letter in a sliding window. A burst of
 * dead-letters usually means something systemic (a bad deploy, an outage the
 * handler misclassifies), and a topic drained into its dead-letter topic is
 * costly to clean up: past the limit the consumer stops instead.
 */
export interface DeadLetterRateLimit {
  /** Most records dead-lettered within any `windowMs`. Default 1 000. */
  readonly max?: number;
  /** Length of the sliding window in ms. Default 60 000. */
  readonly windowMs?: number;
}

/** What both forms of {@link DeadLetterOptions} share. */
interface DeadLetterLimitOptions {
  /**
   * At most `max` dead-letters per `windowMs` for this consumer (all its
   * partitions together; with a writer, each letter counts). Default 1 000
   * per 60 s; `false` turns the limit off. The record that would exceed it
   * is neither dead-lettered nor committed: the consumer stops with
   * ERR_DEAD_LETTER_RATE (`wait()` rejects, `onError` is called) and the
   * record is delivered again after a restart.
   */
  readonly rateLimit?: DeadLetterRateLimit | false;
}

/** Dead letters published to a topic (the default form: `deadLetter: {}` publishes to `<topic>.dlq`). */
export interface DeadLetterTopicOptions extends DeadLetterLimitOptions {
  /**
   * Topic, or a function of the failed record. Default `<topic>.dlq`. A
   * function that throws or returns no topic name stops the consumer with a
   * non-retriable ERR_DEAD_LETTER (`cause`: what it threw): the record is
   * neither dead-lettered nor committed, and is delivered again on restart.
   */
  readonly topic?: string | ((message: Message) => string);
  /** Producer to publish with. Default: one the consumer creates from its transport (and closes). */
  readonly producer?: TransportProducer;
  /** Not with a topic: see {@link DeadLetterWriterOptions}. */
  readonly writer?: undefined;
}

/**
 * Dead letters handed to a {@link DeadLetterWriter} (S3, a table, a file)
 * instead of a topic. Same guarantees as a publish: a record is committed
 * only after `write` resolved; a rejected write stops the consumer with
 * ERR_DEAD_LETTER and the record is delivered again after a restart. A
 * batch handler call's dead letters go in one `write`.
 */
export interface DeadLetterWriterOptions extends DeadLetterLimitOptions {
  /** Stores the dead letters. Not closed by the consumer. */
  readonly writer: DeadLetterWriter;
  /** Not with a writer (a ConfigError names it). */
  readonly topic?: undefined;
  /** Not with a writer (a ConfigError names it). */
  readonly producer?: undefined;
}

/** Where records that cannot be processed go: a topic (and producer), or a writer — exactly one. */
export type DeadLetterOptions = DeadLetterTopicOptions | DeadLetterWriterOptions;

/** What the stall watchdog reports about a partition whose work runs too long. */
export interface StallInfo {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** The first record of the running work not yet done: no offset at or after it commits until it is. */
  readonly offset: number;
  /** How long the work has been running, in ms. */
  readonly runningMs: number;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Start from the earliest offset when the group has no commit. Default true. */
  readonly fromBeginning?: boolean;
  /** A batch closes at `maxRecords` records or `maxWaitMs` after its first record. Defaults 500 / 20 ms (seed 000). */
  readonly batch?: { readonly maxRecords?: number; readonly maxWaitMs?: number };
  /**
   * Retry of failed records with exponential backoff and jitter. Default: 3
   * retries (4 attempts), 1 s → 30 s (seed 000). Permanent errors
   * (isPermanentError) are not retried. `false` disables retries.
   */
  readonly retry?: BackoffOptions | false;
  /**
   * Where records go once retries are exhausted or the error is permanent.
   * Without it (default false) such a record stops the consumer with its error
   * and is not committed: nothing is lost, nothing skipped.
   */
  readonly deadLetter?: DeadLetterOptions | false;
  /**
   * How long stop() (unless given its own `timeoutMs`) and a revocation wait
   * for in-flight work, in ms. At the deadline the work's `ctx.signal`
   * aborts and what it did not finish is left uncommitted. A revocation's
   * deadline counts from when it begins (the partition's batch signal
   * aborts), and aborts that partition's handlers only. Default 10 s.
   *
   * The transport bounds a revocation and its own close by its
   * `rebalanceTimeoutMs`; the runtime asks for `drainTimeoutMs` + 6 s (at
   * most 3 600 000), so the drain, stop()'s 1 s grace and the final commit
   * fit. A `stop({ timeoutMs })` longer than that bound ends when the
   * transport's close gives up: handlers still running then see `ctx.signal`
   * abort and what they finish is not committed.
   */
  readonly drainTimeoutMs?: number;
  /**
   * The stall watchdog: work of a partition — a record handler call with its
   * retries and backoff, or a batch handler call with its retries — running
   * longer than this many ms holds back every later commit of the partition.
   * It is logged once (`warn`, naming group, topic, partition, offset and how
   * long it has run), counted in `metrics().stalls` and passed to `onStall`;
   * when it finishes, an `info` log says so. The work is never aborted: slow
   * can be legitimate. Default 30 000; `false` or 0 disables.
   */
  readonly stallWarningMs?: number | false;
  /** Called once per stalled piece of work (see `stallWarningMs`). Must not throw (a throw is logged and ignored). */
  readonly onStall?: (info: StallInfo) => void;
  readonly logger?: Logger;
  /** A non-empty string; the transport's client id by default. */
  readonly clientId?: string;
  /**
   * Called with a non-fatal transport or commit error, and with the fatal
   * error that stops the consumer — once per stop: a fatal error raised
   * after the first (several partitions failing at once) is logged at
   * `warn`, not reported again. Must not throw (a throw is logged and ignored).
   * Never called after stop() resolved: late errors are logged at `debug`.
   */
  readonly onError?: (error: unknown) => void;
}

/** Seed 000's consumer metrics. */
export interface ConsumerMetrics {
  readonly processed: number;
  /**
   * Failed handler attempts: a record handler call that threw (each retry
   * that fails again counts again), or a record a batch handler call reported
   * as `retry` or `deadLetter` (or, when it threw, each record of that call).
   */
  readonly failed: number;
  readonly deadLettered: number;
  readonly retries: number;
  readonly batches: number;
  readonly batchesFailed: number;
  /** Sum of handler latencies in ms (per batch for batch handlers). */
  readonly totalLatencyMs: number;
  /** Epoch ms of the last processed record, or undefined. */
  readonly lastProcessedAt: number | undefined;
  /** Handler calls (with their retries) the stall watchdog reported as running longer than stallWarningMs. */
  readonly stalls: number;
  /**
   * Failed attempts (see `failed`) whose error — or an error in its `cause`
   * chain — is a record that cannot be read: ERR_DECODE (bad bytes, not a
   * CloudEvent), ERR_VALIDATION (the schema refused the data) or
   * ERR_EMPTY_MESSAGE (a tombstone), the codes the handler adapters
   * (`jsonHandler`, `eventHandler`, their batch forms) fail with (seed 000's
   * UnmarshalErrors). These errors are permanent, never retried, so each
   * such record counts once per delivery.
   */
  readonly decodeErrors: number;
  /**
   * Failed attempts by error, counting exactly what `failed` counts (each
   * failed attempt once, retries included), so the values sum to `failed`.
   * The key is the error's code for a TributaryError (`ERR_DECODE`,
   * `ERR_RETRIES_EXHAUSTED`, …; the outermost error, not its cause); else
   * the name of the thrown value's constructor (`TypeError`, a user's
   * `LedgerTimeoutError`, at most 100 characters); `typeof` for a thrown
   * primitive (`string`) and `null`; `unknown` when no name can be read. A
   * batch handler's `retry()` without error counts as `ERR_HANDLER`.
   *
   * Bounded: every Tributary error code keeps its own key, and at most 100
   * other keys are kept; failures with a further new key count under
   * `other`, so code that makes error classes on the fly cannot grow it
   * without limit.
   */
  readonly failuresByCode: Readonly<Record<string, number>>;
}

/** The budget of one `stop()` call (seed 001's `Stop(ctx)`). */
export interface StopOptions {
  /**
   * How long this call lets in-flight work drain, in ms, instead of the
   * consumer's `drainTimeoutMs` (an integer, 0 to 3 600 000).
   */
  readonly timeoutMs?: number;
  /** Aborting it ends the drain at once, as the deadline does. */
  readonly signal?: AbortSignal;
}

/**
 * A consumer with a managed lifecycle (seed 001's ManagedConsumer).
 */
export interface Consumer {
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * Starts consuming records one at a time (in order per partition).
   * Resolves once running. A start that fails (the transport throws or its
   * group consumer's run rejects) leaves the consumer stopped, what it made
   * closed: start() and wait() reject with the error; a second start()
   * rejects with ERR_CLOSED.
   */
  start(handler: MessageHandler): Promise<void>;
  /** Starts consuming batches (per partition, in order) with per-record outcomes. */
  startBatch(handler: BatchHandler): Promise<void>;
  /**
   * Stops fetching, waits for in-flight work, commits what was processed,
   * then leaves the group. Idempotent: every call returns the same promise.
   *
   * The drain lasts until in-flight work is done or its budget ends:
   * `options.timeoutMs` when given, else drainTimeoutMs, counted from the
   * call; or at once when `options.signal` aborts (or is aborted already).
   * When it ends, handlers' `ctx.signal` aborts (ERR_TIMEOUT, or ERR_ABORTED
   * whose `cause` is the signal's reason) and records not finished are not
   * committed; stop() then waits at most 1 s more for handlers to return,
   * and for the dead-letter producer it made to close (past that, logged,
   * the close goes on in the background). The transport's own bound
   * (see drainTimeoutMs) may end the drain earlier: handlers still running
   * then see `ctx.signal` abort. Once stop() resolved, nothing is committed,
   * dead-lettered or passed to onError.
   *
   * `ctx.stopping` aborts at once with a TributaryError ERR_ABORTED.
   * A later call while stopping can shorten the drain (its own timeoutMs,
   * counted from that call, or its signal), never lengthen it.
   *
   * Rejects with a ConfigError naming each bad field, and does nothing
   * else, when `options` is invalid.
   */
  stop(options?: StopOptions): Promise<void>;
  isRunning(): boolean;
  /**
   * Resolves when the consumer has stopped; rejects with the error that
   * stopped it, if any — a TributaryError ERR_STOPPED whose `cause` is the
   * reason when that is not an Error (also undefined: `throw undefined`,
   * `ctx.control.stop(undefined)`).
   */
  wait(): Promise<void>;
  /** A frozen snapshot of the counters, taken at the call. */
  metrics(): ConsumerMetrics;
}
