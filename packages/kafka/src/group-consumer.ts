import {
  ConfigCheck,
  TributaryError,
  errorMessage,
  partitionKey,
  type ConsumerHandlers,
  type GroupConsumer,
  type RecordBatch,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@tributary/core';
import { CommitQueue } from './commit-queue';
import { ClientDiagnostics, connectNative } from './connection';
import { RdKafkaCode, batchError, closedError, fromNativeError, nativeCodeOf } from './errors';
import { toMessage } from './messages';
import { createNativeConsumer, type NativeConsumer, type NativeError, type NativeMessage, type NativeTopicPartition } from './native';
import { checkHandlers, checkOffset, consumerNativeConfig, type ResolvedGroupConsumerOptions, type ResolvedKafkaConfig } from './options';
import { FlowRegistry, PartitionFlow, type FlowHost } from './partition-flow';
import { PollLoop, type PollLoopHost } from './poll-loop';

/** Counters of a group consumer (seed 000's metrics). For lag, use core's `consumerLag` with the admin client. */
export interface KafkaConsumerMetrics {
  /** Batches handed to onBatch. */
  readonly batches: number;
  /** Records handed to onBatch. */
  readonly records: number;
  /** Batches whose onBatch rejected. */
  readonly failedBatches: number;
  /** Assignments and revocations applied. */
  readonly rebalances: number;
  /** Records fetched and waiting for delivery. */
  readonly buffered: number;
}

/** The Kafka transport's group consumer: the core contract plus metrics. */
export interface KafkaGroupConsumer extends GroupConsumer {
  metrics(): KafkaConsumerMetrics;
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

interface RebalanceEvent {
  readonly kind: 'assign' | 'revoke';
  readonly partitions: NativeTopicPartition[];
  /** Revocation because the member lost its partitions (session timeout), not a hand-over. */
  readonly lost: boolean;
}

/** Seek requests wait this long for librdkafka to take them. */
const SEEK_TIMEOUT_MS = 5_000;
/** Records fetched per consume call, at least. */
const MIN_FETCH = 1_000;
/** Bytes buffered per partition before its fetching pauses. */
const BUFFER_BYTE_LIMIT = 32 * 1024 * 1024;
/** A poll error with the same code is reported to onError at most this often. */
const ERROR_REPORT_INTERVAL_MS = 10_000;

function tpOf(p: { topic: string; partition: number }): TopicPartition {
  return { topic: p.topic, partition: p.partition };
}

/**
 * A member of a consumer group on librdkafka, with cooperative-sticky
 * rebalancing and asynchronous revocation.
 *
 * How revocation works: librdkafka is configured with a `rebalance_cb`, so it
 * does not (un)assign partitions itself; it calls the callback and holds the
 * rebalance until the application calls `incrementalAssign` /
 * `incrementalUnassign`. The callback only queues the event; the poll loop
 * applies it between two consume calls. For a revocation, the partitions stop
 * delivering at once (buffered records are dropped — the next owner fetches
 * them again from the committed offset), in-flight `onBatch` calls settle,
 * `onRevoked` runs (and may commit: the partitions are still assigned), and
 * only then is `incrementalUnassign` called and the rebalance released —
 * bounded by `rebalanceTimeoutMs`. The poll loop keeps running meanwhile, so
 * commit results, heartbeats and the other partitions keep flowing.
 *
 * onAssigned/onRevoked run one at a time, in the order the group asked.
 */
export class KafkaGroupConsumerImpl implements KafkaGroupConsumer, PollLoopHost, FlowHost {
  readonly groupId: string;
  readonly maxBatchRecords: number;
  readonly bufferRecordLimit: number;
  readonly bufferByteLimit = BUFFER_BYTE_LIMIT;
  readonly #config: ResolvedKafkaConfig;
  readonly #options: ResolvedGroupConsumerOptions;
  readonly #onClosed: () => void;
  readonly #flows = new FlowRegistry();
  readonly #commits: CommitQueue;
  readonly #fetchSize: number;
  #native: NativeConsumer | undefined;
  #loop: PollLoop | undefined;
  #handlers: ConsumerHandlers | undefined;
  #state: State = 'new';
  #halted = false;
  /** Native calls are applied at once, not queued, while the native client closes. */
  #disconnecting = false;
  #events: RebalanceEvent[] = [];
  /** Flows whose onRevoked has been called (by a revocation or by close), so it never runs twice. */
  readonly #revokeAnnounced = new WeakSet<PartitionFlow>();
  #chain: Promise<void> = Promise.resolve();
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #firstAssignment!: () => void;
  readonly #assigned: Promise<void>;
  readonly #lastReport = new Map<string, number>();
  #batches = 0;
  #records = 0;
  #failedBatches = 0;
  #rebalances = 0;

  constructor(config: ResolvedKafkaConfig, options: ResolvedGroupConsumerOptions, onClosed: () => void) {
    this.#config = config;
    this.#options = options;
    this.#onClosed = onClosed;
    this.groupId = options.groupId;
    this.maxBatchRecords = options.maxBatchRecords;
    this.#fetchSize = Math.max(MIN_FETCH, options.maxBatchRecords);
    this.bufferRecordLimit = 4 * this.#fetchSize;
    this.#commits = new CommitQueue(config.requestTimeoutMs);
    this.#assigned = new Promise((resolve) => (this.#firstAssignment = resolve));
  }

  /**
   * Connects, joins the group and starts delivering. Resolves once the first
   * assignment (possibly empty) was applied and its onAssigned settled — or
   * after rebalanceTimeoutMs, when joining takes longer (it goes on).
   */
  async run(handlers: ConsumerHandlers): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError('group consumer', 'run()');
    if (this.#state !== 'new') throw new TributaryError('ERR_STATE', 'run() was already called on this consumer');
    checkHandlers('kafka group consumer handlers', handlers, ['onAssigned', 'onRevoked', 'onError']);
    this.#handlers = handlers;
    this.#state = 'starting';
    this.#starting = this.#start();
    try {
      await this.#starting;
    } catch (err) {
      await this.close();
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    const joined = await Promise.race([
      this.#assigned.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#options.rebalanceTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!joined) this.#options.logger.warn({ topics: this.#options.topics }, 'no assignment yet after rebalanceTimeoutMs; still joining');
  }

  async #start(): Promise<void> {
    const native = createNativeConsumer({
      ...consumerNativeConfig(this.#config, {
        groupId: this.groupId,
        clientId: this.#options.clientId,
        fromBeginning: this.#options.fromBeginning,
      }),
      rebalance_cb: (err: NativeError | undefined, assignment: NativeTopicPartition[]) => this.#onRebalance(err, assignment),
      offset_commit_cb: (err: NativeError | undefined, partitions: NativeTopicPartition[]) => this.#commits.onResult(err, partitions),
      queue_non_empty_cb: () => this.#loop?.wake(),
    });
    const diagnostics = new ClientDiagnostics(native, this.#options.logger);
    await connectNative(native, diagnostics, `kafka group consumer ${this.groupId}`, this.#config.brokers, this.#config.connectTimeoutMs);
    this.#native = native;
    if (this.#state !== 'starting') return; // closed while connecting: close() disconnects
    try {
      native.subscribe([...this.#options.topics]);
    } catch (err) {
      throw fromNativeError(err, 'consume', `subscribe to ${this.#options.topics.join(', ')}`);
    }
    this.#loop = new PollLoop(native, this, this.#fetchSize);
    this.#state = 'running';
    this.#loop.start();
    this.#options.logger.debug({ topics: this.#options.topics }, 'group consumer subscribed');
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.#state === 'closed') throw closedError('group consumer', 'commit()');
    const check = new ConfigCheck('kafka commit');
    if (!Array.isArray(offsets)) check.problem('offsets', 'must be an array');
    else offsets.forEach((o: TopicPartitionOffset, i) => checkOffset(check, o?.offset, `offsets[${i}].offset`));
    check.throwIfInvalid();
    const native = this.#native;
    if (native === undefined || this.#disconnecting) return;
    const owned = offsets.filter((o) => this.#flows.get(o.topic, o.partition) !== undefined);
    if (owned.length < offsets.length) {
      const ignored = offsets.filter((o) => !owned.includes(o)).map((o) => partitionKey(o));
      this.#options.logger.debug({ partitions: ignored }, 'commit ignored for partitions this member does not own');
    }
    if (owned.length === 0) return;
    await this.#commits.commit(native, owned);
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.#ensureOpen('pause()');
    for (const tp of partitions) this.#flows.get(tp.topic, tp.partition)?.pause();
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.#ensureOpen('resume()');
    for (const tp of partitions) this.#flows.get(tp.topic, tp.partition)?.resume();
  }

  seek(position: TopicPartitionOffset): void {
    this.#ensureOpen('seek()');
    const check = new ConfigCheck('kafka seek');
    checkOffset(check, position?.offset, 'offset');
    check.throwIfInvalid();
    const flow = this.#flows.get(position.topic, position.partition);
    const native = this.#native;
    if (flow === undefined || flow.stopped || native === undefined) {
      this.#options.logger.debug({ partition: partitionKey(position) }, 'seek ignored: partition not owned');
      return;
    }
    flow.beginSeek(position.offset);
    const done = (err: NativeError | null): void => {
      if (err) this.#report(fromNativeError(err, 'seek', `seek ${partitionKey(position)} to ${position.offset}`));
      if (this.#flows.get(flow.topic, flow.partition) !== flow) return;
      flow.endSeek(this.#loop?.nextPollId ?? 0);
      this.#loop?.wake();
    };
    try {
      native.seek({ topic: position.topic, partition: position.partition, offset: position.offset }, SEEK_TIMEOUT_MS, done);
    } catch (err) {
      done(err as NativeError);
    }
  }

  assignment(): TopicPartition[] {
    return this.#flows.all().map(tpOf);
  }

  metrics(): KafkaConsumerMetrics {
    let buffered = 0;
    for (const f of this.#flows.all()) buffered += f.buffered;
    return { batches: this.#batches, records: this.#records, failedBatches: this.#failedBatches, rebalances: this.#rebalances, buffered };
  }

  /**
   * Leaves the group: delivery stops, in-flight onBatch calls settle, pending
   * onAssigned/onRevoked calls finish, onRevoked runs for every owned
   * partition (commits work there), then the member leaves and its partitions
   * are reassigned. Each wait is bounded by rebalanceTimeoutMs. Do not await
   * close() inside onBatch: close waits for that very batch.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const previous = this.#state;
    this.#state = 'closing';
    if (previous !== 'new') {
      await this.#starting?.catch(() => undefined);
      const native = this.#native;
      if (native) {
        const bound = this.#options.rebalanceTimeoutMs;
        const flows = this.#flows.all();
        for (const f of flows) f.stop();
        await this.#bounded(Promise.all(flows.map((f) => f.idle())), bound, 'in-flight batches to settle');
        await this.#bounded(this.#chain, bound, 'onAssigned/onRevoked to finish');
        const owned = this.#flows.all().filter((f) => !this.#revokeAnnounced.has(f));
        for (const f of owned) this.#revokeAnnounced.add(f);
        if (owned.length > 0) await this.#bounded(this.#callback('onRevoked', owned.map(tpOf)), bound, 'onRevoked');
        await this.#loop?.stop();
        this.#disconnecting = true;
        // Events the loop did not get to: librdkafka still waits for their (un)assign calls.
        for (const event of this.#events.splice(0)) this.#applyNative(event.kind, event.partitions);
        this.#flows.clear();
        await new Promise<void>((resolve) => {
          try {
            native.disconnect(() => resolve());
          } catch {
            resolve();
          }
        });
      }
    }
    this.#commits.failAll(closedError('group consumer', 'commit()'));
    this.#state = 'closed';
    this.#firstAssignment();
    this.#options.logger.debug('group consumer closed');
    this.#onClosed();
  }

  // --- librdkafka callbacks ---

  #onRebalance(err: NativeError | undefined, assignment: NativeTopicPartition[]): void {
    const code = err?.code;
    const kind = code === RdKafkaCode.ERR__ASSIGN_PARTITIONS ? 'assign' : code === RdKafkaCode.ERR__REVOKE_PARTITIONS ? 'revoke' : undefined;
    const partitions = (assignment ?? []).map((p) => ({ topic: p.topic, partition: p.partition }));
    if (kind === undefined) {
      // librdkafka asks for an unassign of everything after a rebalance error.
      this.#report(fromNativeError(err, 'rebalance', `rebalance of group ${this.groupId}`));
      this.#events.push({ kind: 'revoke', partitions: this.#flows.all().map(tpOf), lost: true });
      this.#loop?.wake();
      return;
    }
    if (this.#disconnecting || this.#state === 'closed') {
      this.#applyNative(kind, partitions);
      return;
    }
    let lost = false;
    if (kind === 'revoke') {
      try {
        lost = this.#native?.assignmentLost() ?? false;
      } catch {
        lost = false;
      }
    }
    this.#events.push({ kind, partitions, lost });
    this.#loop?.wake();
  }

  // --- PollLoopHost ---

  betweenPolls(): void {
    while (this.#events.length > 0) {
      const event = this.#events.shift() as RebalanceEvent;
      if (event.kind === 'assign') this.#assign(event.partitions);
      else this.#revoke(event.partitions, event.lost);
    }
  }

  onMessages(messages: NativeMessage[], pollId: number): void {
    let flow: PartitionFlow | undefined;
    let accept = false;
    let topic = '';
    let partition = -1;
    for (const m of messages) {
      if (m.partition !== partition || m.topic !== topic) {
        if (accept) (flow as PartitionFlow).afterPush();
        topic = m.topic;
        partition = m.partition;
        flow = this.#flows.get(topic, partition);
        accept = flow !== undefined && flow.accepts(pollId);
      }
      if (accept) (flow as PartitionFlow).push(toMessage(m));
    }
    if (accept) (flow as PartitionFlow).afterPush();
  }

  onPollError(err: NativeError): void {
    const key = String(nativeCodeOf(err) ?? err?.message);
    const now = Date.now();
    if (now - (this.#lastReport.get(key) ?? 0) < ERROR_REPORT_INTERVAL_MS) return;
    this.#lastReport.set(key, now);
    this.#report(fromNativeError(err, 'consume', `consume from ${this.#options.topics.join(', ')}`));
  }

  // --- FlowHost ---

  canDeliver(): boolean {
    return this.#state === 'running' && !this.#halted;
  }

  deliver(batch: RecordBatch): unknown {
    this.#batches++;
    this.#records += batch.messages.length;
    return (this.#handlers as ConsumerHandlers).onBatch(batch);
  }

  batchFailed(_flow: PartitionFlow, error: unknown, batch: RecordBatch): void {
    this.#failedBatches++;
    if (this.#halted) return;
    // The contract: stop delivering, report, close (onRevoked still runs so finished work can be committed).
    this.#halted = true;
    this.#report(batchError(error, batch));
    void this.close();
  }

  setFetching(flow: PartitionFlow, fetching: boolean): void {
    const native = this.#native;
    if (!native) return;
    const tps = [{ topic: flow.topic, partition: flow.partition }];
    try {
      if (fetching) native.resume(tps);
      else native.pause(tps);
    } catch (err) {
      this.#options.logger.debug({ err, partition: partitionKey(flow), fetching }, 'pause/resume not applied');
    }
  }

  highWatermark(flow: PartitionFlow): number | undefined {
    try {
      const high = this.#native?.getWatermarkOffsets(flow.topic, flow.partition).highOffset;
      return typeof high === 'number' && high >= 0 ? high : undefined;
    } catch {
      return undefined;
    }
  }

  // --- internals ---

  /** Applies an assignment in librdkafka and announces it; batches flow once onAssigned settled. */
  #assign(partitions: NativeTopicPartition[]): void {
    this.#rebalances++;
    this.#applyNative('assign', partitions);
    const fresh: PartitionFlow[] = [];
    if (this.#state === 'running' && !this.#halted) {
      for (const tp of partitions) {
        const current = this.#flows.get(tp.topic, tp.partition);
        // A flow still revoking is replaced (librdkafka only reassigns after our unassign, so this is defensive).
        if (current !== undefined && !current.stopped) continue;
        const flow = new PartitionFlow(tp.topic, tp.partition, this);
        this.#flows.set(flow);
        fresh.push(flow);
      }
    }
    this.#enqueue(async () => {
      if (fresh.length > 0) await this.#callback('onAssigned', fresh.map(tpOf));
      for (const flow of fresh) {
        if (this.#flows.get(flow.topic, flow.partition) !== flow) continue;
        flow.ready = true;
        flow.pump();
      }
      this.#firstAssignment();
    });
    this.#options.logger.info({ partitions: partitions.map((p) => partitionKey(p)) }, 'partitions assigned');
  }

  /**
   * Stops the partitions at once, then (in turn) lets their in-flight batches
   * settle, calls onRevoked, and releases them to librdkafka.
   */
  #revoke(partitions: NativeTopicPartition[], lost: boolean): void {
    this.#rebalances++;
    const flows: PartitionFlow[] = [];
    for (const tp of partitions) {
      const flow = this.#flows.get(tp.topic, tp.partition);
      if (flow === undefined) continue;
      flow.stop();
      flows.push(flow);
    }
    this.#options.logger.info({ partitions: partitions.map((p) => partitionKey(p)), lost }, 'partitions revoked');
    this.#enqueue(async () => {
      const revoked = flows.filter((f) => this.#flows.get(f.topic, f.partition) === f);
      const work = (async () => {
        await Promise.all(revoked.map((f) => f.idle()));
        // close() may have announced some of them meanwhile.
        const announce = revoked.filter((f) => !this.#revokeAnnounced.has(f));
        for (const f of announce) this.#revokeAnnounced.add(f);
        if (announce.length > 0) await this.#callback('onRevoked', announce.map(tpOf));
      })();
      const finished = await this.#bounded(work, this.#options.rebalanceTimeoutMs, 'onRevoked');
      if (!finished) {
        this.#report(
          new TributaryError(
            'ERR_TIMEOUT',
            `revoking ${revoked.map((f) => partitionKey(f)).join(', ')} took longer than rebalanceTimeoutMs (${this.#options.rebalanceTimeoutMs} ms): ` +
              'the partitions were released; commits for them are ignored from now on',
            { retriable: false },
          ),
        );
      }
      for (const f of revoked) this.#flows.delete(f);
      // Release what is still ours: a partition assigned again meanwhile has a new flow and stays.
      const release = partitions.filter((tp) => this.#flows.get(tp.topic, tp.partition) === undefined);
      if (!this.#disconnecting && release.length > 0) this.#applyNative('revoke', release);
    });
  }

  #applyNative(kind: 'assign' | 'revoke', partitions: NativeTopicPartition[]): void {
    const native = this.#native;
    if (!native) return;
    const tps = partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    try {
      const eager = native.rebalanceProtocol() === 'EAGER';
      if (kind === 'assign') {
        if (eager) native.assign(tps);
        else native.incrementalAssign(tps);
      } else if (eager) native.unassign();
      else native.incrementalUnassign(tps);
    } catch (err) {
      this.#options.logger.warn({ err, kind, partitions: tps.map((p) => partitionKey(p)) }, `librdkafka ${kind} failed: ${errorMessage(err)}`);
    }
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((err: unknown) => {
      this.#options.logger.error({ err }, 'kafka group consumer: rebalance step failed');
    });
  }

  async #callback(name: 'onAssigned' | 'onRevoked', partitions: readonly TopicPartition[]): Promise<void> {
    const handlers = this.#handlers;
    if (handlers?.[name] === undefined) return;
    try {
      if (name === 'onAssigned') await handlers.onAssigned?.(partitions);
      else await handlers.onRevoked?.(partitions);
    } catch (err) {
      this.#report(
        new TributaryError('ERR_HANDLER', `${name} failed for ${partitions.map((p) => partitionKey(p)).join(', ')}: ${errorMessage(err)}`, {
          cause: err,
        }),
      );
    }
  }

  /** Waits for `work` at most `ms`; true when it finished in time. */
  async #bounded(work: Promise<unknown>, ms: number, what: string): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) this.#options.logger.warn({ timeoutMs: ms }, `gave up waiting for ${what}`);
    return finished;
  }

  #report(error: TributaryError): void {
    this.#options.logger.warn({ err: error }, error.message);
    try {
      this.#handlers?.onError?.(error);
    } catch (err) {
      this.#options.logger.error({ err }, 'onError threw');
    }
  }

  #ensureOpen(call: string): void {
    if (this.#state === 'closed') throw closedError('group consumer', call);
  }
}
