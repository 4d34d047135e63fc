import { setMaxListeners } from 'node:events';
import { Backoff, sleep, type BackoffOptions } from '../backoff';
import { ConfigCheck, freezeOptions } from '../config';
import { ConfigError, ErrorCodes, RetriesExhaustedError, TributaryError, causeChain, errorMessage, isPermanentError, isTributaryError } from '../errors';
import type { BatchHandler, ConsumerControl, HandlerContext, MessageHandler, RecordOutcome } from '../handler';
import { silentLogger, type Logger } from '../logger';
import { partitionKey, type Message, type TopicPartition, type TopicPartitionOffset } from '../message';
import type { GroupConsumer, RecordBatch, Transport, TransportProducer } from '../transport';
import { createDeadLetter, defaultDeadLetterTopic, type DeadLetter, type DeadLetterWriter } from './dead-letter';
import { OffsetTracker } from './offset-tracker';
import { SlidingWindowLimit } from './sliding-window-limit';
import type { Consumer, ConsumerMetrics, ConsumerOptions, DeadLetterRateLimit, StallInfo, StopOptions } from './types';

/**
 * Defaults of seed 000: batches of 500 records or 20 ms; 3 retries from 1 s to
 * 30 s; a 10 s drain. Guardrails: a stall warning after 30 s; at most 1 000
 * dead-letters per minute.
 */
export const CONSUMER_DEFAULTS = Object.freeze({
  fromBeginning: true,
  maxRecords: 500,
  maxWaitMs: 20,
  retry: Object.freeze({ maxAttempts: 4, initialMs: 1_000, maxMs: 30_000, multiplier: 2 }) satisfies BackoffOptions,
  drainTimeoutMs: 10_000,
  stallWarningMs: 30_000,
  deadLetterRateLimit: Object.freeze({ max: 1_000, windowMs: 60_000 }) satisfies Required<DeadLetterRateLimit>,
});

/** After the drain deadline aborts handlers, how long stop() still waits for them. */
const STOP_GRACE_MS = 1_000;

/** Longest drain a consumer option or a stop() call may ask for. */
const MAX_DRAIN_MS = 3_600_000;

/**
 * What the runtime adds to drainTimeoutMs to get the `rebalanceTimeoutMs` it
 * asks of the transport (capped at MAX_DRAIN_MS, the largest the transports
 * accept): the transport bounds onRevoked and close() by it, and must not cut
 * a drain short — the drain, STOP_GRACE_MS and the final commit fit in it.
 */
const REBALANCE_MARGIN_MS = 5_000;

/** The `rebalanceTimeoutMs` the runtime gives the transport for a drainTimeoutMs. */
function rebalanceTimeoutFor(drainTimeoutMs: number): number {
  return Math.min(MAX_DRAIN_MS, drainTimeoutMs + STOP_GRACE_MS + REBALANCE_MARGIN_MS);
}

/** Keys of the options objects, for the ConfigError that names an unknown (misspelt) one. */
const STOP_OPTION_KEYS: readonly string[] = ['timeoutMs', 'signal'];
const DEAD_LETTER_KEYS: readonly string[] = ['topic', 'producer', 'writer', 'rateLimit'];
const RATE_LIMIT_KEYS: readonly string[] = ['max', 'windowMs'];

/** Names each key of `value` not in `known` as a problem of `prefix.key`. */
function rejectUnknownKeys(check: ConfigCheck, value: object, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) check.problem(prefix ? `${prefix}.${key}` : key, `is not a known option (known: ${known.join(', ')})`);
  }
}

function isPlainOptions(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Codes of a record that cannot be read, whatever handler reads it: what the
 * adapters (jsonHandler, eventHandler and their batch forms) fail with.
 */
const DECODE_ERROR_CODES: ReadonlySet<string> = new Set(['ERR_DECODE', 'ERR_VALIDATION', 'ERR_EMPTY_MESSAGE']);

/** Keys of metrics().failuresByCode besides Tributary's error codes; past it, new keys count under 'other'. */
const MAX_FAILURE_KEYS = 100;
const MAX_FAILURE_KEY_LENGTH = 100;

/** The key an error counts under in metrics().failuresByCode (see ConsumerMetrics). */
function failureKey(err: unknown): string {
  if (isTributaryError(err) && typeof err.code === 'string') return err.code;
  if (err === null) return 'null';
  if (typeof err !== 'object' && typeof err !== 'function') return typeof err;
  try {
    // A Proxy or a hostile getter may throw: a metric must never fail the record's handling.
    const name: unknown = (err as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name.length > 0 ? name.slice(0, MAX_FAILURE_KEY_LENGTH) : 'unknown';
  } catch {
    return 'unknown';
  }
}

function isDecodeError(err: unknown): boolean {
  return causeChain(err).some((e) => isTributaryError(e) && DECODE_ERROR_CODES.has(e.code));
}

/** True for an AbortSignal, also one from another realm (duck-typed). */
function isAbortSignal(value: unknown): value is AbortSignal {
  const s = value as Partial<AbortSignal> | null;
  return typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function';
}

/**
 * Checks the options of one stop() call (also `SubscriberScheduler.shutdown`
 * and `Bus.shutdown`, named by `component`): undefined when valid, else one
 * ConfigError naming every bad field — for the caller to reject with, since
 * those methods return a promise and change nothing when it is invalid.
 */
export function stopOptionsError(options: unknown, component: string): ConfigError | undefined {
  if (options === undefined) return undefined;
  const check = new ConfigCheck(component);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    check.problem('options', 'must be { timeoutMs?, signal? } or undefined');
  } else {
    rejectUnknownKeys(check, options, STOP_OPTION_KEYS, '');
    const { timeoutMs, signal } = options as Record<string, unknown>;
    if (timeoutMs !== undefined) check.integer(timeoutMs, 'timeoutMs', 0, MAX_DRAIN_MS);
    check.check(signal === undefined || isAbortSignal(signal), 'signal', 'must be an AbortSignal');
  }
  return check.problems.length > 0 ? new ConfigError(component, check.problems) : undefined;
}

/** Settles once `signal` aborts; `cancel` removes the listener when something else settled first. */
function abortedPromise(signal: AbortSignal): { readonly promise: Promise<void>; cancel(): void } {
  if (signal.aborted) return { promise: Promise.resolve(), cancel: () => undefined };
  let onAbort!: () => void;
  const promise = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, cancel: () => signal.removeEventListener('abort', onAbort) };
}

/** The stall watchdog's tick: a quarter of the threshold, within [10 ms, 1 s] — a stall is reported at most that late. */
function stallTickMs(stallWarningMs: number): number {
  return Math.min(1_000, Math.max(10, Math.floor(stallWarningMs / 4)));
}

interface ResolvedOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly maxRecords: number;
  readonly maxWaitMs: number;
  readonly backoff: Backoff | undefined;
  /** Set when dead letters go to a topic. */
  readonly deadLetterTopic: ((message: Message) => string) | undefined;
  readonly deadLetterProducer: TransportProducer | undefined;
  /** Set when dead letters go to a writer (then deadLetterTopic is not). */
  readonly deadLetterWriter: DeadLetterWriter | undefined;
  readonly deadLetterRateLimit: Required<DeadLetterRateLimit> | undefined;
  readonly drainTimeoutMs: number;
  /** 0 when the watchdog is off. */
  readonly stallWarningMs: number;
  readonly onStall: ((info: StallInfo) => void) | undefined;
  readonly logger: Logger;
  readonly clientId: string | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
}

