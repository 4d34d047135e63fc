/**
 * A GroupConsumer the test drives by hand: it assigns, delivers and revokes
 * when told, and records commits, pauses, resumes and seeks — for testing
 * code that runs on a group consumer (the consumer runtime, sharded
 * consumers) without a transport, at exactly the interleavings a test wants.
 */
import {
  partitionKey,
  TributaryError,
  isTributaryError,
  type ConsumerHandlers,
  type GroupConsumer,
  type Message,
  type RecordBatch,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@tributary/core';

export interface MockConsumerOptions {
  readonly groupId?: string;
  readonly topics?: readonly string[];
  /** Assigned (onAssigned) when `run` is called. Default none: `deliver` assigns on first use. */
  readonly partitions?: readonly TopicPartition[];
}

/**
 * Follows the GroupConsumer contract where the test does not drive it:
 * per-partition deliveries are sequential, a rejected onBatch reports to
 * onError and closes the consumer, commits of partitions it does not own are
 * ignored, close awaits in-flight batches and revokes owned partitions, and
 * calls after close reject (or throw) with ERR_CLOSED.
 */
export class MockConsumer implements GroupConsumer {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Every `commit` call's offsets, in order (ignored ones included). */
  readonly commitCalls: (readonly TopicPartitionOffset[])[] = [];
  /** Every `seek`, in order. */
  readonly seeks: TopicPartitionOffset[] = [];
  /** Every `pause` / `resume` call's partitions, in order. */
  readonly pauseCalls: (readonly TopicPartition[])[] = [];
  readonly resumeCalls: (readonly TopicPartition[])[] = [];

  readonly #options: MockConsumerOptions;
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #paused = new Set<string>();
  readonly #committed = new Map<string, TopicPartitionOffset>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #failNextCommit: TributaryError[] = [];
  #handlers: ConsumerHandlers | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(options: MockConsumerOptions = {}) {
    this.#options = options;
    this.groupId = options.groupId ?? 'mock-group';
    this.topics = options.topics ?? [];
  }

  /** True after `run` and before close. */
  get running(): boolean {
    return this.#handlers !== undefined && !this.#closed && this.#closing === undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    this.#assertOpen();
    if (this.#handlers) throw new TributaryError('ERR_STATE', 'mock consumer: run() called twice');
    this.#handlers = handlers;
    if (this.#options.partitions?.length) await this.assign(this.#options.partitions);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.#assertNotClosed();
    this.commitCalls.push([...offsets]);
    const failure = this.#failNextCommit.shift();
    if (failure) throw failure;
    for (const o of offsets) {
      const key = partitionKey(o);
      if (this.#assigned.has(key)) this.#committed.set(key, { topic: o.topic, partition: o.partition, offset: o.offset });
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.#assertNotClosed();
    this.pauseCalls.push([...partitions]);
    for (const tp of partitions) this.#paused.add(partitionKey(tp));
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.#assertNotClosed();
    this.resumeCalls.push([...partitions]);
    for (const tp of partitions) this.#paused.delete(partitionKey(tp));
  }

  seek(position: TopicPartitionOffset): void {
    this.#assertNotClosed();
    this.seeks.push({ topic: position.topic, partition: position.partition, offset: position.offset });
  }

  assignment(): TopicPartition[] {
    return [...this.#assigned.values()];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#settleInFlight([...this.#assigned.keys()]);
      const owned = this.assignment();
      try {
        if (owned.length > 0) await this.#handlers?.onRevoked?.(owned);
      } finally {
        this.#assigned.clear();
        this.#closed = true;
      }
    })();
    return this.#closing;
  }

  // ---- driving the consumer from a test ----

  /** The last committed offset of a partition (only commits of owned partitions count). */
  committed(tp: TopicPartition): number | undefined {
    return this.#committed.get(partitionKey(tp))?.offset;
  }

  /** Every partition's last committed offset. */
  committedOffsets(): TopicPartitionOffset[] {
    return [...this.#committed.values()];
  }

  isPaused(tp: TopicPartition): boolean {
    return this.#paused.has(partitionKey(tp));
  }

  /** Makes the next `commit` reject with `error` (default ERR_COMMIT). */
  failNextCommit(error: TributaryError = new TributaryError('ERR_COMMIT', 'mock consumer: commit failed')): this {
    this.#failNextCommit.push(error);
    return this;
  }

  /** Assigns partitions: they become owned, then onAssigned runs. */
  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    const handlers = this.#requireRunning();
    const fresh = partitions.filter((tp) => !this.#assigned.has(partitionKey(tp)));
    for (const tp of fresh) this.#assigned.set(partitionKey(tp), { topic: tp.topic, partition: tp.partition });
    if (fresh.length > 0) await handlers.onAssigned?.(fresh);
  }

  /** Revokes partitions: waits for their in-flight batches, runs onRevoked (they are still owned, so commits count), then drops them. */
  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    const handlers = this.#requireRunning();
    const owned = partitions.filter((tp) => this.#assigned.has(partitionKey(tp)));
    await this.#settleInFlight(owned.map((tp) => partitionKey(tp)));
    try {
      if (owned.length > 0) await handlers.onRevoked?.(owned);
    } finally {
      for (const tp of owned) this.#assigned.delete(partitionKey(tp));
    }
  }

  /**
   * Delivers a batch (see buildBatch) and resolves when onBatch settles. An
   * unowned partition is assigned first; a paused one is a state error (a
   * real consumer would not deliver it). Waits for the partition's previous
   * batch first. When onBatch rejects, the error goes to onError, the
   * consumer closes (as a real one stops), and `deliver` rejects with it.
   */
  async deliver(b: RecordBatch): Promise<void> {
    const handlers = this.#requireRunning();
    const tp = { topic: b.topic, partition: b.partition };
    const key = partitionKey(tp);
    if (this.#paused.has(key)) throw new TributaryError('ERR_STATE', `mock consumer: ${key} is paused`);
    // Chained synchronously, so deliveries of one partition run in call order.
    const previous = this.#inFlight.get(key);
    const delivery = (async () => {
      await previous?.then(noop, noop);
      if (!this.#assigned.has(key)) await this.assign([tp]);
      await handlers.onBatch(b);
    })();
    this.#inFlight.set(key, delivery);
    try {
      await delivery;
    } catch (err: unknown) {
      const error = isTributaryError(err) ? err : new TributaryError('ERR_HANDLER', `onBatch failed for ${key}`, { cause: err, context: tp });
      handlers.onError?.(error);
      // A real consumer stops on its own; a failing onRevoked during that is reported, not thrown.
      this.close().catch((closeError: unknown) =>
        handlers.onError?.(isTributaryError(closeError) ? closeError : new TributaryError('ERR_HANDLER', `onRevoked failed for ${key}`, { cause: closeError })),
      );
      throw err;
    } finally {
      if (this.#inFlight.get(key) === delivery) this.#inFlight.delete(key);
    }
  }

  /** Delivers messages as one batch per partition (in first-seen partition order), one after another. */
  async deliverMessages(messages: readonly Message[]): Promise<void> {
    const groups = new Map<string, Message[]>();
    for (const m of messages) {
      const key = partitionKey(m);
      const group = groups.get(key) ?? [];
      group.push(m);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const first = group[0]!;
      await this.deliver({ topic: first.topic, partition: first.partition, messages: group });
    }
  }

  /** Reports a non-fatal transport error to onError. */
  reportError(error: TributaryError): void {
    this.#requireRunning().onError?.(error);
  }

  async #settleInFlight(keys: readonly string[]): Promise<void> {
    const pending = keys.flatMap((k) => {
      const p = this.#inFlight.get(k);
      return p ? [p.then(noop, noop)] : [];
    });
    await Promise.all(pending);
  }

  #requireRunning(): ConsumerHandlers {
    this.#assertOpen();
    if (!this.#handlers) throw new TributaryError('ERR_STATE', 'mock consumer: run() was not called');
    return this.#handlers;
  }

  /** For calls a consumer accepts until close() resolves (onRevoked commits while closing). */
  #assertNotClosed(): void {
    if (this.#closed) throw new TributaryError('ERR_CLOSED', 'mock consumer is closed');
  }

  /** For calls that start work: refused once close() was called. */
  #assertOpen(): void {
    if (this.#closed || this.#closing) throw new TributaryError('ERR_CLOSED', 'mock consumer is closed');
  }
}

function noop(): void {}
