import {
  TributaryError,
  abortedError,
  chainHandlers,
  errorMessage,
  isTributaryError,
  type ConsumerControl,
  type HandlerMiddleware,
  type MessageHandler,
  type TopicPartition,
  type TopicPartitionOffset,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { CommitScheduler } from './commit-scheduler';
import type { ResolvedShardedOptions } from './consumer-config';
import { middlewareForTopic, type ResolvedTopicHandlers } from './handler-chain';
import { loggingHandler } from './logging-handler';
import type { PartitionProgress } from './partition-progress';
import { RecordProcessor } from './record-processor';
import { ShardPool } from './shard-pool';

/** What a sharded consumer is doing right now. */
export interface ShardedConsumerStats {
  /** Records whose handler succeeded. */
  readonly processed: number;
  /** Handler attempts that failed. */
  readonly failedAttempts: number;
  /** Attempts after the first. */
  readonly retries: number;
  readonly deadLettered: number;
  /** Records waiting in shard queues. */
  readonly queued: number;
  /** Records waiting behind a parked key. */
  readonly parked: number;
  /** Keys parked right now. */
  readonly parkedKeys: number;
  /** Records being handled or retried. */
  readonly running: number;
  /** Partitions paused (backpressure or `ctx.control.pause`). */
  readonly pausedPartitions: readonly TopicPartition[];
}

/** Options of `close`. */
export interface CloseOptions {
  /**
   * true (default): stop fetching, let running records finish (bounded by
   * `drainTimeoutMs`), commit the processed prefix, then leave. false: give
   * up at once, as a crash would — running handlers are aborted through
   * `ctx.signal`, nothing more is committed; records after the last commit
   * are delivered again to the next owner.
   */
  readonly drain?: boolean;
}

type State = 'idle' | 'running' | 'closing' | 'closed';

/**
 * The lifecycle, commit and pause logic both sharded consumers share; the
 * group and partition consumers plug in the transport side.
 */
export abstract class ShardedConsumer {
  protected readonly transport: Transport;
  protected readonly options: ResolvedShardedOptions;
  protected readonly commits: CommitScheduler;
  #pool: ShardPool | undefined;
  #processor: RecordProcessor | undefined;
  #state: State = 'idle';
  #fatal: unknown;
  #noDrain = false;
  #closing: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
  #dlqProducer: TransportProducer | undefined;
  #ownsDlqProducer = false;
  readonly #stopped: Promise<void>;
  #markStopped!: () => void;
  readonly #control: ConsumerControl;

  protected constructor(transport: Transport, options: ResolvedShardedOptions) {
    if (typeof transport?.groupConsumer !== 'function') throw new TypeError('transport must be a Tributary Transport');
    this.transport = transport;
    this.options = options;
    this.commits = new CommitScheduler(options.commitIntervalMs, () => this.#commit());
    this.#stopped = new Promise((resolve) => (this.#markStopped = resolve));
    this.#control = {
      pause: (partitions) => this.#setUserPaused(partitions, true),
      resume: (partitions) => this.#setUserPaused(partitions, false),
      stop: (reason) => this.fail(reason),
    };
  }

  // --- what the group and partition consumers provide ---

  /** The partitions owned right now. */
  protected abstract partitions(): Iterable<PartitionProgress>;
  /** Per-topic middleware (group consumers only). */
  protected abstract topicHandlers(): ReadonlyMap<string, ResolvedTopicHandlers<HandlerMiddleware>>;
  /** The group id, for handler contexts and dead letters. */
  protected abstract get group(): string | undefined;
  /** Starts the transport consumer; records flow to `dispatch`. */
  protected abstract connect(): Promise<void>;
  /** Stops the transport consumer; with `drain`, in-flight records finish and are committed first. */
  protected abstract disconnect(drain: boolean): Promise<void>;
  /** Pauses or resumes fetching one partition. */
  protected abstract pauseTransport(progress: PartitionProgress, paused: boolean): void;
  /** Persists committable offsets (broker commit, or the offset store). */
  protected abstract saveOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void>;

  // --- public API ---

  /**
   * Starts consuming with `handler` (wrapped in the middleware) and resolves
   * once running. Rejects with ERR_STATE when already started, ERR_CLOSED
   * after close, or with the transport's error when it cannot start.
   */
  async start(handler: MessageHandler): Promise<void> {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    if (this.#state !== 'idle') {
      throw new TributaryError(this.#state === 'running' ? 'ERR_STATE' : 'ERR_CLOSED', `consumer cannot start: it is ${this.#state}`);
    }
    this.#state = 'running';
    const o = this.options;
    if (o.exhaustedPolicy === 'dlq-commit') {
      this.#dlqProducer = o.dlqProducer;
      if (this.#dlqProducer === undefined) {
        this.#dlqProducer = this.transport.producer({ clientId: `${o.clientId ?? this.group ?? 'xkafka-sharded'}-dlq`, logger: o.logger });
        this.#ownsDlqProducer = true;
      }
    }
    const outer: HandlerMiddleware[] = o.loggingHandler ? [loggingHandler()] : [];
    const chains = new Map<string, MessageHandler>();
    for (const [topic, spec] of this.topicHandlers()) {
      chains.set(topic, chainHandlers(handler, ...outer, ...middlewareForTopic(o.globalHandlers, spec)));
    }
    this.#processor = new RecordProcessor({
      chains,
      fallback: chainHandlers(handler, ...outer, ...o.globalHandlers),
      retry: o.retry,
      exhaustedPolicy: o.exhaustedPolicy,
      dlqTopic: o.dlqTopic,
      dlqProducer: this.#dlqProducer,
      failureHook: o.failureHook,
      groupId: this.group,
      logger: o.logger,
      control: this.#control,
      sleep: o.sleep,
      running: () => this.#state === 'running',
      fail: (error) => this.fail(error),
    });
    this.#pool = new ShardPool(o, this.#processor, {
      updatePause: (p) => this.updatePause(p),
      completed: () => this.commits.request(),
      crashed: (err) => this.fail(err),
    });
    this.#starting = this.connect();
    try {
      await this.#starting;
    } catch (err) {
      this.#fatal ??= err;
      await this.close();
      throw err;
    }
  }

  /**
   * Starts consuming and resolves when the consumer has closed (after
   * `close()`, or when `signal` aborts); rejects with the error that stopped
   * it (ERR_STOPPED for the stop policy).
   */
  async consume(handler: MessageHandler, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) throw abortedError(signal);
    await this.start(handler);
    const onAbort = (): void => void this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      await this.wait();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves when the consumer has closed; rejects with the error that stopped it, if any. */
  async wait(): Promise<void> {
    await this.#stopped;
    const fatal = this.#fatal;
    if (fatal === undefined) return;
    throw isTributaryError(fatal) ? fatal : new TributaryError('ERR_STOPPED', errorMessage(fatal), { cause: fatal });
  }

  /** Stops consuming (see {@link CloseOptions}). Idempotent; later calls return the first call's promise. */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.drain ?? true);
    return this.#closing;
  }

  isRunning(): boolean {
    return this.#state === 'running';
  }

  stats(): ShardedConsumerStats {
    const pool = this.#pool?.snapshot();
    const counters = this.#processor?.counters;
    const pausedPartitions: TopicPartition[] = [];
    for (const p of this.partitions()) if (p.transportPaused) pausedPartitions.push(p.tp);
    return {
      processed: pool?.processed ?? 0,
      failedAttempts: counters?.failedAttempts ?? 0,
      retries: counters?.retries ?? 0,
      deadLettered: counters?.deadLettered ?? 0,
      queued: pool?.queued ?? 0,
      parked: pool?.parked ?? 0,
      parkedKeys: pool?.parkedKeys ?? 0,
      running: pool?.running ?? 0,
      pausedPartitions,
    };
  }

  // --- for the subclasses ---

  protected get running(): boolean {
    return this.#state === 'running';
  }

  /** Hands delivered records of one partition to the shards. */
  protected dispatch(progress: PartitionProgress, messages: Parameters<ShardPool['dispatch']>[1]): void {
    if (this.#state !== 'running') return;
    this.#pool?.dispatch(progress, messages);
  }

  /**
   * The transport began to give `p` up (the batch signal aborted: its
   * revocation or the transport consumer's close has begun, and the
   * transport now waits for the in-flight onBatch): no record of it starts
   * from now on, its records that have not started are dropped (uncommitted,
   * for the next owner) and its retry waits end. The drain and the commit of
   * what finished follow in `drainPartitions`.
   */
  protected stopDispatching(p: PartitionProgress): void {
    if (p.revoked) return;
    p.revoke();
    this.#pool?.purge(new Set([p]));
  }

  /**
   * Gives partitions up: drops their records that have not started, waits
   * (bounded by drainTimeoutMs) for running ones, then commits — unless
   * closing without drain, or `commit` is false.
   */
  protected async drainPartitions(states: readonly PartitionProgress[], commit = true): Promise<void> {
    if (states.length === 0) return;
    for (const p of states) p.revoke();
    this.#pool?.purge(new Set(states));
    if (this.#noDrain) return;
    const drained = await settlesWithin(
      Promise.all(states.map((p) => p.idle())),
      this.options.drainTimeoutMs,
    );
    if (!drained) {
      for (const p of states) p.handlerAbort.abort(new TributaryError('ERR_TIMEOUT', `drain of ${p.id} exceeded ${this.options.drainTimeoutMs} ms`));
      this.options.logger.warn(
        { partitions: states.map((p) => p.id), drainTimeoutMs: this.options.drainTimeoutMs },
        'drain timed out; running handlers aborted, committing what finished',
      );
    }
    if (commit) await this.commits.flush();
  }

  /** Stops the consumer because of `error`; `wait()` rejects with it. */
  protected fail(error: unknown): void {
    if (this.#fatal !== undefined || this.#state === 'closed') return;
    this.#fatal = error;
    this.options.logger.error({ err: error }, `consumer stopping: ${errorMessage(error)}`);
    this.#pool?.stop();
    this.reportError(error);
    void this.close();
  }

  /** Pauses or resumes the transport for `p` when its reasons changed. */
  protected updatePause(p: PartitionProgress): void {
    const want = !p.revoked && (p.userPaused || p.pausedBy.size > 0);
    if (want === p.transportPaused) return;
    p.transportPaused = want;
    try {
      this.pauseTransport(p, want);
    } catch (err) {
      this.options.logger.warn({ err, partition: p.id }, `could not ${want ? 'pause' : 'resume'} ${p.id}: ${errorMessage(err)}`);
    }
  }

  // --- internals ---

  /** Hands an error to `onError` (whose own exceptions are only logged). */
  protected reportError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch (err) {
      this.options.logger.error({ err }, `onError threw: ${errorMessage(err)}`);
    }
  }

  #setUserPaused(partitions: readonly TopicPartition[] | undefined, paused: boolean): void {
    const wanted = partitions === undefined ? undefined : new Set(partitions.map((tp) => `${tp.topic}/${tp.partition}`));
    for (const p of this.partitions()) {
      if (wanted !== undefined && !wanted.has(p.id)) continue;
      p.userPaused = paused;
      this.updatePause(p);
    }
  }

  async #close(drain: boolean): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'closed';
      this.#markStopped();
      return;
    }
    this.#state = 'closing';
    this.#pool?.stop();
    // A close during start: let the transport consumer come up first, so it is closed too.
    await this.#starting?.catch(() => undefined);
    if (!drain) {
      this.#noDrain = true;
      this.commits.close();
      for (const p of this.partitions()) {
        p.revoke();
        p.handlerAbort.abort(new TributaryError('ERR_CLOSED', 'consumer closed without draining'));
      }
    }
    try {
      await this.disconnect(drain);
    } catch (err) {
      this.options.logger.error({ err }, `consumer disconnect failed: ${errorMessage(err)}`);
    }
    this.commits.close();
    if (this.#ownsDlqProducer && this.#dlqProducer !== undefined) {
      await this.#dlqProducer.close().catch((err: unknown) => this.options.logger.error({ err }, 'dead-letter producer close failed'));
    }
    this.#state = 'closed';
    this.options.logger.info({}, 'consumer closed');
    this.#markStopped();
  }

  /** Commits every partition whose committable offset moved; false when the commit failed. */
  async #commit(): Promise<boolean> {
    if (this.#noDrain) return true;
    const changed: TopicPartitionOffset[] = [];
    const owners: PartitionProgress[] = [];
    for (const p of this.partitions()) {
      const next = p.tracker.committable();
      if (next === undefined || next === p.committed) continue;
      changed.push({ topic: p.tp.topic, partition: p.tp.partition, offset: next });
      owners.push(p);
    }
    if (changed.length === 0) return true;
    try {
      await this.saveOffsets(changed);
      changed.forEach((o, i) => ((owners[i] as PartitionProgress).committed = o.offset));
      return true;
    } catch (err) {
      // The next commit retries; the offsets are named so an operator can act.
      const where = changed.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(', ');
      this.options.logger.error({ err, offsets: changed }, `commit failed for ${where}: ${errorMessage(err)}`);
      this.reportError(
        isTributaryError(err) ? err : new TributaryError('ERR_COMMIT', `commit failed for ${where}: ${errorMessage(err)}`, { cause: err }),
      );
      return false;
    }
  }
}

/** True when `promise` settles within `ms`; false when the time runs out first. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
