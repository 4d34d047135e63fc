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
import { RdKafkaCode, closedError, fromNativeError } from './errors';
import { FlowConsumer } from './flow-consumer';
import type { NativeError, NativeTopicPartition } from './native';
import { checkOffset, type ResolvedGroupConsumerOptions, type ResolvedKafkaConfig } from './options';
import { FlowRegistry, PartitionFlow } from './partition-flow';

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

interface RebalanceEvent {
  readonly kind: 'assign' | 'revoke';
  readonly partitions: NativeTopicPartition[];
  /** Revocation because the member lost its partitions (session timeout), not a hand-over. */
  readonly lost: boolean;
}

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
 * them again from the committed offset) and their batch signal aborts,
 * in-flight `onBatch` calls settle (early, when they honour the signal),
 * `onRevoked` runs (and may commit: the partitions are still assigned), and
 * only then is `incrementalUnassign` called and the rebalance released —
 * bounded by `rebalanceTimeoutMs`. The poll loop keeps running meanwhile, so
 * commit results, heartbeats and the other partitions keep flowing.
 *
 * Rebalance steps are queued and run one at a time, in the order the group
 * asked: an assignment's onAssigned; a revocation's wait for its in-flight
 * batches, its onRevoked and its release. A revocation holds the queue at most
 * rebalanceTimeoutMs, though: then its partitions are released and the next
 * steps run while its onRevoked is still running (or has yet to start, after
 * a batch that has not settled) — even an onAssigned of the same partition,
 * when the group gives it back to this member. close() likewise waits for the
 * queue at most rebalanceTimeoutMs before it calls onRevoked itself. So
 * onAssigned/onRevoked run one at a time only while every revocation finishes
 * within rebalanceTimeoutMs.
 */
export class KafkaGroupConsumerImpl extends FlowConsumer<ConsumerHandlers> implements KafkaGroupConsumer {
  readonly groupId: string;
  readonly #options: ResolvedGroupConsumerOptions;
  readonly #flows = new FlowRegistry();
  readonly #commits: CommitQueue;
  /** Native calls are applied at once, not queued, while the native client closes. */
  #disconnecting = false;
  #events: RebalanceEvent[] = [];
  /** Flows whose onRevoked has been called (by a revocation or by close), so it never runs twice. */
  readonly #revokeAnnounced = new WeakSet<PartitionFlow>();
  #chain: Promise<void> = Promise.resolve();
  /** close() stopped waiting for the in-flight onBatch calls: their later failures are logged, not reported. */
  #abandoned = false;
  #firstAssignment!: () => void;
  readonly #assigned: Promise<void>;
  #batches = 0;
  #records = 0;
  #failedBatches = 0;
  #rebalances = 0;

  constructor(config: ResolvedKafkaConfig, options: ResolvedGroupConsumerOptions, onClosed: () => void) {
    super(
      { name: 'group consumer', optionalHandlers: ['onAssigned', 'onRevoked', 'onError'], consuming: `consume from ${options.topics.join(', ')}` },
      config,
      options,
      onClosed,
    );
    this.#options = options;
    this.groupId = options.groupId;
    this.#commits = new CommitQueue(config.requestTimeoutMs);
    this.#assigned = new Promise((resolve) => (this.#firstAssignment = resolve));
  }

