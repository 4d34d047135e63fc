import {
  ConfigCheck,
  TributaryError,
  partitionKey,
  type ConsumerHandlers,
  type GroupConsumer,
  type RecordBatch,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@tributary/core';
import type { BrokerEngine } from './broker';
import { closedError } from '@tributary/core';
import { batchError, callbackError, reportError } from './errors';
import type { ConsumerGroup, GroupMember, PartitionGrant } from './consumer-group';
import { checkHandlers, checkOffset, type ResolvedGroupConsumerOptions } from './options';
import { PartitionFetcher, type FetcherHost } from './partition-fetcher';

type State = 'new' | 'running' | 'closing' | 'closed';

function tpOf(f: PartitionFetcher): TopicPartition {
  return { topic: f.topic, partition: f.partition };
}

/**
 * A member of a consumer group on a memory broker.
 *
 * Rebalance callbacks (onAssigned, onRevoked) run one at a time, in the order
 * the group asked for them (a per-member operation queue). Partitions being
 * revoked stop delivering at once and their batch signal aborts; onRevoked
 * runs after their in-flight batches settle; the group moves them when
 * onRevoked settles.
 */
export class MemoryGroupConsumer implements GroupConsumer, GroupMember, FetcherHost {
  readonly groupId: string;
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly rebalanceTimeoutMs: number;
  readonly #options: ResolvedGroupConsumerOptions;
  readonly #engine: BrokerEngine;
  readonly #onClosed: () => void;
  readonly #fetchers = new Map<string, PartitionFetcher>();
  #group: ConsumerGroup | undefined;
  #handlers: ConsumerHandlers | undefined;
  #state: State = 'new';
  #ops: Promise<void> = Promise.resolve();
  #halted = false;
  #closing: Promise<void> | undefined;

  constructor(engine: BrokerEngine, options: ResolvedGroupConsumerOptions, onClosed: () => void) {
    this.#engine = engine;
    this.#options = options;
    this.#onClosed = onClosed;
    this.groupId = options.groupId;
    this.topics = options.topics;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs;
    this.memberId = `${options.clientId}-${engine.nextSeq()}`;
  }

  /**
   * Joins the group and starts delivering. Resolves once the member has
   * joined and onAssigned has run for the partitions that were free; the
   * partitions other members still hold follow when they release them.
   */
  async run(handlers: ConsumerHandlers): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError('group consumer', 'run()');
    if (this.#state !== 'new') throw new TributaryError('ERR_STATE', 'run() was already called on this consumer');
    checkHandlers('memory group consumer handlers', handlers, ['onAssigned', 'onRevoked', 'onError']);
    this.#handlers = handlers;
    this.#state = 'running';
    this.#group = this.#engine.group(this.groupId, this.#options.logger);
    await this.#group.join(this);
    await this.#ops;
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.#state === 'closed') throw closedError('group consumer', 'commit()');
    const check = new ConfigCheck('memory commit');
    if (!Array.isArray(offsets)) check.problem('offsets', 'must be an array');
    else offsets.forEach((o: TopicPartitionOffset, i) => checkOffset(check, o?.offset, `offsets[${i}].offset`));
    check.throwIfInvalid();
    if (this.#group === undefined) return;
    const ignored = this.#group.commit(this, offsets);
    if (ignored.length > 0) {
      this.#options.logger.debug({ partitions: ignored.map(partitionKey) }, 'commit ignored for partitions this member does not own');
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.#ensureOpen('pause()');
    for (const tp of partitions) this.#fetchers.get(partitionKey(tp))?.pause();
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.#ensureOpen('resume()');
    for (const tp of partitions) this.#fetchers.get(partitionKey(tp))?.resume();
  }

  seek(position: TopicPartitionOffset): void {
    this.#ensureOpen('seek()');
    const check = new ConfigCheck('memory seek');
    checkOffset(check, position.offset, 'offset');
    check.throwIfInvalid();
    const fetcher = this.#fetchers.get(partitionKey(position));
    if (fetcher === undefined) {
      this.#options.logger.debug({ partition: partitionKey(position) }, 'seek ignored: partition not owned');
      return;
    }
    fetcher.seek(position.offset);
  }

  /** Owned partitions, sorted; includes partitions whose revocation is in progress until onRevoked settles. */
  assignment(): TopicPartition[] {
    return [...this.#fetchers.values()]
      .map(tpOf)
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /**
   * Leaves the group: deliveries stop and the batch signals abort at once,
   * in-flight batches settle, onRevoked runs for every owned partition, then
   * the partitions go to the other members. The wait is bounded by
   * rebalanceTimeoutMs. Do not await close() inside onBatch: close waits for
   * that very batch.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state !== 'new') {
      this.#state = 'closing';
      // Abort every batch signal now, not when the group gets to the revocation.
      for (const f of this.#fetchers.values()) f.stop('the consumer is closing');
      if (this.#group !== undefined) await this.#group.leave(this);
    }
    for (const f of this.#fetchers.values()) f.stop();
    this.#fetchers.clear();
    this.#state = 'closed';
    this.#onClosed();
  }

  // --- GroupMember: called by the group coordinator ---

  assignPartitions(grants: readonly PartitionGrant[]): void {
    const fresh = grants.map((g) => {
      const fetcher = new PartitionFetcher(g.log, this.#options.maxBatchRecords, this);
      this.#fetchers.set(partitionKey(g.tp), fetcher);
      return fetcher;
    });
    void this.#enqueue(async () => {
      await this.#callback('onAssigned', fresh.map(tpOf));
      for (const f of fresh) {
        if (this.#halted || f.stopped || this.#fetchers.get(partitionKey(f)) !== f) continue;
        f.start(f.hasExplicitPosition ? f.position : this.#startOffset(f));
      }
    });
  }

  revokePartitions(partitions: readonly TopicPartition[]): Promise<void> {
    const fetchers: PartitionFetcher[] = [];
    for (const tp of partitions) {
      const f = this.#fetchers.get(partitionKey(tp));
      if (f === undefined) continue;
      // Aborts the batch signal before waiting for the in-flight batch: it can stop early.
      f.stop(this.#state === 'closing' ? 'the consumer is closing' : 'the partition is being revoked');
      fetchers.push(f);
    }
    return this.#enqueue(async () => {
      await Promise.all(fetchers.map((f) => f.idle()));
      // After a rebalance timeout the partitions were already taken away; onRevoked still runs
      // (late, like Kafka's onPartitionsLost) unless this member got them back meanwhile.
      const revoked = fetchers.filter((f) => {
        const current = this.#fetchers.get(partitionKey(f));
        return current === undefined || current === f;
      });
      if (revoked.length === 0) return;
      await this.#callback('onRevoked', revoked.map(tpOf));
      for (const f of revoked) {
        if (this.#fetchers.get(partitionKey(f)) === f) this.#fetchers.delete(partitionKey(f));
      }
    });
  }

  revokeTimedOut(partitions: readonly TopicPartition[], timeoutMs: number): void {
    for (const tp of partitions) {
      const f = this.#fetchers.get(partitionKey(tp));
      if (f === undefined) continue;
      f.stop('the partition was reassigned after the rebalance timeout');
      this.#fetchers.delete(partitionKey(tp));
    }
    this.#report(
      new TributaryError(
        'ERR_TIMEOUT',
        `revoking ${partitions.map(partitionKey).join(', ')} took longer than rebalanceTimeoutMs (${timeoutMs} ms): ` +
          'the partitions were reassigned; commits for them are ignored from now on',
        { retriable: false },
      ),
    );
  }

  // --- FetcherHost: called by this member's partition fetchers ---

  deliver(batch: RecordBatch): unknown {
    return (this.#handlers as ConsumerHandlers).onBatch(batch);
  }

  batchFailed(_fetcher: PartitionFetcher, error: unknown, batch: RecordBatch): void {
    if (this.#halted) return;
    // The contract: stop delivering, report, close (onRevoked still runs so finished work can be committed).
    this.#halted = true;
    for (const f of this.#fetchers.values()) f.stop('the consumer is closing after a failed batch');
    this.#report(batchError(error, batch));
    void this.close();
  }

  outOfRange(fetcher: PartitionFetcher): number {
    return this.#options.fromBeginning ? fetcher.log.low : fetcher.log.high;
  }

  logDeleted(fetcher: PartitionFetcher): void {
    // The group revokes partitions of deleted topics; nothing to deliver meanwhile.
    this.#options.logger.debug({ partition: partitionKey(fetcher) }, 'topic deleted; waiting for revocation');
  }

  // --- internals ---

  /** Committed offset, else earliest or latest per fromBeginning. Read after onAssigned, like Kafka's first poll. */
  #startOffset(f: PartitionFetcher): number {
    const committed = this.#group?.committed.get(partitionKey(f));
    if (committed !== undefined) return committed;
    return this.#options.fromBeginning ? f.log.low : f.log.high;
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.#ops.then(op).catch((err: unknown) => {
      this.#options.logger.error({ err }, 'memory group consumer: rebalance step failed');
    });
    this.#ops = next;
    return next;
  }

  async #callback(name: 'onAssigned' | 'onRevoked', partitions: readonly TopicPartition[]): Promise<void> {
    const handlers = this.#handlers;
    if (handlers === undefined) return;
    try {
      if (name === 'onAssigned') await handlers.onAssigned?.(partitions);
      else await handlers.onRevoked?.(partitions);
    } catch (err) {
      this.#report(callbackError(name, partitions, err));
    }
  }

  #report(error: TributaryError): void {
    reportError(this.#options.logger, this.#handlers, error);
  }

  #ensureOpen(call: string): void {
    if (this.#state === 'closed') throw closedError('group consumer', call);
  }
}
