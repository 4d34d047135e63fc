import {
  errorMessage,
  partitionKey,
  type GroupConsumer,
  type HandlerMiddleware,
  type RecordBatch,
  type TopicPartition,
  type TopicPartitionOffset,
  type Transport,
  type TributaryError,
} from '@tributary/core';
import { validateGroupConsumerConfig, type GroupConsumerConfig, type ResolvedGroupConsumerConfig } from './consumer-config';
import type { ResolvedTopicHandlers } from './handler-chain';
import { PartitionProgress } from './partition-progress';
import { ShardedConsumer } from './sharded-consumer';

/**
 * A consumer group member that processes each partition's records on N
 * shard workers: records of one key in order, one at a time; different keys
 * in parallel, also within a partition. At-least-once: a partition's offset
 * is committed only when every record below it is done.
 *
 * Rebalances: when partitions are revoked, their records that have not
 * started are dropped (the next owner reads them from the committed offset),
 * retry waits of their records end, running handlers finish (bounded by
 * `drainTimeoutMs`), and the processed prefix is committed before the
 * transport releases the partitions. With a transport that sets
 * `RecordBatch.signal`, the dropping and the end of retry waits happen when
 * the revocation starts, not when the transport gets to onRevoked.
 */
export class ShardedGroupConsumer extends ShardedConsumer {
  readonly config: ResolvedGroupConsumerConfig;
  readonly #partitions = new Map<string, PartitionProgress>();
  /** The batch signal each partition follows (one per assignment). */
  readonly #signals = new WeakMap<PartitionProgress, AbortSignal>();
  #consumer: GroupConsumer | undefined;

  /** @throws ConfigError listing every invalid option. */
  constructor(transport: Transport, config: GroupConsumerConfig) {
    const resolved = validateGroupConsumerConfig(config);
    super(transport, resolved);
    this.config = resolved;
  }

  get groupId(): string {
    return this.config.groupId;
  }

  get topics(): readonly string[] {
    return this.config.topics;
  }

  /** Partitions this member owns right now. */
  assignment(): TopicPartition[] {
    return [...this.#partitions.values()].map((p) => p.tp);
  }

  protected override get group(): string {
    return this.config.groupId;
  }

  protected override partitions(): Iterable<PartitionProgress> {
    return this.#partitions.values();
  }

  protected override topicHandlers(): ReadonlyMap<string, ResolvedTopicHandlers<HandlerMiddleware>> {
    return this.config.topicHandlers;
  }

  protected override async connect(): Promise<void> {
    const c = this.config;
    this.#consumer = this.transport.groupConsumer({
      groupId: c.groupId,
      topics: c.topics,
      fromBeginning: c.fromBeginning,
      logger: c.logger,
      ...(c.maxBatchRecords === undefined ? {} : { maxBatchRecords: c.maxBatchRecords }),
      ...(c.clientId === undefined ? {} : { clientId: c.clientId }),
      ...(c.rebalanceTimeoutMs === undefined ? {} : { rebalanceTimeoutMs: c.rebalanceTimeoutMs }),
    });
    await this.#consumer.run({
      onBatch: async (batch) => this.#onBatch(batch),
      onAssigned: (partitions) => this.#onAssigned(partitions),
      onRevoked: (partitions) => this.#onRevoked(partitions),
      onError: (error) => this.#onTransportError(error),
    });
    c.logger.info({ groupId: c.groupId, topics: c.topics, shards: c.shardCount }, 'sharded group consumer started');
  }

  protected override async disconnect(_drain: boolean): Promise<void> {
    // The transport awaits in-flight batches and calls onRevoked for every owned partition: the drain happens there.
    await this.#consumer?.close();
    // Anything the transport did not revoke: give it up without a commit (the member has left).
    const left = [...this.#partitions.values()];
    this.#partitions.clear();
    await this.drainPartitions(left, false);
  }

  protected override pauseTransport(progress: PartitionProgress, paused: boolean): void {
    if (paused) this.#consumer?.pause([progress.tp]);
    else this.#consumer?.resume([progress.tp]);
  }

  protected override async saveOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.#consumer?.commit(offsets);
  }

  #onBatch(batch: RecordBatch): void {
    let p = this.#partitions.get(partitionKey(batch));
    if (p === undefined) {
      // A transport that delivers before announcing the assignment.
      this.#onAssigned([{ topic: batch.topic, partition: batch.partition }]);
      p = this.#partitions.get(partitionKey(batch));
    }
    if (p === undefined) return;
    const signal = batch.signal;
    if (signal !== undefined && this.#signals.get(p) !== signal) {
      this.#signals.set(p, signal);
      const progress = p;
      if (signal.aborted) this.stopDispatching(progress);
      else signal.addEventListener('abort', () => this.stopDispatching(progress), { once: true });
    }
    this.dispatch(p, batch.messages);
  }

  #onAssigned(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const id = partitionKey(tp);
      // A partition given up and assigned again without its onRevoked (a
      // transport may skip it then) starts afresh: its old records must not
      // block or commit for the new assignment.
      if (!this.#partitions.has(id) || this.#partitions.get(id)?.revoked === true) this.#partitions.set(id, new PartitionProgress(tp));
    }
    this.config.logger.info({ partitions: partitions.map(partitionKey) }, 'partitions assigned');
  }

  async #onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    const states: PartitionProgress[] = [];
    for (const tp of partitions) {
      const p = this.#partitions.get(partitionKey(tp));
      if (p !== undefined) states.push(p);
    }
    try {
      await this.drainPartitions(states);
    } finally {
      // Only the states drained here: a partition assigned again while this
      // drain ran (a revocation that outlived the transport's rebalance
      // timeout) has a fresh state that must survive, or its next batch would
      // start a third one that commits past its running records.
      for (const p of states) if (this.#partitions.get(p.id) === p) this.#partitions.delete(p.id);
    }
    this.config.logger.info({ partitions: partitions.map(partitionKey) }, 'partitions revoked');
  }

  #onTransportError(error: TributaryError): void {
    this.config.logger.warn({ err: error }, `transport error: ${errorMessage(error)}`);
    this.reportError(error);
  }
}

/**
 * Creates a sharded group consumer on `transport` (`kafka({...})`,
 * `memory()`, …). Nothing happens until `start` or `consume`.
 *
 * @throws ConfigError listing every invalid option.
 */
export function createShardedGroupConsumer(transport: Transport, config: GroupConsumerConfig): ShardedGroupConsumer {
  return new ShardedGroupConsumer(transport, config);
}