  /**
   * Connects, joins the group and starts delivering. Resolves once the first
   * assignment (possibly empty) was applied and its onAssigned settled — or
   * after rebalanceTimeoutMs, when joining takes longer (it goes on).
   */
  override async run(handlers: ConsumerHandlers): Promise<void> {
    await super.run(handlers);
    let timer: NodeJS.Timeout | undefined;
    const joined = await Promise.race([
      this.#assigned.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#options.rebalanceTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!joined) this.logger.warn({ topics: this.#options.topics }, 'no assignment yet after rebalanceTimeoutMs; still joining');
  }

  protected async start(): Promise<void> {
    const native = await this.connect(
      `kafka group consumer ${this.groupId}`,
      { groupId: this.groupId, clientId: this.#options.clientId, fromBeginning: this.#options.fromBeginning },
      {
        rebalance_cb: (err: NativeError | undefined, assignment: NativeTopicPartition[]) => this.#onRebalance(err, assignment),
        offset_commit_cb: (err: NativeError | undefined, partitions: NativeTopicPartition[]) => this.#commits.onResult(err, partitions),
      },
    );
    if (native === undefined) return; // closed while connecting: close() disconnects
    try {
      native.subscribe([...this.#options.topics]);
    } catch (err) {
      throw fromNativeError(err, 'consume', `subscribe to ${this.#options.topics.join(', ')}`);
    }
    this.startPolling(native);
    this.logger.debug({ topics: this.#options.topics }, 'group consumer subscribed');
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.ensureOpen('commit()');
    const check = new ConfigCheck('kafka commit');
    if (!Array.isArray(offsets)) check.problem('offsets', 'must be an array');
    else offsets.forEach((o: TopicPartitionOffset, i) => checkOffset(check, o?.offset, `offsets[${i}].offset`));
    check.throwIfInvalid();
    const native = this.native;
    if (native === undefined || this.#disconnecting) return;
    const owned = offsets.filter((o) => this.#flows.get(o.topic, o.partition) !== undefined);
    if (owned.length < offsets.length) {
      const ignored = offsets.filter((o) => !owned.includes(o)).map((o) => partitionKey(o));
      this.logger.debug({ partitions: ignored }, 'commit ignored for partitions this member does not own');
    }
    if (owned.length === 0) return;
    await this.#commits.commit(native, owned);
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.ensureOpen('pause()');
    for (const tp of partitions) this.#flows.get(tp.topic, tp.partition)?.pause();
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.ensureOpen('resume()');
    for (const tp of partitions) this.#flows.get(tp.topic, tp.partition)?.resume();
  }

  seek(position: TopicPartitionOffset): void {
    this.ensureOpen('seek()');
    const check = new ConfigCheck('kafka seek');
    checkOffset(check, position?.offset, 'offset');
    check.throwIfInvalid();
    const flow = this.#flows.get(position.topic, position.partition);
    const native = this.native;
    if (flow === undefined || flow.stopped || native === undefined) {
      this.logger.debug({ partition: partitionKey(position) }, 'seek ignored: partition not owned');
      return;
    }
    this.seekFlow(native, flow, position.offset);
  }

  assignment(): TopicPartition[] {
    return this.#flows.all().map(tpOf);
  }

  metrics(): KafkaConsumerMetrics {
    let buffered = 0;
    for (const f of this.#flows.all()) buffered += f.buffered;
    return { batches: this.#batches, records: this.#records, failedBatches: this.#failedBatches, rebalances: this.#rebalances, buffered };
  }

  // --- close (FlowConsumer runs these in turn) ---

  /**
   * Leaving the group: delivery stops and the batch signals abort, in-flight
   * onBatch calls settle, pending onAssigned/onRevoked calls finish,
   * onRevoked runs for every owned partition (commits work there); then the
   * member leaves and its partitions are reassigned. Each wait is bounded by
   * rebalanceTimeoutMs; an onBatch it gave up on is ignored from then on (a
   * late rejection is logged, not reported to onError).
   */
  protected async stopDelivery(): Promise<void> {
    const bound = this.#options.rebalanceTimeoutMs;
    const flows = this.#flows.all();
    for (const f of flows) f.stop();
    if (!(await this.#bounded(Promise.all(flows.map((f) => f.idle())), bound, 'in-flight batches to settle'))) this.#abandoned = true;
    await this.#bounded(this.#chain, bound, 'onAssigned/onRevoked to finish');
    const owned = this.#flows.all().filter((f) => !this.#revokeAnnounced.has(f));
    for (const f of owned) this.#revokeAnnounced.add(f);
    if (owned.length > 0) await this.#bounded(this.#callback('onRevoked', owned.map(tpOf)), bound, 'onRevoked');
  }

  protected override beforeDisconnect(): void {
    this.#disconnecting = true;
    // Events the loop did not get to: librdkafka still waits for their (un)assign calls.
    for (const event of this.#events.splice(0)) this.#applyNative(event.kind, event.partitions);
    this.#flows.clear();
  }

  protected override afterClose(): void {
    this.#commits.failAll(closedError('group consumer', 'commit()'));
    this.#firstAssignment();
  }

  // --- librdkafka callbacks ---

  #onRebalance(err: NativeError | undefined, assignment: NativeTopicPartition[]): void {
    const code = err?.code;
    const kind = code === RdKafkaCode.ERR__ASSIGN_PARTITIONS ? 'assign' : code === RdKafkaCode.ERR__REVOKE_PARTITIONS ? 'revoke' : undefined;
    const partitions = (assignment ?? []).map((p) => ({ topic: p.topic, partition: p.partition }));
    if (kind === undefined) {
      // librdkafka asks for an unassign of everything after a rebalance error.
      this.report(fromNativeError(err, 'rebalance', `rebalance of group ${this.groupId}`));
      this.#events.push({ kind: 'revoke', partitions: this.#flows.all().map(tpOf), lost: true });
      this.wake();
      return;
    }
    if (this.#disconnecting || this.state === 'closed') {
      this.#applyNative(kind, partitions);
      return;
    }
    let lost = false;
    if (kind === 'revoke') {
      try {
        lost = this.native?.assignmentLost() ?? false;
      } catch {
        lost = false;
      }
    }
    this.#events.push({ kind, partitions, lost });
    this.wake();
  }

  // --- FlowConsumer: the poll loop and the flows ---

  override hasPendingWork(): boolean {
    return this.#events.length > 0;
  }

  override betweenPolls(): void {
    while (this.#events.length > 0) {
      const event = this.#events.shift() as RebalanceEvent;
      if (event.kind === 'assign') this.#assign(event.partitions);
      else this.#revoke(event.partitions, event.lost);
    }
  }

  protected flowOf(topic: string, partition: number): PartitionFlow | undefined {
    return this.#flows.get(topic, partition);
  }

  override deliver(batch: RecordBatch): unknown {
    this.#batches++;
    this.#records += batch.messages.length;
    return super.deliver(batch);
  }

  override batchFailed(flow: PartitionFlow, error: unknown, batch: RecordBatch): void {
    this.#failedBatches++;
    // As the partition consumer: an onBatch close() gave up on is not reported to onError (close may have resolved).
    if (this.#abandoned) {
      this.logger.warn({ err: error, partition: partitionKey(flow) }, `onBatch of ${partitionKey(flow)} rejected after close() stopped waiting for it: ignored`);
      return;
    }
    super.batchFailed(flow, error, batch);
  }

  // --- internals ---

  /** Applies an assignment in librdkafka and announces it; batches flow once onAssigned settled. */
  #assign(partitions: NativeTopicPartition[]): void {
    this.#rebalances++;
    this.#applyNative('assign', partitions);
    const fresh: PartitionFlow[] = [];
    // No new flows once closing or halted after a failed batch: they would never deliver.
    if (this.canDeliver()) {
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
    this.logger.info({ partitions: partitions.map((p) => partitionKey(p)) }, 'partitions assigned');
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
      // Aborts the batch signal before the wait for the in-flight batch below: it can stop early.
      flow.stop(lost ? 'the partition was lost' : 'the partition is being revoked');
      flows.push(flow);
    }
    this.logger.info({ partitions: partitions.map((p) => partitionKey(p)), lost }, 'partitions revoked');
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
        this.report(
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
    const native = this.native;
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
      this.logger.warn({ err, kind, partitions: tps.map((p) => partitionKey(p)) }, `librdkafka ${kind} failed: ${errorMessage(err)}`);
    }
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((err: unknown) => {
      this.logger.error({ err }, 'kafka group consumer: rebalance step failed');
    });
  }

  async #callback(name: 'onAssigned' | 'onRevoked', partitions: readonly TopicPartition[]): Promise<void> {
    const handlers = this.handlers;
    if (handlers?.[name] === undefined) return;
    try {
      if (name === 'onAssigned') await handlers.onAssigned?.(partitions);
      else await handlers.onRevoked?.(partitions);
    } catch (err) {
      this.report(
        new TributaryError('ERR_HANDLER', `${name} failed for ${partitions.map((p) => partitionKey(p)).join(', ')}: ${errorMessage(err)}`, {
          cause: err,
        }),
      );
    }
  }

  /** Waits for `work` at most `ms`; true when it finished in time. */
  async #bounded(work: Promise<unknown>, ms: number, what: string): Promise<boolean> {
    const finished = await this.settlesWithin(work, ms);
    if (!finished) this.logger.warn({ timeoutMs: ms }, `gave up waiting for ${what}`);
    return finished;
  }
}