function resolveOptions(options: ConsumerOptions): ResolvedOptions {
  const check = new ConfigCheck('consumer');
  const opts = (options ?? {}) as Partial<ConsumerOptions>;
  check.nonEmptyString(opts.groupId, 'groupId');
  const topicsOk =
    Array.isArray(opts.topics) && opts.topics.length > 0 && opts.topics.every((t) => typeof t === 'string' && t.length > 0);
  check.check(topicsOk, 'topics', 'must be a non-empty array of non-empty topic names');
  const maxRecords = opts.batch?.maxRecords ?? CONSUMER_DEFAULTS.maxRecords;
  const maxWaitMs = opts.batch?.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs;
  check.integer(maxRecords, 'batch.maxRecords', 1, 1_000_000);
  check.integer(maxWaitMs, 'batch.maxWaitMs', 0, 3_600_000);
  const drainTimeoutMs = opts.drainTimeoutMs ?? CONSUMER_DEFAULTS.drainTimeoutMs;
  check.integer(drainTimeoutMs, 'drainTimeoutMs', 0, MAX_DRAIN_MS);
  check.fn(opts.onError, 'onError');
  const stallWarningMs = opts.stallWarningMs === false ? 0 : (opts.stallWarningMs ?? CONSUMER_DEFAULTS.stallWarningMs);
  check.check(
    typeof stallWarningMs === 'number' && Number.isInteger(stallWarningMs) && stallWarningMs >= 0 && stallWarningMs <= 86_400_000,
    'stallWarningMs',
    `must be false or an integer between 0 (off) and 86400000 (got ${typeof stallWarningMs === 'number' ? stallWarningMs : typeof stallWarningMs})`,
  );
  check.fn(opts.onStall, 'onStall');
  if (opts.clientId !== undefined) check.nonEmptyString(opts.clientId, 'clientId');
  let backoff: Backoff | undefined;
  if (opts.retry !== false) {
    const given = Object.fromEntries(Object.entries(opts.retry ?? {}).filter(([, v]) => v !== undefined));
    backoff = check.nested('retry', () => new Backoff({ ...CONSUMER_DEFAULTS.retry, ...given }));
  }
  let deadLetterTopic: ((message: Message) => string) | undefined;
  let deadLetterProducer: TransportProducer | undefined;
  let deadLetterWriter: DeadLetterWriter | undefined;
  let deadLetterRateLimit: Required<DeadLetterRateLimit> | undefined;
  const deadLetter: unknown = opts.deadLetter;
  if (deadLetter !== undefined && deadLetter !== false && !isPlainOptions(deadLetter)) {
    check.problem('deadLetter', 'must be { topic?, producer?, rateLimit? }, { writer, rateLimit? } or false');
  } else if (deadLetter) {
    rejectUnknownKeys(check, deadLetter, DEAD_LETTER_KEYS, 'deadLetter');
    // Checked at run time: JavaScript callers are not held to the union type.
    const { topic: t, producer: p, writer: w } = opts.deadLetter as { topic?: unknown; producer?: unknown; writer?: unknown };
    if (w !== undefined) {
      const conflict = 'cannot be combined with deadLetter.writer: give deadLetter.topic (and producer) or deadLetter.writer, not both';
      check.check(t === undefined, 'deadLetter.topic', conflict);
      check.check(p === undefined, 'deadLetter.producer', conflict);
      check.check(isDeadLetterWriter(w), 'deadLetter.writer', 'must be a DeadLetterWriter (an object with a write(letters, context) method)');
      deadLetterWriter = w as DeadLetterWriter;
    } else {
      if (t === undefined) deadLetterTopic = defaultDeadLetterTopic;
      else if (typeof t === 'string' && t.length > 0) deadLetterTopic = () => t;
      else if (typeof t === 'function') deadLetterTopic = t as (message: Message) => string;
      else check.problem('deadLetter.topic', 'must be a non-empty string or a function of the record');
      const producer = p as Partial<TransportProducer> | null | undefined;
      check.check(producer === undefined || typeof producer?.send === 'function', 'deadLetter.producer', 'must be a TransportProducer');
      deadLetterProducer = producer as TransportProducer | undefined;
    }
    const limit: unknown = (deadLetter as { rateLimit?: unknown }).rateLimit;
    if (limit !== false) {
      if (limit !== undefined && (typeof limit !== 'object' || limit === null || Array.isArray(limit))) {
        check.problem('deadLetter.rateLimit', 'must be { max?, windowMs? } or false');
      } else {
        if (limit !== undefined) rejectUnknownKeys(check, limit, RATE_LIMIT_KEYS, 'deadLetter.rateLimit');
        const given = limit as DeadLetterRateLimit | undefined;
        const max = given?.max ?? CONSUMER_DEFAULTS.deadLetterRateLimit.max;
        const windowMs = given?.windowMs ?? CONSUMER_DEFAULTS.deadLetterRateLimit.windowMs;
        check.integer(max, 'deadLetter.rateLimit.max', 1, 1_000_000);
        check.integer(windowMs, 'deadLetter.rateLimit.windowMs', 1, 86_400_000);
        deadLetterRateLimit = { max, windowMs };
      }
    }
  }
  check.throwIfInvalid();
  return freezeOptions({
    groupId: opts.groupId as string,
    topics: Object.freeze([...(opts.topics as string[])]),
    fromBeginning: opts.fromBeginning ?? CONSUMER_DEFAULTS.fromBeginning,
    maxRecords,
    maxWaitMs,
    backoff,
    deadLetterTopic,
    deadLetterProducer,
    deadLetterWriter,
    deadLetterRateLimit,
    drainTimeoutMs,
    stallWarningMs,
    onStall: opts.onStall,
    logger: opts.logger ?? silentLogger,
    clientId: opts.clientId,
    onError: opts.onError,
  });
}

/**
 * What is wrong with a batch handler's outcomes for `count` records, or
 * undefined when they are usable: nothing (all acked), or an array of exactly
 * `count` outcomes without holes or undefined/null entries.
 */
function outcomesProblem(outcomes: unknown, count: number): string | undefined {
  if (outcomes === undefined) return undefined;
  if (!Array.isArray(outcomes)) return `${typeof outcomes} outcomes for ${count} records`;
  if (outcomes.length !== count) return `${outcomes.length} outcomes for ${count} records`;
  for (let i = 0; i < count; i++) {
    // `in` sees a hole of a sparse array, which indexing reads as undefined.
    const o: unknown = outcomes[i];
    if (!(i in outcomes) || o === undefined || o === null) return `no outcome at index ${i} of ${count} (a hole, undefined or null)`;
  }
  return undefined;
}

/** True for an object with a `write` method (a DeadLetterWriter; its signature is not checkable at run time). */
function isDeadLetterWriter(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Partial<DeadLetterWriter>).write === 'function';
}

/** A record to dead-letter, before its DeadLetter is built. */
interface LetterToSend {
  readonly message: Message;
  readonly reason: unknown;
  readonly attempts: number;
  readonly firstFailureAt: number;
}

/** Per-partition state: a buffer filling towards the next handler call, and the offsets in flight. */
interface PartitionState {
  readonly tp: TopicPartition;
  readonly tracker: OffsetTracker;
  buffer: Message[];
  timer: NodeJS.Timeout | undefined;
  /** The chain of handler invocations for this partition (processing is sequential per partition). */
  processing: Promise<void>;
  /** Flushes queued on `processing` and not finished: non-zero while the partition has work pending. */
  inFlight: number;
  /** Set on revocation: buffered records are dropped and left to the next owner. */
  revoked: boolean;
  /**
   * Aborted as soon as the consumer begins to stop or the partition begins to
   * be revoked (its batch signal aborted): no further record starts, and its
   * handler sees it as `ctx.stopping`. One per assignment.
   */
  readonly stopping: AbortController;
  /**
   * The partition's handlers' `ctx.signal`: aborted when the drain of the
   * partition must end — drainTimeoutMs after its revocation began, or when
   * stop()'s drain ends (its deadline or its signal). One per assignment.
   */
  readonly abort: AbortController;
  /** Ends the drain of a revocation that began while the consumer ran (see `abort`). */
  revokeTimer: NodeJS.Timeout | undefined;
  /** The transport's batch signal this partition follows, and how to stop following it. */
  followed: AbortSignal | undefined;
  unfollow: (() => void) | undefined;
  committed: number | undefined;
  /**
   * For the stall watchdog: monotonic ms when the running work began (a record
   * with its retries, or a batch call with its retries); undefined when idle.
   */
  workStartedAt: number | undefined;
  /** The offset the watchdog reported the running work stalled at; undefined when it was not reported. */
  stalledOffset: number | undefined;
}

