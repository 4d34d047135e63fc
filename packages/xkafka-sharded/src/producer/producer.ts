import {
  ConfigError,
  RetriesExhaustedError,
  TributaryError,
  abortedError,
  errorMessage,
  isPermanentError,
  isTributaryError,
  wrapProducer,
  type ProducerMiddleware,
  type ProducerRecord,
  type RecordContext,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { emitFailure } from '../failure';
import { middlewareForTopic } from '../handler-chain';
import { Dispatcher } from './dispatcher';
import { ProduceBatchError, ProducerDroppedError } from './produce-errors';
import { ProduceFuture } from './produce-future';
import {
  validateProducerConfig,
  type DispatchingProducerConfig,
  type ProducerFailureEvent,
  type ProducerFailureStage,
  type ResolvedProducerConfig,
} from './producer-config';
import type { ProduceResult } from './produce-result';
import { producerLoggingHandler } from './producer-logging';

/** A record to produce: a ProducerRecord whose topic may be left to the producer's `defaultTopic`. */
export type ProduceRecord = Omit<ProducerRecord, 'topic'> & { readonly topic?: string };

/** Per-call options. */
export interface ProduceOptions {
  /** Aborting rejects the call with ERR_ABORTED: while waiting for queue room or between retries (a send in flight is not recalled). */
  readonly signal?: AbortSignal;
}

/** The outcome of one record of `produceBatchReport`. */
export type BatchItemResult =
  | { readonly index: number; readonly ok: true; readonly result: ProduceResult }
  | { readonly index: number; readonly ok: false; readonly error: unknown };

/**
 * A producer on any Tributary transport with middleware, a retry policy, and
 * an asynchronous dispatch path (serial / key-sharded / parallel workers).
 *
 * Every record goes through: logging middleware (unless off) → global or
 * per-topic middleware (core's ProducerMiddleware, composed with core's
 * `wrapProducer`) → the transport producer, one record per send, retried
 * with backoff; when retries run out the exhausted policy decides: `'block'`
 * keeps retrying, `'stop'` rejects the call with the exhausted error, `'drop'`
 * rejects it with ProducerDroppedError (ERR_DROPPED).
 */
export class DispatchingProducer {
  readonly config: ResolvedProducerConfig;
  readonly #producer: TransportProducer;
  readonly #ownsProducer: boolean;
  /** The send pipeline of topics without their own middleware, and of each topic with. */
  readonly #fallback: TransportProducer;
  readonly #pipelines = new Map<string, TransportProducer>();
  readonly #dispatcher: Dispatcher;
  /** Aborted when close() gives up waiting: retry waits end, queued records fail. */
  readonly #abandon = new AbortController();
  #closed = false;
  #closing: Promise<void> | undefined;
  #calls = 0;
  #callsIdle: (() => void)[] = [];

  /** @throws ConfigError listing every invalid option. */
  constructor(transport: Transport, config: DispatchingProducerConfig = {}) {
    const resolved = validateProducerConfig(config);
    if (resolved.producer === undefined && typeof transport?.producer !== 'function') {
      throw new TypeError('transport must be a Tributary Transport (or pass config.producer)');
    }
    this.config = resolved;
    this.#ownsProducer = resolved.producer === undefined;
    this.#producer = resolved.producer ?? transport.producer({ ...(resolved.clientId === undefined ? {} : { clientId: resolved.clientId }), logger: resolved.logger });
    const outer: ProducerMiddleware[] = resolved.loggingHandler ? [producerLoggingHandler(resolved.logger)] : [];
    this.#fallback = wrapProducer(this.#producer, ...outer, ...resolved.globalHandlers);
    for (const [topic, spec] of resolved.topicHandlers) {
      this.#pipelines.set(topic, wrapProducer(this.#producer, ...outer, ...middlewareForTopic(resolved.globalHandlers, spec)));
    }
    const workers = resolved.mode === 'parallel' ? resolved.workerCount : resolved.shardCount;
    this.#dispatcher = new Dispatcher(resolved.mode, workers, resolved.queueSize, (record, signal) => this.#deliver(record, signal));
  }

  /** Sends one record and resolves once the broker acknowledged it (after the retry policy). */
  async produce(record: ProduceRecord, options: ProduceOptions = {}): Promise<ProduceResult> {
    const resolved = this.#prepare(record, options.signal);
    return this.#call(() => this.#deliver(resolved, options.signal));
  }

  /**
   * Queues one record on its dispatch worker and resolves with a handle to
   * its outcome once queued (waiting for room when the worker's queue is full).
   * Rejects only when the record cannot be queued (closed, invalid, aborted).
   */
  async produceAsync(record: ProduceRecord, options: ProduceOptions = {}): Promise<ProduceFuture> {
    const resolved = this.#prepare(record, options.signal);
    const { outcome } = await this.#dispatcher.enqueue(resolved, options.signal);
    return new ProduceFuture(resolved, outcome);
  }

  /**
   * Sends records one after another and fails fast: the first failure rejects
   * with ProduceBatchError (its `index`, the results `sent` before it, the
   * failure as `cause`); later records are not sent.
   */
  async produceBatch(records: readonly ProduceRecord[], options: ProduceOptions = {}): Promise<ProduceResult[]> {
    const resolved = this.#prepareAll(records, options.signal);
    return this.#call(async () => {
      const sent: ProduceResult[] = [];
      for (let i = 0; i < resolved.length; i++) {
        try {
          sent.push(await this.#deliver(resolved[i] as ProducerRecord, options.signal));
        } catch (err) {
          throw new ProduceBatchError(i, sent, err);
        }
      }
      return sent;
    });
  }

  /**
   * Sends records and resolves with one result per record, in input order;
   * one failure does not stop the others. Records of one key are sent one
   * after another, in input order; different keys concurrently. Rejects only
   * for call-level failures (not an array, an invalid record, closed,
   * already aborted).
   */
  async produceBatchReport(records: readonly ProduceRecord[], options: ProduceOptions = {}): Promise<BatchItemResult[]> {
    const resolved = this.#prepareAll(records, options.signal);
    return this.#call(async () => {
      const tails = new Map<string, Promise<unknown>>();
      const items = resolved.map((record, index) => {
        const run = async (): Promise<BatchItemResult> => {
          try {
            return { index, ok: true, result: await this.#deliver(record, options.signal) };
          } catch (error) {
            return { index, ok: false, error };
          }
        };
        const key = record.key;
        if (key === undefined || key === null) return run();
        const item = (tails.get(key) ?? Promise.resolve()).then(run);
        tails.set(key, item);
        return item;
      });
      return Promise.all(items);
    });
  }

  /** Records queued by produceAsync and not yet settled. */
  get pending(): number {
    return this.#dispatcher.pending;
  }

  /**
   * Stops accepting records (ERR_CLOSED), waits for queued and in-flight
   * records to settle (bounded by drainTimeoutMs; then retry waits end and
   * records still queued fail with ERR_CLOSED), then closes the transport
   * producer if this producer created it. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const drained = Promise.all([this.#dispatcher.idle(), this.#callsSettled()]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.config.drainTimeoutMs)));
    const inTime = await Promise.race([drained.then(() => true), deadline]);
    clearTimeout(timer);
    if (!inTime) {
      const error = new TributaryError('ERR_CLOSED', `producer closed before the record was sent (drain exceeded ${this.config.drainTimeoutMs} ms)`);
      this.config.logger.warn({ pending: this.#dispatcher.pending, calls: this.#calls }, 'producer drain timed out; abandoning what is left');
      this.#abandon.abort(error);
      this.#dispatcher.abandon(error);
    }
    if (this.#ownsProducer) {
      await this.#producer.close().catch((err: unknown) => this.config.logger.error({ err }, `transport producer close failed: ${errorMessage(err)}`));
    }
  }

  /** Counts a synchronous call so close() can wait for it. */
  async #call<T>(run: () => Promise<T>): Promise<T> {
    this.#calls++;
    try {
      return await run();
    } finally {
      if (--this.#calls === 0) {
        const waiters = this.#callsIdle;
        this.#callsIdle = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  #callsSettled(): Promise<void> {
    if (this.#calls === 0) return Promise.resolve();
    return new Promise((resolve) => this.#callsIdle.push(resolve));
  }

  /** Checks a record and resolves its topic; throws ERR_CLOSED / ConfigError / ERR_ABORTED. */
  #prepare(record: ProduceRecord, signal: AbortSignal | undefined, field = 'record'): ProducerRecord {
    if (this.#closed) throw new TributaryError('ERR_CLOSED', 'producer is closed');
    if (signal?.aborted) throw abortedError(signal);
    if (typeof record !== 'object' || record === null) throw new ConfigError('produce call', [{ field, message: 'must be a record object' }]);
    const topic = record.topic ?? this.config.defaultTopic;
    const problems: { field: string; message: string }[] = [];
    if (typeof topic !== 'string' || topic.length === 0) problems.push({ field: `${field}.topic`, message: 'is required (no defaultTopic configured)' });
    const v: unknown = record.value;
    if (v !== null && typeof v !== 'string' && !(v instanceof Uint8Array)) problems.push({ field: `${field}.value`, message: 'must be a string, a Uint8Array or null' });
    if (problems.length > 0) throw new ConfigError('produce call', problems);
    return record.topic === topic ? (record as ProducerRecord) : { ...record, topic: topic as string };
  }

  #prepareAll(records: readonly ProduceRecord[], signal: AbortSignal | undefined): ProducerRecord[] {
    const list: unknown = records;
    if (!Array.isArray(list)) throw new ConfigError('produce call', [{ field: 'records', message: 'must be an array' }]);
    return records.map((r, i) => this.#prepare(r, signal, `records[${i}]`));
  }

  /** One record through its middleware chain, with the retry and exhausted policies. */
  async #deliver(record: ProducerRecord, signal: AbortSignal | undefined): Promise<ProduceResult> {
    const c = this.config;
    const pipeline = this.#pipelines.get(record.topic) ?? this.#fallback;
    const context: RecordContext = { topic: record.topic, key: record.key ?? null };
    let exhaustedReported = false;
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        const [result] = await pipeline.send([record]);
        if (result?.ok) return { topic: result.topic, partition: result.partition, offset: result.offset };
        error = result === undefined ? new TributaryError('ERR_PRODUCE', 'the transport returned no result') : result.error;
      } catch (err) {
        // A rejected send is a call-level failure (closed, lost connection, a middleware bug).
        error = err;
      }
      if (signal?.aborted) throw abortedError(signal);
      if (this.#abandon.signal.aborted) throw this.#abandon.signal.reason as unknown;
      // A closed transport producer never recovers, whatever the policy.
      if (isTributaryError(error) && error.code === 'ERR_CLOSED') throw error;
      const exhausted = isPermanentError(error) || !c.retry.canRetry(attempt);
      if (exhausted && !exhaustedReported) {
        exhaustedReported = true;
        this.#emit('exhausted', record, attempt, error);
        if (c.exhaustedPolicy === 'stop') {
          const reason = isPermanentError(error) ? error : new RetriesExhaustedError(attempt, error, context);
          this.#emit('stop', record, attempt, reason);
          throw reason;
        }
        if (c.exhaustedPolicy === 'drop') {
          const dropped = new ProducerDroppedError(attempt, error, context);
          this.#emit('drop', record, attempt, dropped);
          c.logger.warn({ topic: record.topic, key: record.key ?? null, attempt, err: error }, dropped.message);
          throw dropped;
        }
        c.logger.error({ topic: record.topic, key: record.key ?? null, attempt, err: error }, `produce retries exhausted; blocking until it succeeds: ${errorMessage(error)}`);
      }
      const delayMs = c.retry.delayFor(attempt);
      this.#emit('retry', record, attempt, error, delayMs);
      try {
        await c.sleep(delayMs, anySignal(signal, this.#abandon.signal));
      } catch {
        if (signal?.aborted) throw abortedError(signal);
        throw this.#abandon.signal.reason as unknown;
      }
    }
  }

  #emit(stage: ProducerFailureStage, record: ProducerRecord, attempt: number, error: unknown, delayMs?: number): void {
    const event: ProducerFailureEvent = {
      stage,
      topic: record.topic,
      key: record.key ?? null,
      attempt,
      error,
      ...(delayMs === undefined ? {} : { delayMs }),
    };
    emitFailure(this.config.failureHook, event, this.config.logger);
  }
}

/** A signal that aborts when either does (AbortSignal.any needs Node 20.3). */
function anySignal(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  if (a === undefined) return b;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return controller.signal;
}

/**
 * Creates a dispatching producer on `transport` (or on `config.producer`).
 *
 * @throws ConfigError listing every invalid option.
 */
export function createDispatchingProducer(transport: Transport, config: DispatchingProducerConfig = {}): DispatchingProducer {
  return new DispatchingProducer(transport, config);
}
