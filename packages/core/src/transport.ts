/**
 * The transport interface: a partitioned log, batch-first, with no client
 * types. Every package above core is written against it; `@tributary/kafka`
 * and `@tributary/memory` implement it and both pass the conformance suite in
 * `@tributary/testutil`.
 *
 * Conventions that hold for every method below:
 * - Offsets are numbers; a *committed* offset is the next offset to read.
 * - Methods that return promises never reject for per-record failures; those
 *   are reported per record. They reject only for call-level failures
 *   (closed component, invalid argument, lost connection that cannot be
 *   retried), always with a TributaryError.
 * - `close()` is idempotent and safe to call concurrently; after it, async
 *   methods reject with ERR_CLOSED and pause/resume/seek are ignored.
 * - A record for a partition or topic that does not exist fails alone, in its
 *   SendResult, with ERR_UNKNOWN_TOPIC.
 */
import type { TributaryError } from './errors';
import type { Message, ProducerRecord, TopicPartition, TopicPartitionOffset } from './message';
import type { Logger } from './logger';

/** What a transport can do; the conformance suite runs the tests a transport declares. */
export interface TransportFeatures {
  /** Group consumers rebalance partitions among members and call onRevoked/onAssigned. */
  readonly consumerGroups: boolean;
  /** Partition consumers without a group are supported. */
  readonly partitionConsumer: boolean;
  /** Records larger than this many bytes are rejected with ERR_RECORD_TOO_LARGE. */
  readonly maxRecordBytes: number;
  /** A closed group member's partitions move to the others (a member that leaves is noticed). */
  readonly rebalanceOnLeave: boolean;
  /** Messages are persisted outside the process (false for memory). */
  readonly persistent: boolean;
}

/** A transport: factories for producers, consumers and an admin client. */
export interface Transport {
  /** 'kafka', 'memory', … — used in logs and as `messaging.system` in traces. */
  readonly system: string;
  readonly features: TransportFeatures;
  producer(options?: ProducerOptions): TransportProducer;
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  partitionConsumer(options: PartitionConsumerOptions): PartitionConsumer;
  admin(): Admin;
  /** Closes every producer, consumer and admin client this transport created. */
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** Client id shown to the broker. */
  readonly clientId?: string;
  readonly logger?: Logger;
}

/** Where one record landed, or why it did not. */
export type SendResult =
  | { readonly ok: true; readonly topic: string; readonly partition: number; readonly offset: number }
  | { readonly ok: false; readonly topic: string; readonly error: TributaryError };

/**
 * A producer.
 *
 * Ordering: records sent in one call, or in successive calls without
 * awaiting, that go to the same partition are appended in call order (Kafka:
 * the idempotent producer keeps this even across retries).
 *
 * Concurrency: safe to call `send` from many async contexts at once.
 */
export interface TransportProducer {
  /** Connects eagerly; `send` connects lazily when this was not called. */
  connect(): Promise<void>;
  /**
   * Sends records and resolves once every record is acknowledged or has
   * failed: one result per record, in input order. One failed record does not
   * fail the others. When the local queue is full the call waits
   * (backpressure) instead of failing.
   */
  send(records: readonly ProducerRecord[]): Promise<SendResult[]>;
  /** Resolves when every record handed to `send` so far has a result. */
  flush(): Promise<void>;
  /** Flushes, then releases the connection. */
  close(): Promise<void>;
}

/** Records of one partition, in offset order, delivered together. */
export interface RecordBatch {
  readonly topic: string;
  readonly partition: number;
  /** Non-empty, strictly increasing offsets (gaps are possible: compaction, transactions). */
  readonly messages: readonly Message[];
  /** The partition's high watermark when the batch was fetched, when known (for lag). */
  readonly highWatermark?: number;
  /**
   * Aborted when this consumer starts giving the partition up: when its
   * revocation begins (a rebalance moves it, or it is lost) or when the
   * consumer starts closing — before the transport waits for the in-flight
   * `onBatch`, so before `onRevoked`. A handler should then start no further
   * record of the batch and settle soon. Records it did not finish must not
   * be committed: the partition's next owner (or the next run) receives them
   * from the last commit. What it did finish can still be committed in
   * `onRevoked`.
   *
   * One signal per partition assignment (per `onAssigned`; for a partition
   * consumer, one for its life): every batch of the partition until it is
   * revoked carries the same signal, so a handler adds at most one listener
   * per assignment, not per batch. The reason is a TributaryError with code
   * ERR_ABORTED.
   *
   * Transports set it (the conformance suite checks it). It is optional in
   * the type so that batches built by hand (tests, mocks) need not carry
   * one; a handler given none simply runs the batch to its end.
   */
  readonly signal?: AbortSignal;
}