type Mode = { kind: 'record'; handler: MessageHandler } | { kind: 'batch'; handler: BatchHandler };

/**
 * How handling records ended: all done (acked or dead-lettered); `leave` —
 * stopping or revoked, the rest is left uncommitted to the next owner, not a
 * failure; `failed` — the consumer stops (or was stopped by a fatal error).
 */
type HandleResult = 'done' | 'leave' | 'failed';

/**
 * Creates a group consumer runtime on a transport: batching by size or time,
 * ordered processing per partition with partitions in parallel, retries with
 * backoff, dead-lettering, at-least-once commits of the contiguous processed
 * prefix, and a graceful, bounded stop.
 *
 * Guarantees:
 * - Records of one partition are handled in offset order, one handler call at
 *   a time; a record is retried before any later record of its partition is
 *   handled.
 * - An offset is committed only when every earlier record of its partition
 *   was acked or dead-lettered (published to the dead-letter topic, or
 *   written by the deadLetter.writer). A record that can be neither
 *   (retries exhausted without a dead-letter destination, a failed
 *   dead-letter publish or write, or a dead-letter past the rate limit)
 *   stops the consumer; it is delivered again on restart.
 * - Work of a partition running longer than stallWarningMs is reported (log,
 *   metrics, onStall) once, and its end logged; it is never aborted.
 * - On revocation, in-flight work of the partition finishes (bounded by
 *   drainTimeoutMs) and is committed before the partition moves; records
 *   buffered or delivered but not started are left to the next owner. With a
 *   transport that sets `RecordBatch.signal` the runtime learns of the
 *   revocation when it starts, not when the batch in flight ends: a record
 *   handler stops after the record in flight, and `ctx.stopping` of the
 *   partition's handler aborts (retry backoffs end; failures — and a batch
 *   handler's retry and dead-letter outcomes — then leave the record to the
 *   next owner, never dead-letter it, take a rate-limit slot or stop the
 *   consumer). The same happens to every partition when the consumer stops.
 * - A start that fails leaves the consumer stopped (wait() rejects with the
 *   error); nothing is committed, dead-lettered or reported once stop()
 *   resolved.
 */
export function createConsumer(transport: Transport, options: ConsumerOptions): Consumer {
  return new RuntimeConsumer(transport, resolveOptions(options));
}

/**
 * The drain of one stop: ends at its deadline (the first call's timeoutMs or
 * drainTimeoutMs, shortened by later calls) or when a caller's signal aborts.
 */
interface Drain {
  /** Monotonic ms. */
  deadlineAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Removes the listeners on callers' signals. */
  readonly cleanups: (() => void)[];
  /** Why the drain ended before the work did; undefined while it runs. */
  reason: TributaryError | undefined;
  /** Monotonic ms when its deadline or a caller's signal ended it; undefined when the work ended first. */
  endedAt: number | undefined;
  /** Ends it (the first call wins). */
  readonly end: (reason: TributaryError) => void;
}

