import {
  errorMessage,
  type HandlerMiddleware,
  type PartitionConsumer,
  type RecordBatch,
  type TopicPartitionOffset,
  type Transport,
  type TributaryError,
} from '@tributary/core';
import {
  validatePartitionConsumerConfig,
  type PartitionConsumerConfig,
  type ResolvedPartitionConsumerConfig,
} from './consumer-config';
import type { ResolvedTopicHandlers } from './handler-chain';
import { PartitionProgress } from './partition-progress';
import { ShardedConsumer } from './sharded-consumer';

const NO_TOPIC_HANDLERS: ReadonlyMap<string, ResolvedTopicHandlers<HandlerMiddleware>> = new Map();

/**
 * Consumes one topic-partition without a group, on N shard workers (same
 * ordering, retry and backpressure rules as the group consumer). Its next
 * offset is loaded from the `offsetStore` at start and saved there as
 * records complete (the contiguous processed prefix, coalesced) and on close.
 *
 * Reconnects: when the transport consumer cannot start, or reports a
 * non-retriable error (it has stopped — e.g. the topic was deleted), it is
 * closed and a new one is started after a backoff (200 ms → 5 s, ×2 by
 * default), from the offset after the last record delivered — records
 * already in the shards are not fetched twice.
 */
export class ShardedPartitionConsumer extends ShardedConsumer {
  readonly config: ResolvedPartitionConsumerConfig;
  #progress: PartitionProgress | undefined;
  #consumer: PartitionConsumer | undefined;
  #startFrom: number | 'earliest' | 'latest' = 'earliest';
  #lost: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #reconnects = 0;
  readonly #stopReconnecting = new AbortController();

  /** @throws ConfigError listing every invalid option. */
  constructor(transport: Transport, config: PartitionConsumerConfig) {
    const resolved = validatePartitionConsumerConfig(config);
    super(transport, resolved);
    this.config = resolved;
  }

  get topic(): string {
    return this.config.topic;
  }

  get partition(): number {
    return this.config.partition;
  }

  /** How many times the transport consumer was replaced after a failure. */
  get reconnects(): number {
    return this.#reconnects;
  }

  override toString(): string {
    return `partition-consumer(${this.config.topic}:${this.config.partition})`;
  }

  protected override get group(): undefined {
    return undefined;
  }

  protected override partitions(): Iterable<PartitionProgress> {
    return this.#progress === undefined ? [] : [this.#progress];
  }

  protected override topicHandlers(): ReadonlyMap<string, ResolvedTopicHandlers<HandlerMiddleware>> {
    return NO_TOPIC_HANDLERS;
  }

  /** Loads the stored offset, then starts the fetch loop; resolves after its first connection attempt (failed or not). */
  protected override async connect(): Promise<void> {
    const c = this.config;
    const stored = await c.offsetStore.load(c.topic, c.partition);
    const progress = new PartitionProgress({ topic: c.topic, partition: c.partition });
    progress.committed = stored;
    this.#progress = progress;
    this.#startFrom = stored ?? c.initialOffset;
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.#loop = this.#fetchLoop(progress, firstAttempt);
    await attempted;
    c.logger.info({ topic: c.topic, partition: c.partition, from: this.#startFrom, shards: c.shardCount }, 'sharded partition consumer started');
  }

  protected override async disconnect(_drain: boolean): Promise<void> {
    this.#stopReconnecting.abort();
    this.#lost?.();
    await this.#loop;
    if (this.#progress !== undefined) await this.drainPartitions([this.#progress]);
  }

  protected override pauseTransport(_progress: PartitionProgress, paused: boolean): void {
    if (paused) this.#consumer?.pause();
    else this.#consumer?.resume();
  }

  protected override async saveOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) await this.config.offsetStore.save(o.topic, o.partition, o.offset);
  }

  /** Where the next transport consumer starts: after the last delivered record, else the stored or initial offset. */
  #from(progress: PartitionProgress): number | 'earliest' | 'latest' {
    return progress.lastOffset === undefined ? this.#startFrom : progress.lastOffset + 1;
  }

  async #fetchLoop(progress: PartitionProgress, firstAttempt: () => void): Promise<void> {
    const c = this.config;
    let failures = 0;
    while (this.running) {
      let current: PartitionConsumer | undefined;
      const lost = new Promise<void>((resolve) => (this.#lost = resolve));
      try {
        const consumer = this.transport.partitionConsumer({
          topic: c.topic,
          partition: c.partition,
          from: this.#from(progress),
          logger: c.logger,
          ...(c.maxBatchRecords === undefined ? {} : { maxBatchRecords: c.maxBatchRecords }),
          ...(c.clientId === undefined ? {} : { clientId: c.clientId }),
        });
        current = consumer;
        this.#consumer = consumer;
        if (progress.transportPaused) consumer.pause();
        await consumer.run({
          onBatch: async (batch) => this.#onBatch(batch, consumer, progress),
          onError: (error) => this.#onTransportError(error, consumer),
        });
        failures = 0;
        firstAttempt();
        await lost;
      } catch (err) {
        c.logger.warn({ err, topic: c.topic, partition: c.partition }, `partition consumer could not start: ${errorMessage(err)}`);
        this.reportError(err);
      }
      firstAttempt();
      this.#consumer = undefined;
      await current?.close().catch((err: unknown) => c.logger.warn({ err }, `partition consumer close failed: ${errorMessage(err)}`));
      if (!this.running) break;
      const delayMs = c.reconnect.delayFor(++failures);
      c.logger.warn({ topic: c.topic, partition: c.partition, delayMs, attempt: failures }, `reconnecting in ${delayMs} ms`);
      try {
        await c.sleep(delayMs, this.#stopReconnecting.signal);
      } catch {
        break;
      }
      if (!this.running) break;
      this.#reconnects++;
    }
  }

  #onBatch(batch: RecordBatch, consumer: PartitionConsumer, progress: PartitionProgress): void {
    // A batch of a consumer being replaced would be fetched again by its successor.
    if (consumer !== this.#consumer) return;
    this.dispatch(progress, batch.messages);
  }

  #onTransportError(error: TributaryError, consumer: PartitionConsumer): void {
    this.config.logger.warn({ err: error }, `transport error: ${errorMessage(error)}`);
    this.reportError(error);
    // A non-retriable error means the transport consumer has given up: replace it.
    if (!error.retriable && consumer === this.#consumer) this.#lost?.();
  }
}

/**
 * Creates a sharded partition consumer on `transport`. Nothing happens until
 * `start` or `consume`.
 *
 * @throws ConfigError listing every invalid option.
 */
export function createShardedPartitionConsumer(transport: Transport, config: PartitionConsumerConfig): ShardedPartitionConsumer {
  return new ShardedPartitionConsumer(transport, config);
}
