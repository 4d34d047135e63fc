import { OffsetTracker, partitionKey, type TopicPartition } from '@tributary/core';

/**
 * What a sharded consumer knows about one partition it owns: which of its
 * delivered records are done (core's OffsetTracker: the committable offset
 * never passes an unfinished record), how many are still somewhere in the
 * shards, why it is paused, and whether it is being given up.
 *
 * One instance per ownership: a partition revoked and assigned again gets a
 * fresh instance, so late completions of the old one cannot leak into it.
 */
export class PartitionProgress {
  readonly tp: TopicPartition;
  /** `topic/partition`. */
  readonly id: string;
  readonly tracker = new OffsetTracker();
  /** Aborted when the partition is given up: retry waits end, no new attempt starts. */
  readonly retryAbort = new AbortController();
  /** Aborted when the drain deadline passes: handlers see it as `ctx.signal`. */
  readonly handlerAbort = new AbortController();
  /** Shards that are full because of this partition's records (backpressure). */
  readonly pausedBy = new Set<number>();
  /** Paused by a handler through `ctx.control.pause`. */
  userPaused = false;
  /** Whether the transport was last told to pause this partition. */
  transportPaused = false;
  /** The last offset committed (or saved), if any. */
  committed: number | undefined;
  /** Offset of the last delivered record, if any. */
  lastOffset: number | undefined;
  #revoked = false;
  #outstanding = 0;
  #idle: (() => void)[] = [];

  constructor(tp: TopicPartition) {
    this.tp = Object.freeze({ topic: tp.topic, partition: tp.partition });
    this.id = partitionKey(tp);
  }

  get revoked(): boolean {
    return this.#revoked;
  }

  /** Records routed to the shards and not finished yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** A delivered record of this partition was routed to a shard. */
  routed(offset: number): void {
    this.tracker.track(offset);
    this.lastOffset = offset;
    this.#outstanding++;
  }

  /** A routed record is finished (done, dead-lettered, dropped or abandoned). */
  finished(): void {
    if (--this.#outstanding > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once no routed record is unfinished. */
  idle(): Promise<void> {
    if (this.#outstanding <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Gives the partition up: no new attempt starts and retry waits end (the records go to the next owner). */
  revoke(): void {
    this.#revoked = true;
    this.retryAbort.abort();
  }
}