/**
 * Callbacks a consumer drives.
 *
 * Contract:
 * - Per partition, `onBatch` calls are sequential: the next batch of a
 *   partition is not delivered until the promise for the previous one settles.
 *   So a handler applies backpressure by not resolving. Batches of different
 *   partitions may be in flight at once.
 * - If `onBatch` rejects, the consumer stops delivering, reports the error to
 *   `onError` (a TributaryError whose cause chain holds what was thrown) and
 *   leaves; nothing is committed on its behalf and `close()` still resolves.
 * - Revocation starts by aborting the partition's `RecordBatch.signal`, so the
 *   in-flight `onBatch` can stop early instead of handling the rest of its
 *   batch; no batch of the partition is delivered after that.
 * - `onRevoked` is called before partitions move to another member, after
 *   every in-flight `onBatch` for them has settled, and no batch of a revoked
 *   partition is delivered after it. The partitions are released only when the
 *   returned promise settles (bounded by the transport's rebalance timeout), so
 *   this is where to drain in-flight work and `commit`.
 * - `onAssigned` is called with newly assigned partitions, and its promise is
 *   awaited, before their first batch.
 * - Code that runs right after `await run(...)` runs before the first `onBatch`.
 */
export interface ConsumerHandlers {
  onBatch(batch: RecordBatch): Promise<void>;
  onAssigned?(partitions: readonly TopicPartition[]): void | Promise<void>;
  onRevoked?(partitions: readonly TopicPartition[]): void | Promise<void>;
  /** Non-fatal errors (a failed fetch that will be retried, a rebalance hiccup). */
  onError?(error: TributaryError): void;
}

export type StartOffset = 'earliest' | 'latest';

export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without a committed offset starts: true = earliest, false = latest. Default true. */
  readonly fromBeginning?: boolean;
  /** Most records per delivered batch. Default 500. */
  readonly maxBatchRecords?: number;
  readonly clientId?: string;
  readonly logger?: Logger;
  /** How long onRevoked may take before the transport gives up the partitions anyway. Default 30 s. */
  readonly rebalanceTimeoutMs?: number;
}

/**
 * A member of a consumer group.
 *
 * Delivery is at-least-once: records are delivered again after a restart or
 * rebalance from the last committed offset. Nothing is committed unless
 * `commit` is called (no auto-commit).
 */
export interface GroupConsumer {
  readonly groupId: string;
  /** Joins the group and starts delivering batches to `handlers`. Resolves once running. */
  run(handlers: ConsumerHandlers): Promise<void>;
  /**
   * Commits offsets (the next offset to read) for partitions this member owns.
   * Committing a partition it does not own is ignored (returns without error);
   * the commit of a revoked partition must happen in `onRevoked`.
   */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching the partitions until `resume`; batches already delivered are not recalled. */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /**
   * The next batch of that partition starts at `offset`; records already
   * fetched but not delivered are dropped. Only for owned partitions (others
   * are ignored); valid inside `onBatch`, where it applies to the next batch.
   */
  seek(position: TopicPartitionOffset): void;
  /** Partitions currently owned by this member. */
  assignment(): TopicPartition[];
  /**
   * Leaves the group. The `signal` of every owned partition is aborted, then
   * in-flight `onBatch` calls are awaited, then `onRevoked` runs for every
   * owned partition (so work can be committed), then the member leaves and its
   * partitions are reassigned.
   */
  close(): Promise<void>;
}

export interface PartitionConsumerOptions {
  readonly topic: string;
  readonly partition: number;
  /** Offset to start from, or 'earliest' / 'latest'. */
  readonly from: number | StartOffset;
  readonly maxBatchRecords?: number;
  readonly clientId?: string;
  readonly logger?: Logger;
  /**
   * How long `close()` waits for the in-flight `onBatch` (after aborting its
   * `signal`) before it closes anyway — the bound a group consumer's
   * `rebalanceTimeoutMs` puts on its close. 0 (do not wait) to 3 600 000;
   * default 30 s.
   */
  readonly closeTimeoutMs?: number;
}

/** Reads one partition without a group: no commits, no rebalances. */
export interface PartitionConsumer {
  readonly topic: string;
  readonly partition: number;
  /** Starts delivering; `onAssigned`/`onRevoked` are not called. */
  run(handlers: Pick<ConsumerHandlers, 'onBatch' | 'onError'>): Promise<void>;
  seek(offset: number): void;
  pause(): void;
  resume(): void;
  /** Offset of the next record to be delivered. */
  position(): number;
  /**
   * Aborts the batches' `signal`, stops delivering and awaits the in-flight
   * `onBatch` — at most `closeTimeoutMs`; then it closes anyway (with a
   * warning in the log) and whatever that `onBatch` later does is ignored: it
   * is not reported to `onError` and no batch follows it. Nothing is
   * committed either way (a partition consumer never commits).
   */
  close(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  /** Default 1. */
  readonly partitions?: number;
  /** Default: the broker's default. */
  readonly replicationFactor?: number;
  /** Topic configs (e.g. `cleanup.policy`). */
  readonly config?: Readonly<Record<string, string>>;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** First offset still in the log. */
  readonly low: number;
  /** Next offset to be written. */
  readonly high: number;
}

/** Topic and group administration. */
export interface Admin {
  /** Creates topics; an existing topic is an ERR_TOPIC_EXISTS error unless `ifNotExists`. Resolves when the topics are usable. */
  createTopics(topics: readonly TopicSpec[], options?: { readonly ifNotExists?: boolean }): Promise<void>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Low and high offsets of every partition; ERR_UNKNOWN_TOPIC for a missing topic. */
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Committed offsets of a group for the topics' partitions; partitions with no commit are left out. */
  fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]>;
  close(): Promise<void>;
}
