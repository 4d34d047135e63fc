import { TributaryError, errorMessage, unrecoverable, type Logger, type Message } from '@tributary/core';
import { FifoQueue } from './fifo-queue';
import { partitionOrderingKey, type KeyExtractor } from './key-extractor';
import type { PartitionProgress } from './partition-progress';
import { SUCCEEDED, type ProcessOutcome, type RecordProcessor, type ShardEntry } from './record-processor';
import { ShardRouter, type ShardRouting } from './shard-router';

/** What the pool asks of the consumer that owns it. */
export interface ShardPoolHost {
  /** `progress.pausedBy` changed: pause or resume the partition as needed. */
  updatePause(progress: PartitionProgress): void;
  /** A record of `progress` is done: its committable offset may have moved. */
  completed(progress: PartitionProgress): void;
  /** A bug escaped the pool: stop the consumer. */
  crashed(error: unknown): void;
}

export interface ShardPoolOptions {
  readonly shardCount: number;
  readonly shardQueueSize: number;
  readonly routing: ShardRouting;
  readonly keyExtractor: KeyExtractor;
  readonly parkKey: boolean;
  readonly logger: Logger;
}

class Shard {
  readonly index: number;
  readonly queue = new FifoQueue<ShardEntry>();
  /** Park mode: per parked key, its later records, in order, waiting for the key to recover. */
  readonly lanes = new Map<string, FifoQueue<ShardEntry>>();
  /** Partitions paused because this shard is full. */
  readonly feeders = new Set<PartitionProgress>();
  /** Records waiting in lanes. */
  parked = 0;
  /** Records being handled (the worker's, plus one per lane). */
  running = 0;
  /** The worker loop is running. */
  active = false;
  /** Marks the shard as touched by the dispatch in progress. */
  stamp = 0;

  constructor(index: number) {
    this.index = index;
  }

  /** Records held that are not running: what the queue bound applies to. */
  get occupancy(): number {
    return this.queue.length + this.parked;
  }
}

/** Counters of what sits in the shards right now. */
export interface ShardPoolSnapshot {
  readonly queued: number;
  readonly parked: number;
  readonly parkedKeys: number;
  readonly running: number;
  readonly processed: number;
}

/**
 * N shard workers, each with a FIFO queue. A record goes to the shard its
 * key routes to, so records of one key run one at a time, in delivery order,
 * while different keys run in parallel — also within one partition.
 *
 * Backpressure: when a dispatch leaves a shard holding `shardQueueSize` or
 * more records, the partitions that fed it are paused (through the host); they
 * resume once the shard is down to half. A shard thus holds at most its
 * queue size plus one delivered batch per partition feeding it.
 *
 * Park the key (`parkKey`): when a record fails, its key is parked — the
 * record retries on its own lane, the key's later records are moved, in
 * order, onto that lane as the worker reaches them, and the worker goes on
 * with other keys. When the failing record finishes, the lane runs the parked
 * records in order, and the key is unparked once its lane is empty. Parked
 * records count towards the shard's bound.
 */
export class ShardPool {
  readonly #o: ShardPoolOptions;
  readonly #processor: RecordProcessor;
  readonly #host: ShardPoolHost;
  readonly #shards: Shard[];
  readonly #router: ShardRouter;
  readonly #resumeAt: number;
  #stamp = 0;
  #stopped = false;
  #parkedKeys = 0;
  #processed = 0;