class RuntimeConsumer implements Consumer {
  readonly #transport: Transport;
  readonly #opts: ResolvedOptions;
  readonly #partitions = new Map<string, PartitionState>();
  /**
   * Aborted when stop()'s drain ends (deadline or signal), and with it every
   * partition's `abort` (handlers' ctx.signal): handlers should give up.
   * Partitions assigned after that start aborted.
   */
  readonly #abort = new AbortController();
  /**
   * Aborted as soon as stop begins, and with it every partition's `stopping`
   * (what handlers see as ctx.stopping): backoff waits end at once (the
   * record is redelivered later).
   */
  readonly #stopping = new AbortController();
  readonly #control: ConsumerControl;
  #group: GroupConsumer | undefined;
  #mode: Mode | undefined;
  #state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  #fatal: unknown;
  /**
   * Set by the first fatal error (which may be undefined: `throw undefined`,
   * control.stop(undefined)): later ones are logged, not reported again, and
   * wait() rejects.
   */
  #failed = false;
  /**
   * Set once the group consumer's close resolved (or stop() gave up waiting
   * for it): from then on nothing is committed, reported through onError nor
   * dead-lettered — work that returns that late is logged at debug and its
   * records stay uncommitted.
   */
  #closed = false;
  #stopPromise: Promise<void> | undefined;
  #drain: Drain | undefined;
  #stopped!: () => void;
  readonly #stoppedPromise: Promise<void>;
  #dlqProducer: TransportProducer | undefined;
  #ownsDlqProducer = false;
  #commitInFlight: Promise<void> | undefined;
  #commitAgain = false;
  readonly #deadLetterLimit: SlidingWindowLimit | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #metrics = {
    processed: 0,
    failed: 0,
    deadLettered: 0,
    retries: 0,
    batches: 0,
    batchesFailed: 0,
    totalLatencyMs: 0,
    lastProcessedAt: undefined as number | undefined,
    stalls: 0,
    decodeErrors: 0,
  };
  /** metrics().failuresByCode; its keys besides error codes are bounded by MAX_FAILURE_KEYS. */
  readonly #failuresByCode = new Map<string, number>();
  #otherFailureKeys = 0;

  constructor(transport: Transport, opts: ResolvedOptions) {
    this.#transport = transport;
    this.#opts = opts;
    this.#stoppedPromise = new Promise((resolve) => (this.#stopped = resolve));
    const limit = opts.deadLetterRateLimit;
    this.#deadLetterLimit = limit && new SlidingWindowLimit(limit.max, limit.windowMs);
    this.#control = {
      pause: (partitions) => this.#group?.pause(partitions ?? this.#group.assignment()),
      resume: (partitions) => this.#group?.resume(partitions ?? this.#group.assignment()),
      stop: (reason) => this.#fail(reason),
    };
  }

  get groupId(): string {
    return this.#opts.groupId;
  }

  get topics(): readonly string[] {
    return this.#opts.topics;
  }

  start(handler: MessageHandler): Promise<void> {
    return this.#start({ kind: 'record', handler });
  }

  startBatch(handler: BatchHandler): Promise<void> {
    return this.#start({ kind: 'batch', handler });
  }

  isRunning(): boolean {
    return this.#state === 'running';
  }

  metrics(): ConsumerMetrics {
    return Object.freeze({ ...this.#metrics, failuresByCode: Object.freeze(Object.fromEntries(this.#failuresByCode)) });
  }

  async wait(): Promise<void> {
    await this.#stoppedPromise;
    if (!this.#failed) return;
    const fatal = this.#fatal;
    if (fatal instanceof Error) throw fatal;
    const stopped = new TributaryError('ERR_STOPPED', `consumer ${this.#opts.groupId} stopped: ${errorMessage(fatal)}`, { cause: fatal });
    // TributaryError drops an undefined cause; this one says what the reason was (`throw undefined`, control.stop()).
    if (!Object.hasOwn(stopped, 'cause')) Object.defineProperty(stopped, 'cause', { value: fatal, writable: true, configurable: true });
    throw stopped;
  }

  async #start(mode: Mode): Promise<void> {
    if (typeof mode.handler !== 'function') throw new TypeError('handler must be a function');
    if (this.#state !== 'idle') {
      throw new TributaryError(
        this.#state === 'running' ? 'ERR_STATE' : 'ERR_CLOSED',
        `consumer ${this.#opts.groupId} cannot start: it is ${this.#state}`,
      );
    }
    this.#mode = mode;
    // Set before run(): the transport may deliver before run() resolves.
    this.#state = 'running';
    try {
      // A writer needs no producer; the topic form takes the user's or makes its own.
      if (this.#opts.deadLetterTopic) {
        const own = this.#opts.deadLetterProducer === undefined;
        this.#dlqProducer =
          this.#opts.deadLetterProducer ?? this.#transport.producer({ clientId: `${this.#opts.clientId ?? this.#opts.groupId}-dlq`, logger: this.#opts.logger });
        this.#ownsDlqProducer = own;
      }
      this.#group = this.#transport.groupConsumer({
        groupId: this.#opts.groupId,
        topics: this.#opts.topics,
        fromBeginning: this.#opts.fromBeginning,
        maxBatchRecords: this.#opts.maxRecords,
        // The transport bounds onRevoked and close() by it: it must outlast the drain (see drainTimeoutMs).
        rebalanceTimeoutMs: rebalanceTimeoutFor(this.#opts.drainTimeoutMs),
        logger: this.#opts.logger,
        ...(this.#opts.clientId === undefined ? {} : { clientId: this.#opts.clientId }),
      });
      await this.#group.run({
        onBatch: (batch) => this.#onBatch(batch),
        onAssigned: (partitions) => this.#onAssigned(partitions),
        onRevoked: (partitions) => this.#onRevoked(partitions),
        onError: (error) => this.#onTransportError(error),
      });
    } catch (err) {
      // A start that fails — synchronously (a closed transport, an option it
      // refuses) or in run() — leaves the consumer stopped: what was created
      // is closed, wait() rejects with `err`, and a new consumer is needed.
      if (!this.#failed) {
        this.#failed = true;
        this.#fatal = err;
      }
      await this.stop();
      throw err;
    }
    // Started only once running: a failed or stopped start leaves no timer behind.
    if (this.#state === 'running' && this.#opts.stallWarningMs > 0) {
      // One timer per consumer, not per record; unref'd so it never keeps a process alive.
      this.#watchdog = setInterval(() => this.#checkStalls(), stallTickMs(this.#opts.stallWarningMs));
      this.#watchdog.unref();
    }
    this.#log('info', { groupId: this.#opts.groupId, topics: this.#opts.topics }, 'consumer started');
  }

  stop(options?: StopOptions): Promise<void> {
    const invalid = stopOptionsError(options, 'consumer.stop');
    if (invalid) return Promise.reject(invalid);
    const budget = options ?? {};
    if (this.#stopPromise === undefined) this.#stopPromise = this.#doStop(budget);
    else this.#tightenDrain(budget, false);
    return this.#stopPromise;
  }

  async #doStop(budget: StopOptions): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      this.#stopped();
      return;
    }
    this.#state = 'stopping';
    // The same kind of reason as a revocation's (ERR_ABORTED), so ctx.stopping.reason reads alike.
    this.#stopping.abort(new TributaryError('ERR_ABORTED', `consumer ${this.#opts.groupId} is stopping`));
    for (const p of this.#partitions.values()) p.stopping.abort(this.#stopping.signal.reason);
    // Opened before the first await, so a concurrent stop(options) can shorten it.
    const drainEnded = new Promise<false>((resolve) => {
      const drain: Drain = {
        deadlineAt: Number.POSITIVE_INFINITY,
        timer: undefined,
        cleanups: [],
        reason: undefined,
        endedAt: undefined,
        end: (reason) => {
          if (drain.reason !== undefined) return;
          drain.reason = reason;
          drain.endedAt = performance.now();
          resolve(false);
        },
      };
      this.#drain = drain;
    });
    this.#tightenDrain(budget, true);
    const group = this.#group;
    // The transport's close awaits in-flight batches and calls onRevoked for
    // every owned partition, where the drain and final commit happen. Bound it:
    // when the drain ends handlers are aborted through ctx.signal, and after
    // a short grace stop() returns even if a handler ignores the signal.
    const closing = (group ? group.close() : Promise.resolve()).then(
      () => true,
      (err: unknown) => {
        this.#log('error', { err }, 'consumer close failed');
        return true;
      },
    );
    let closed = await Promise.race([closing, drainEnded]);
    const drain = this.#drain as Drain;
    this.#closeDrain();
    if (!closed) {
      const reason = drain.reason as TributaryError;
      this.#abortHandlers(reason);
      this.#log('warn', { groupId: this.#opts.groupId, reason: reason.message }, `${reason.message}; handlers aborted`);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_GRACE_MS)));
      closed = await Promise.race([closing, grace]);
      clearTimeout(timer);
      if (!closed) this.#log('error', { groupId: this.#opts.groupId }, 'a handler ignored its abort signal; stop() returns without the final commit');
    }
    // From here on nothing commits, reports or dead-letters (see #closed).
    this.#closed = true;
    // The transport may end its close before the drain did (its own bound,
    // rebalanceTimeoutMs, shorter than this stop's budget): work still running
    // is not committed, so its handlers must learn it through ctx.signal.
    const stranded = [...this.#partitions.values()].filter((p) => p.inFlight > 0 && !p.abort.signal.aborted);
    if (stranded.length > 0) {
      const reason = new TributaryError(
        'ERR_ABORTED',
        `consumer ${this.#opts.groupId}: the transport closed before the drain ended; work still running is aborted and not committed`,
      );
      for (const p of stranded) p.abort.abort(reason);
      this.#log(
        'warn',
        { groupId: this.#opts.groupId, partitions: stranded.map((p) => partitionKey(p.tp)) },
        `${reason.message} (${stranded.map((p) => partitionKey(p.tp)).join(', ')})`,
      );
    }
    for (const p of this.#partitions.values()) {
      clearTimeout(p.timer);
      clearTimeout(p.revokeTimer);
    }
    // Cleared after the drain, so work stuck while draining is still reported.
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    if (this.#ownsDlqProducer && this.#dlqProducer) await this.#closeDlqProducer(this.#dlqProducer, (drain.endedAt ?? drain.deadlineAt) + STOP_GRACE_MS);
    this.#state = 'stopped';
    this.#log('info', { groupId: this.#opts.groupId }, 'consumer stopped');
    this.#stopped();
  }

  /**
   * Closes the dead-letter producer the consumer made, waiting for its flush
   * until `deadlineAt` (monotonic ms: the drain's end plus STOP_GRACE_MS, the
   * bound stop() documents); past it stop() goes on and the close finishes,
   * or fails, in the background (logged).
   */
  async #closeDlqProducer(producer: TransportProducer, deadlineAt: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const closing = producer.close().then(
      () => true,
      (err: unknown) => {
        this.#log('error', { err, groupId: this.#opts.groupId }, 'dead-letter producer close failed');
        return true;
      },
    );
    const waitMs = Number.isFinite(deadlineAt) ? Math.max(0, deadlineAt - performance.now()) : STOP_GRACE_MS;
    const cut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
    const done = await Promise.race([closing, cut]);
    clearTimeout(timer);
    if (!done) {
      this.#log(
        'warn',
        { groupId: this.#opts.groupId, waitedMs: Math.round(waitMs) },
        `dead-letter producer close did not finish within stop()'s budget (waited ${Math.round(waitMs)} ms); it goes on in the background`,
      );
    }
  }

  /**
   * Applies one stop() call's budget to the drain in progress: its deadline
   * (timeoutMs, or drainTimeoutMs for the first call) when earlier than the
   * current one, and its signal. A call without options changes nothing.
   */
  #tightenDrain(budget: StopOptions, first: boolean): void {
    const drain = this.#drain;
    if (drain === undefined || drain.reason !== undefined || this.#state !== 'stopping') return;
    const timeoutMs = budget.timeoutMs ?? (first ? this.#opts.drainTimeoutMs : undefined);
    const deadlineAt = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    if (timeoutMs !== undefined && deadlineAt < drain.deadlineAt) {
      clearTimeout(drain.timer);
      drain.deadlineAt = deadlineAt;
      drain.timer = setTimeout(
        () => drain.end(new TributaryError('ERR_TIMEOUT', `consumer ${this.#opts.groupId} did not drain within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }
    const signal = budget.signal;
    if (signal === undefined) return;
    const onAbort = (): void =>
      drain.end(
        new TributaryError('ERR_ABORTED', `consumer ${this.#opts.groupId}: stop() was aborted through its signal before the drain ended`, {
          cause: signal.reason,
        }),
      );
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    drain.cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }

  /** The drain is over (work done or budget spent): no timer, no listener on a caller's signal outlives it. */
  #closeDrain(): void {
    const drain = this.#drain;
    if (drain === undefined) return;
    clearTimeout(drain.timer);
    for (const cleanup of drain.cleanups.splice(0)) cleanup();
    // Later stop(options) calls have nothing left to shorten.
    drain.reason ??= new TributaryError('ERR_CLOSED', `consumer ${this.#opts.groupId} has drained`);
  }

  /** stop()'s drain ended: every handler's ctx.signal aborts, also of partitions assigned later. */
  #abortHandlers(reason: TributaryError): void {
    this.#abort.abort(reason);
    for (const p of this.#partitions.values()) p.abort.abort(reason);
  }

  /**
   * Stops the consumer because of `error`; `wait()` rejects with it. Only the
   * first fatal error is reported (log at error, onError): when several
   * partitions fail at once, the others are logged at warn.
   */
  #fail(error: unknown): void {
    if (this.#closed) {
      // stop() has settled (or is settling) wait(): too late to change its outcome.
      this.#log('debug', { err: error, groupId: this.#opts.groupId }, `fatal error after the consumer closed (ignored): ${errorMessage(error)}`);
      return;
    }
    if (this.#failed) {
      this.#log('warn',
        { err: error, groupId: this.#opts.groupId },
        `further fatal error while the consumer stops (not reported again): ${errorMessage(error)}`,
      );
      return;
    }
    this.#failed = true;
    if (this.#fatal === undefined) this.#fatal = error;
    this.#log('error', { err: error, groupId: this.#opts.groupId }, 'consumer stopping on error');
    this.#report(error);
    void this.stop();
  }

  /** Calls onError; a throwing callback must not break the partition's processing or a commit. */
  #report(error: unknown): void {
    if (this.#closed) {
      // Late work of a closed consumer: the caller's stop() has resolved.
      this.#log('debug', { err: error, groupId: this.#opts.groupId }, `error after the consumer closed (not reported): ${errorMessage(error)}`);
      return;
    }
    try {
      this.#opts.onError?.(error);
    } catch (err) {
      this.#log('error', { err, groupId: this.#opts.groupId }, 'onError threw; ignored');
    }
  }

  /**
   * Logs through the user's logger. A logger that throws must not break a
   * partition's processing or a commit, nor crash the process from a timer
   * callback: its throw is dropped (there is nowhere left to report it).
   */
  #log(level: 'debug' | 'info' | 'warn' | 'error', obj: object, msg: string): void {
    try {
      this.#opts.logger[level](obj, msg);
    } catch {
      // Ignored: see above.
    }
  }

  #onTransportError(error: TributaryError): void {
    this.#log('warn', { err: error }, 'transport error');
    this.#report(error);
  }

  #onAssigned(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const key = partitionKey(tp);
      const existing = this.#partitions.get(key);
      // Kept when a transport delivered before announcing. Replaced when the
      // previous assignment was being given up and the transport assigned the
      // partition again without its onRevoked: the old state's late work must
      // not block or commit for the new one.
      if (existing && !(existing.stopping.signal.aborted && this.#state === 'running')) continue;
      if (existing) {
        // The old state's timers must not fire for the new one (a false
        // "revocation drain timed out", a flush of a state no longer used).
        existing.unfollow?.();
        clearTimeout(existing.revokeTimer);
        clearTimeout(existing.timer);
        existing.revokeTimer = undefined;
        existing.timer = undefined;
      }
      const stopping = new AbortController();
      const abort = new AbortController();
      // The partition's handler and its middleware waits listen on them.
      setMaxListeners(0, stopping.signal);
      setMaxListeners(0, abort.signal);
      if (this.#state !== 'running') stopping.abort(this.#stopping.signal.reason);
      if (this.#abort.signal.aborted) abort.abort(this.#abort.signal.reason);
      this.#partitions.set(key, {
        tp,
        tracker: new OffsetTracker(),
        buffer: [],
        timer: undefined,
        processing: Promise.resolve(),
        inFlight: 0,
        revoked: false,
        stopping,
        abort,
        revokeTimer: undefined,
        followed: undefined,
        unfollow: undefined,
        committed: undefined,
        workStartedAt: undefined,
        stalledOffset: undefined,
      });
    }
  }

  async #onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    const states: PartitionState[] = [];
    for (const tp of partitions) {
      const p = this.#partitions.get(partitionKey(tp));
      if (!p) continue;
      p.revoked = true;
      // For a transport without batch signals this is where the revocation is learnt.
      this.#beginRevocation(p, new TributaryError('ERR_ABORTED', `${tp.topic}/${tp.partition}: the partition is being revoked`));
      clearTimeout(p.timer);
      p.timer = undefined;
      p.buffer = [];
      states.push(p);
    }
    // Let in-flight handler calls finish until the partition's drain ends —
    // drainTimeoutMs after its revocation began, or stop()'s drain — then
    // commit what they completed. At that end `p.abort` (their ctx.signal)
    // is aborted already, so work still running gives up and is not committed.
    await Promise.all(
      states.map(async (p) => {
        const aborted = abortedPromise(p.abort.signal);
        await Promise.race([p.processing, aborted.promise]);
        aborted.cancel();
      }),
    );
    for (const p of states) clearTimeout(p.revokeTimer);
    await this.#commit(states);
    for (const p of states) {
      p.unfollow?.();
      // Only the state drained here: a partition assigned again while this
      // drain ran (a revocation that outlived the transport's rebalance
      // timeout) has a fresh state that must survive, or its next batch would
      // start a third one that commits past its running records.
      const key = partitionKey(p.tp);
      if (this.#partitions.get(key) === p) this.#partitions.delete(key);
    }
  }

  /**
   * The revocation of `p` begins (its batch signal aborted, or onRevoked):
   * no further record starts (`ctx.stopping`). When the consumer is running,
   * the drain deadline starts too: drainTimeoutMs from now the partition's
   * ctx.signal aborts. While stopping, stop()'s drain bounds it instead.
   */
  #beginRevocation(p: PartitionState, reason: unknown): void {
    if (p.stopping.signal.aborted) return;
    p.stopping.abort(reason);
    if (this.#state !== 'running' || p.abort.signal.aborted) return;
    const drainTimeoutMs = this.#opts.drainTimeoutMs;
    const { topic, partition } = p.tp;
    p.revokeTimer = setTimeout(() => {
      p.abort.abort(
        new TributaryError(
          'ERR_TIMEOUT',
          `${topic}/${partition}: the revocation did not drain within ${drainTimeoutMs} ms; work still running is aborted and not committed`,
          { context: { topic, partition } },
        ),
      );
      this.#log('warn',
        { groupId: this.#opts.groupId, topic, partition, drainTimeoutMs },
        `partition ${topic}/${partition}: revocation drain timed out after ${drainTimeoutMs} ms; its handlers' ctx.signal aborted`,
      );
    }, drainTimeoutMs);
    // A deadline for work that keeps the process alive itself, never a reason to stay alive.
    p.revokeTimer.unref();
  }

  async #onBatch(batch: RecordBatch): Promise<void> {
    const key = partitionKey(batch);
    let p = this.#partitions.get(key);
    if (!p) {
      // A transport that delivers before announcing the assignment.
      this.#onAssigned([{ topic: batch.topic, partition: batch.partition }]);
      p = this.#partitions.get(key);
    }
    if (p && batch.signal && batch.signal !== p.followed) this.#follow(p, batch.signal);
    // A partition being given up takes no new records: they are left, untracked, to the next owner.
    if (!p || p.revoked || p.stopping.signal.aborted || this.#state !== 'running') return;
    for (const m of batch.messages) {
      p.tracker.track(m.offset);
      p.buffer.push(m);
    }
    if (this.#mode?.kind === 'record' || p.buffer.length >= this.#opts.maxRecords || this.#opts.maxWaitMs === 0) {
      // Awaiting applies backpressure: the transport delivers this
      // partition's next batch only after this one is handled.
      await this.#flush(p);
    } else {
      p.timer ??= setTimeout(() => void this.#flush(p), this.#opts.maxWaitMs);
    }
  }

  /**
   * Aborts `p.stopping` when the transport's batch signal aborts (the
   * partition's revocation or the consumer's close has begun). Called once
   * per assignment: transports keep one signal per assignment.
   */
  #follow(p: PartitionState, signal: AbortSignal): void {
    p.unfollow?.();
    p.followed = signal;
    p.unfollow = undefined;
    if (signal.aborted) {
      this.#beginRevocation(p, signal.reason);
      return;
    }
    const onAbort = (): void => this.#beginRevocation(p, signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.unfollow = () => signal.removeEventListener('abort', onAbort);
  }

  /** Queues the buffered records of `p` for handling; resolves when they are handled. */
  #flush(p: PartitionState): Promise<void> {
    clearTimeout(p.timer);
    p.timer = undefined;
    p.inFlight++;
    p.processing = p.processing.then(async () => {
      try {
        while (p.buffer.length > 0 && !p.revoked && !p.stopping.signal.aborted && !this.#failed) {
          const take = p.buffer.length <= this.#opts.maxRecords ? p.buffer : p.buffer.slice(0, this.#opts.maxRecords);
          p.buffer = take === p.buffer ? [] : p.buffer.slice(this.#opts.maxRecords);
          let result: HandleResult;
          try {
            result = await this.#handle(take, p);
          } catch (err) {
            // Handler failures are caught inside #handle; this is a bug. The
            // chain must not reject: onBatch, onRevoked and later flushes of
            // the partition await it.
            this.#fail(err);
            return;
          }
          if (result !== 'done') return;
          this.#scheduleCommit();
        }
      } finally {
        p.inFlight--;
      }
    });
    return p.processing;
  }

  #context(attempt: number, p: PartitionState): HandlerContext {
    return {
      signal: p.abort.signal,
      stopping: p.stopping.signal,
      attempt,
      groupId: this.#opts.groupId,
      logger: this.#opts.logger,
      control: this.#control,
    };
  }

  /** Handles records of one partition in order. */
  async #handle(messages: Message[], p: PartitionState): Promise<HandleResult> {
    const mode = this.#mode as Mode;
    const started = Date.now();
    this.#metrics.batches++;
    let result: HandleResult = 'done';
    try {
      if (mode.kind === 'record') {
        for (const m of messages) {
          // The partition is being revoked or the consumer stops: start nothing
          // more. The rest stays unacknowledged, so uncommitted, for the next owner.
          if (p.stopping.signal.aborted) {
            result = 'leave';
            break;
          }
          // For the watchdog each record, with its retries, is one piece of work.
          this.#workStarted(p);
          result = await this.#handleRecord(m, p, mode.handler);
          this.#workEnded(p);
          if (result !== 'done') break;
        }
      } else {
        this.#workStarted(p);
        result = await this.#handleBatch(messages, p, mode.handler);
      }
    } finally {
      this.#workEnded(p);
    }
    // A batch left to the next owner (stopping, revoked) did not fail.
    if (result === 'failed') this.#metrics.batchesFailed++;
    this.#metrics.totalLatencyMs += Date.now() - started;
    return result;
  }

  async #handleRecord(m: Message, p: PartitionState, handler: MessageHandler): Promise<HandleResult> {
    let firstFailureAt: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(m, this.#context(attempt, p));
        this.#done(m, p);
        return 'done';
      } catch (err) {
        this.#countFailure(err);
        firstFailureAt ??= Date.now();
        const next = await this.#afterFailure([m], p, err, attempt);
        if (next === 'retry') continue;
        if (next === 'stop') return 'failed';
        if (next === 'leave') return 'leave';
        return this.#deadLetter([{ message: m, reason: this.#exhausted(err, attempt, m), attempts: attempt, firstFailureAt }], p);
      }
    }
  }

  /** True while the records of `p` must be left to the next owner: the consumer stops or the partition is being revoked. */
  #leaving(p: PartitionState): boolean {
    return this.#state !== 'running' || p.stopping.signal.aborted;
  }

  async #handleBatch(messages: Message[], p: PartitionState, handler: BatchHandler): Promise<HandleResult> {
    let pending: Message[] = messages;
    let firstFailureAt: number | undefined;
    for (let attempt = 1; pending.length > 0; attempt++) {
      let outcomes: readonly RecordOutcome[] | undefined;
      try {
        outcomes = (await handler(pending, this.#context(attempt, p))) ?? undefined;
      } catch (err) {
        outcomes = pending.map(() => ({ kind: 'retry', error: err }) as const);
      }
      // Checked at run time: JavaScript callers are not held to the type.
      const problem = outcomesProblem(outcomes, pending.length);
      if (problem !== undefined) {
        this.#fail(new TypeError(`batch handler returned ${problem}`));
        return 'failed';
      }
      // Stopping or revoked when the call returned: as for a record handler,
      // a failure then proves nothing about the record and a dead-letter
      // outcome is not applied — both are left, uncommitted, to the next
      // owner (no dead letter, no rate-limit slot, no fatal stop). Acks stand.
      const leaving = this.#leaving(p);
      // Dead letters of this attempt — dead-letter outcomes and retries that
      // cannot be retried — go out together, in offset order (one write, one
      // send), once every outcome is known.
      const letters: (LetterToSend | undefined)[] = [];
      const retries: { readonly index: number; readonly message: Message; readonly error: unknown }[] = [];
      let leave = false;
      for (let i = 0; i < pending.length; i++) {
        const m = pending[i] as Message;
        const outcome: RecordOutcome = outcomes?.[i] ?? { kind: 'ack' };
        if (outcome.kind === 'ack') {
          this.#done(m, p);
        } else if (outcome.kind === 'dead-letter') {
          this.#countFailure(outcome.reason);
          if (leaving) {
            leave = true;
          } else if (!this.#deadLettering()) {
            // Nowhere to put it: the consumer stops on this record's reason.
            this.#fail(outcome.reason);
            return 'failed';
          } else {
            letters[i] = { message: m, reason: outcome.reason, attempts: attempt, firstFailureAt: firstFailureAt ?? Date.now() };
          }
        } else {
          const error = outcome.error ?? new TributaryError('ERR_HANDLER', 'batch handler asked to retry the record');
          this.#countFailure(error);
          if (leaving) leave = true;
          else retries.push({ index: i, message: m, error });
        }
      }
      if (leave) return 'leave';
      if (retries.length > 0) firstFailureAt ??= Date.now();
      // Retry together what can be retried; dead-letter (or stop on) the rest.
      const again: Message[] = [];
      for (const { index, message: m, error } of retries) {
        const next = this.#decide(error, attempt, p);
        if (next === 'retry') again.push(m);
        else if (next === 'leave') return 'leave';
        else if (next === 'dead-letter') {
          letters[index] = { message: m, reason: this.#exhausted(error, attempt, m), attempts: attempt, firstFailureAt: firstFailureAt as number };
        } else {
          this.#fail(this.#exhausted(error, attempt, m));
          return 'failed';
        }
      }
      const toSend = letters.filter((l): l is LetterToSend => l !== undefined);
      if (toSend.length > 0) {
        const sent = await this.#deadLetter(toSend, p);
        if (sent !== 'done') return sent;
      }
      if (again.length > 0) {
        if (!(await this.#backoff(attempt, p))) return 'leave';
        this.#metrics.retries += again.length;
      }
      pending = again;
    }
    return 'done';
  }

  #decide(err: unknown, attempt: number, p: PartitionState): 'retry' | 'dead-letter' | 'stop' | 'leave' {
    // A failure while stopping or while the partition is being revoked (often
    // the abort itself) proves nothing about the record: leave it uncommitted
    // for the next owner.
    if (this.#state !== 'running' || p.stopping.signal.aborted) return 'leave';
    const backoff = this.#opts.backoff;
    if (backoff && !isPermanentError(err) && backoff.canRetry(attempt)) return 'retry';
    return this.#deadLettering() ? 'dead-letter' : 'stop';
  }

  /** True when failed records have somewhere to go: a topic or a writer. */
  #deadLettering(): boolean {
    return this.#opts.deadLetterTopic !== undefined || this.#opts.deadLetterWriter !== undefined;
  }

  #exhausted(err: unknown, attempt: number, m: Message): unknown {
    if (isPermanentError(err) || !this.#opts.backoff) return err;
    return new RetriesExhaustedError(attempt, err, { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key });
  }

  /** After a failed attempt of a single record: wait and retry, dead-letter, or stop. */
  async #afterFailure(messages: Message[], p: PartitionState, err: unknown, attempt: number): Promise<'retry' | 'dead-letter' | 'stop' | 'leave'> {
    const m = messages[0] as Message;
    const next = this.#decide(err, attempt, p);
    this.#log('warn',
      { err, topic: m.topic, partition: m.partition, offset: m.offset, attempt, next },
      `handler failed: ${errorMessage(err)}`,
    );
    if (next === 'retry') {
      if (!(await this.#backoff(attempt, p))) return 'leave';
      this.#metrics.retries++;
      return 'retry';
    }
    if (next === 'stop') this.#fail(this.#exhausted(err, attempt, m));
    return next;
  }

  /** Waits before retry `attempt + 1`; false when the consumer stopped or the partition is being revoked meanwhile. */
  async #backoff(attempt: number, p: PartitionState): Promise<boolean> {
    if (this.#state !== 'running' || p.stopping.signal.aborted) return false;
    try {
      await sleep((this.#opts.backoff as Backoff).delayFor(attempt), p.stopping.signal);
      return this.#state === 'running' && this.#fatal === undefined && !p.stopping.signal.aborted;
    } catch {
      return false;
    }
  }

  /**
   * Dead-letters `letters` (one partition's, in offset order) to the topic or
   * the writer: one send or one write for all of them. True when every one is
   * dead-lettered and completed (`done`); `failed` after stopping the
   * consumer; `leave` when the consumer stops or the partition is being
   * revoked, or the consumer has closed: nothing is dead-lettered (no
   * publish or write, no rate-limit slot) and the records stay uncommitted.
   *
   * The rate limit admits a prefix: the letters it admits are dead-lettered,
   * then the first it refuses stops the consumer (ERR_DEAD_LETTER_RATE) and
   * is not committed — as if they had come one at a time. Slots are taken
   * before the publish or write, and a failed one keeps them: like the
   * middleware's rate guard this errs towards stopping, and the failure stops
   * the consumer anyway.
   */
  async #deadLetter(letters: readonly LetterToSend[], p: PartitionState): Promise<HandleResult> {
    const first = letters[0];
    if (first === undefined) return 'done';
    // Never after stop() closed the dead-letter producer (or resolved), and not for a failure while stopping.
    if (this.#closed || this.#leaving(p)) return 'leave';
    const writer = this.#opts.deadLetterWriter;
    const producer = this.#dlqProducer;
    const topicOf = this.#opts.deadLetterTopic;
    if (!writer && (!producer || !topicOf)) {
      this.#fail(first.reason);
      return 'failed';
    }
    // Destinations first: a topic function that fails takes no rate-limit slot and publishes nothing.
    const topics: string[] = [];
    for (const l of letters) {
      // A writer has no topic: its letters name the default one (see DeadLetter.record).
      const topic = topicOf ? this.#deadLetterTopicOf(l.message, topicOf, l.reason) : defaultDeadLetterTopic(l.message);
      if (topic === undefined) return 'failed';
      topics.push(topic);
    }
    let admitted = letters.length;
    const limit = this.#deadLetterLimit;
    if (limit) {
      admitted = 0;
      while (admitted < letters.length && limit.tryAcquire()) admitted++;
    }
    const mode = this.#mode as Mode;
    const built: DeadLetter[] = letters.slice(0, admitted).map((l, i) =>
      createDeadLetter(l.message, {
        topic: topics[i] as string,
        reason: l.reason,
        attempts: l.attempts,
        groupId: this.#opts.groupId,
        handler: mode.handler.name || 'anonymous',
        firstFailureAt: l.firstFailureAt,
        lastFailureAt: Date.now(),
      }),
    );
    if (built.length > 0) {
      const failure = writer ? await this.#write(writer, built, p) : await this.#publish(producer as TransportProducer, built);
      if (this.#closed) {
        // stop() gave up on this work and resolved: too late to commit or to report.
        this.#log('debug', { groupId: this.#opts.groupId, topic: first.message.topic, partition: first.message.partition }, 'dead-letter finished after the consumer closed; not committed');
        return 'leave';
      }
      if (failure) {
        const m = first.message;
        const more = built.length > 1 ? ` (and ${built.length - 1} later records of the partition)` : '';
        this.#fail(
          new TributaryError('ERR_DEAD_LETTER', `dead-letter ${writer ? 'write' : 'publish'} failed for ${m.topic}/${m.partition}@${m.offset}${more}: ${errorMessage(failure.error)}`, {
            cause: failure.error,
            context: { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key },
          }),
        );
        return 'failed';
      }
      for (const letter of built) {
        const m = letter.message;
        this.#log('warn',
          {
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            ...(writer ? { deadLetterWriter: true } : { deadLetterTopic: letter.record.topic }),
            reason: errorMessage(letter.error),
          },
          'record dead-lettered',
        );
        this.#metrics.deadLettered++;
        p.tracker.complete(m.offset);
      }
    }
    const refused = letters[admitted];
    if (refused && limit) {
      // Not dead-lettered, not completed: the commit stops before this record
      // and it is delivered again after a restart.
      const m = refused.message;
      this.#fail(
        new TributaryError(
          'ERR_DEAD_LETTER_RATE',
          `dead-letter rate limit reached (${limit.max} per ${limit.windowMs} ms): ${m.topic}/${m.partition}@${m.offset} was not dead-lettered ` +
            `nor committed; the consumer stops and the record is delivered again after a restart. It failed with: ${errorMessage(refused.reason)}`,
          { cause: refused.reason, context: { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key } },
        ),
      );
      return 'failed';
    }
    return 'done';
  }

  /**
   * Publishes the letters' records in one send; the first failure, if any. A
   * letter without a result (a transport returning fewer results than
   * records) is not known to be published: it fails too.
   */
  async #publish(producer: TransportProducer, letters: readonly DeadLetter[]): Promise<{ readonly error: unknown } | undefined> {
    let results: Awaited<ReturnType<TransportProducer['send']>>;
    try {
      results = await producer.send(letters.map((l) => l.record));
    } catch (err) {
      return { error: err };
    }
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) return { error: failed.error };
    if (!Array.isArray(results) || results.length < letters.length) {
      return {
        error: new TributaryError('ERR_DEAD_LETTER', `the producer returned ${Array.isArray(results) ? results.length : 'no'} results for ${letters.length} dead letters`),
      };
    }
    return undefined;
  }

  /** Hands the letters to the writer in one call; its rejection (or throw), if any. */
  async #write(writer: DeadLetterWriter, letters: readonly DeadLetter[], p: PartitionState): Promise<{ readonly error: unknown } | undefined> {
    try {
      await writer.write(Object.freeze([...letters]), Object.freeze({ signal: p.abort.signal }));
      return undefined;
    } catch (err) {
      return { error: err };
    }
  }

  /**
   * The dead-letter topic of `m`, or undefined after stopping the consumer
   * when the user's function throws or returns no topic name. That is
   * ERR_DEAD_LETTER like a failed publish — the record could not be
   * dead-lettered, so it is not committed and comes back after a restart —
   * but not retriable: the same record meets the same function again.
   */
  #deadLetterTopicOf(m: Message, topicOf: (message: Message) => string, reason: unknown): string | undefined {
    let topic: unknown;
    let problem: string;
    let cause: unknown;
    try {
      topic = topicOf(m);
      if (typeof topic === 'string' && topic.length > 0) return topic;
      problem = `returned ${typeof topic === 'string' ? '""' : String(topic)}, not a topic name,`;
      cause = reason;
    } catch (err) {
      problem = `threw (${errorMessage(err)})`;
      cause = err;
    }
    const where = `${m.topic}/${m.partition}@${m.offset}`;
    this.#fail(
      new TributaryError(
        'ERR_DEAD_LETTER',
        `deadLetter.topic ${problem} for ${where}: the record was neither dead-lettered nor committed; the consumer stops and ` +
          `the record is delivered again after a restart. It failed with: ${errorMessage(reason)}`,
        { cause, retriable: false, context: { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key } },
      ),
    );
    return undefined;
  }

  #workStarted(p: PartitionState): void {
    p.workStartedAt = performance.now();
  }

  /** Ends the running work of `p` (idempotent); logs the recovery of work the watchdog reported. */
  #workEnded(p: PartitionState): void {
    const since = p.workStartedAt;
    if (since === undefined) return;
    p.workStartedAt = undefined;
    const offset = p.stalledOffset;
    if (offset === undefined) return;
    p.stalledOffset = undefined;
    const durationMs = Math.round(performance.now() - since);
    const { topic, partition } = p.tp;
    this.#log('info',
      { groupId: this.#opts.groupId, topic, partition, offset, durationMs },
      `partition ${topic}/${partition} recovered: the work stalled at offset ${offset} finished after ${durationMs} ms`,
    );
  }

  /** The watchdog's tick: reports, once each, work running longer than stallWarningMs. Never aborts it. */
  #checkStalls(): void {
    const thresholdMs = this.#opts.stallWarningMs;
    const now = performance.now();
    for (const p of this.#partitions.values()) {
      const since = p.workStartedAt;
      if (since === undefined || p.stalledOffset !== undefined || now - since < thresholdMs) continue;
      // The lowest record not yet done is the one holding back the partition's commits.
      const offset = p.tracker.lowestPending();
      if (offset === undefined) continue;
      p.stalledOffset = offset;
      this.#metrics.stalls++;
      const info: StallInfo = { groupId: this.#opts.groupId, topic: p.tp.topic, partition: p.tp.partition, offset, runningMs: Math.round(now - since) };
      this.#log('warn',
        { ...info, stallWarningMs: thresholdMs },
        `partition ${info.topic}/${info.partition} stalled: the work at offset ${offset} has been running for ${info.runningMs} ms ` +
          `(stallWarningMs ${thresholdMs}); no later offset of the partition commits until it finishes`,
      );
      try {
        this.#opts.onStall?.(info);
      } catch (err) {
        // A timer callback that throws would crash the process: a broken hook must not.
        this.#log('error', { err, groupId: this.#opts.groupId, topic: info.topic, partition: info.partition }, 'onStall threw; ignored');
      }
    }
  }

  /** Counts one failed attempt in `failed`, `failuresByCode` and, for an unreadable record, `decodeErrors`. */
  #countFailure(err: unknown): void {
    this.#metrics.failed++;
    if (isDecodeError(err)) this.#metrics.decodeErrors++;
    let key = failureKey(err);
    if (!this.#failuresByCode.has(key) && !Object.hasOwn(ErrorCodes, key)) {
      if (this.#otherFailureKeys >= MAX_FAILURE_KEYS) key = 'other';
      else this.#otherFailureKeys++;
    }
    this.#failuresByCode.set(key, (this.#failuresByCode.get(key) ?? 0) + 1);
  }

  #done(m: Message, p: PartitionState): void {
    p.tracker.complete(m.offset);
    this.#metrics.processed++;
    this.#metrics.lastProcessedAt = Date.now();
  }

  /** Commits soon, coalescing: at most one commit in flight, one more queued. */
  #scheduleCommit(): void {
    if (this.#commitInFlight) {
      this.#commitAgain = true;
      return;
    }
    // Nobody awaits this chain: it must never reject (#commit does not; the catch is a backstop).
    this.#commitInFlight = this.#commit([...this.#partitions.values()])
      .catch((err: unknown) => this.#log('error', { err, groupId: this.#opts.groupId }, `commit failed: ${errorMessage(err)}`))
      .finally(() => {
        this.#commitInFlight = undefined;
        if (this.#commitAgain) {
          this.#commitAgain = false;
          this.#scheduleCommit();
        }
      });
  }

  async #commit(states: readonly PartitionState[]): Promise<void> {
    const offsets: TopicPartitionOffset[] = [];
    for (const p of states) {
      const next = p.tracker.committable();
      if (next !== undefined && next !== p.committed) offsets.push({ topic: p.tp.topic, partition: p.tp.partition, offset: next });
    }
    if (offsets.length === 0 || !this.#group) return;
    if (this.#closed) {
      // The group consumer has closed (stop() resolved or is resolving): the partitions are no longer ours to commit.
      const where = offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(', ');
      this.#log('debug', { groupId: this.#opts.groupId, offsets }, `not committing ${where}: the consumer has closed`);
      return;
    }
    try {
      await this.#group.commit(offsets);
      for (const o of offsets) {
        const p = this.#partitions.get(partitionKey(o));
        if (p) p.committed = o.offset;
      }
    } catch (err) {
      // The next commit retries; the offsets are named so an operator can act.
      const where = offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(', ');
      this.#log('error', { err, groupId: this.#opts.groupId, offsets }, `commit failed for ${where}: ${errorMessage(err)}`);
      this.#report(
        isTributaryError(err) ? err : new TributaryError('ERR_COMMIT', `commit failed for ${where}: ${errorMessage(err)}`, { cause: err }),
      );
    }
  }
}