  constructor(options: ShardPoolOptions, processor: RecordProcessor, host: ShardPoolHost) {
    this.#o = options;
    this.#processor = processor;
    this.#host = host;
    this.#shards = Array.from({ length: options.shardCount }, (_, i) => new Shard(i));
    this.#router = new ShardRouter(options.shardCount, options.routing, (i) => {
      const s = this.#shards[i] as Shard;
      return s.occupancy + s.running;
    });
    this.#resumeAt = Math.floor(options.shardQueueSize / 2);
  }

  /**
   * Routes delivered records of one partition (in offset order) to their
   * shards and wakes the workers. Synchronous: the caller's onBatch returns
   * at once; backpressure works by pausing the partition.
   */
  dispatch(progress: PartitionProgress, messages: readonly Message[]): void {
    if (this.#stopped || progress.revoked) return;
    const stamp = ++this.#stamp;
    const touched: Shard[] = [];
    for (const message of messages) {
      // A record at or below one already routed (a transport replaying after a reconnect) is a duplicate in flight.
      if (progress.lastOffset !== undefined && message.offset <= progress.lastOffset) {
        this.#o.logger.debug({ partition: progress.id, offset: message.offset, last: progress.lastOffset }, 'skipping a record already routed');
        continue;
      }
      let key: string;
      let keyError: TributaryError | undefined;
      try {
        key = this.#o.keyExtractor(message);
        if (typeof key !== 'string') throw new TypeError(`key extractor returned ${typeof key}, not a string`);
      } catch (err) {
        // Ordered with the partition's keyless records; every attempt fails permanently.
        key = partitionOrderingKey(message);
        keyError = unrecoverable(
          new TributaryError('ERR_HANDLER', `key extractor failed: ${errorMessage(err)}`, {
            cause: err,
            context: { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key },
          }),
        );
      }
      const shard = this.#shards[this.#router.route(key)] as Shard;
      progress.routed(message.offset);
      shard.queue.push(keyError === undefined ? { message, key, progress } : { message, key, progress, keyError });
      if (shard.stamp !== stamp) {
        shard.stamp = stamp;
        touched.push(shard);
      }
    }
    let paused = false;
    for (const shard of touched) {
      if (shard.occupancy >= this.#o.shardQueueSize && !progress.pausedBy.has(shard.index)) {
        progress.pausedBy.add(shard.index);
        shard.feeders.add(progress);
        paused = true;
      }
      this.#wake(shard);
    }
    if (paused) this.#host.updatePause(progress);
  }

  /**
   * Drops the records of `given` partitions that have not started (queued or
   * parked); they stay uncommitted, for the next owner. Running records are
   * left to finish (or give up, once their partition is revoked).
   */
  purge(given: ReadonlySet<PartitionProgress>): void {
    for (const shard of this.#shards) {
      for (const entry of shard.queue.removeWhere((e) => given.has(e.progress))) this.#finish(entry, 'abandoned');
      for (const lane of shard.lanes.values()) {
        const removed = lane.removeWhere((e) => given.has(e.progress));
        shard.parked -= removed.length;
        for (const entry of removed) this.#finish(entry, 'abandoned');
      }
      for (const p of given) shard.feeders.delete(p);
      this.#occupancyDropped(shard);
    }
    for (const p of given) p.pausedBy.clear();
  }

  /** No record starts from now on (running ones finish or give up). */
  stop(): void {
    this.#stopped = true;
  }

  snapshot(): ShardPoolSnapshot {
    let queued = 0;
    let parked = 0;
    let running = 0;
    for (const s of this.#shards) {
      queued += s.queue.length;
      parked += s.parked;
      running += s.running;
    }
    return { queued, parked, parkedKeys: this.#parkedKeys, running, processed: this.#processed };
  }

  #wake(shard: Shard): void {
    if (shard.active || this.#stopped || shard.queue.length === 0) return;
    shard.active = true;
    this.#work(shard).catch((err: unknown) => this.#host.crashed(err));
  }

  async #work(shard: Shard): Promise<void> {
    try {
      while (!this.#stopped) {
        const entry = shard.queue.shift();
        if (entry === undefined) break;
        if (entry.progress.revoked) {
          this.#finish(entry, 'abandoned');
          this.#occupancyDropped(shard);
          continue;
        }
        const lane = this.#o.parkKey ? shard.lanes.get(entry.key) : undefined;
        if (lane !== undefined) {
          // Parked key: wait on its lane, in order; the shard's bound still counts it.
          lane.push(entry);
          shard.parked++;
          continue;
        }
        this.#occupancyDropped(shard);
        shard.running++;
        const first = await this.#processor.attempt(entry, 1);
        if (first === SUCCEEDED) {
          shard.running--;
          this.#finish(entry, 'done');
          continue;
        }
        if (this.#o.parkKey) {
          this.#park(shard, entry, first);
          continue;
        }
        // Without parking the whole shard waits for this record (the Go package's behaviour).
        const outcome = await this.#processor.recover(entry, 1, first);
        shard.running--;
        this.#finish(entry, outcome);
      }
    } finally {
      // Synchronous with the loop's last empty check: a record queued after it wakes a new loop.
      shard.active = false;
    }
  }

  #park(shard: Shard, head: ShardEntry, error: unknown): void {
    const lane = new FifoQueue<ShardEntry>();
    shard.lanes.set(head.key, lane);
    this.#parkedKeys++;
    this.#o.logger.debug(
      { key: head.key, topic: head.message.topic, partition: head.message.partition, offset: head.message.offset, shard: shard.index },
      'key parked while its record retries',
    );
    this.#runLane(shard, head, lane, error).catch((err: unknown) => this.#host.crashed(err));
  }

  async #runLane(shard: Shard, head: ShardEntry, lane: FifoQueue<ShardEntry>, error: unknown): Promise<void> {
    try {
      let outcome = await this.#processor.recover(head, 1, error);
      shard.running--;
      this.#finish(head, outcome);
      while (outcome !== 'stopped' && !this.#stopped) {
        const next = lane.shift();
        if (next === undefined) break;
        shard.parked--;
        this.#occupancyDropped(shard);
        if (next.progress.revoked) {
          this.#finish(next, 'abandoned');
          continue;
        }
        shard.running++;
        outcome = await this.#processor.handle(next);
        shard.running--;
        this.#finish(next, outcome);
      }
    } finally {
      // Stopping: what is left stays uncommitted and is redelivered.
      for (let e = lane.shift(); e !== undefined; e = lane.shift()) {
        shard.parked--;
        this.#finish(e, 'abandoned');
      }
      // Same synchronous step as the empty check above: the worker cannot slip a record of this key in between.
      shard.lanes.delete(head.key);
      this.#parkedKeys--;
      this.#o.logger.debug({ key: head.key, shard: shard.index }, 'key unparked');
    }
  }

  #finish(entry: ShardEntry, outcome: ProcessOutcome): void {
    this.#router.release(entry.key);
    const p = entry.progress;
    if (outcome === 'done' || outcome === 'dead-lettered') {
      if (outcome === 'done') this.#processed++;
      p.tracker.complete(entry.message.offset);
      this.#host.completed(p);
    }
    p.finished();
  }

  /** The shard holds fewer records: resume its feeders once it is down to half. */
  #occupancyDropped(shard: Shard): void {
    if (shard.feeders.size === 0 || shard.occupancy > this.#resumeAt) return;
    const feeders = [...shard.feeders];
    shard.feeders.clear();
    for (const p of feeders) {
      p.pausedBy.delete(shard.index);
      this.#host.updatePause(p);
    }
  }
}
