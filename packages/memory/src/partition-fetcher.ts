import { TributaryError, type RecordBatch } from '@tributary/core';
import type { PartitionLog } from './partition-log';

/** The consumer a fetcher delivers for. */
export interface FetcherHost {
  /** Calls the user's `onBatch`. May throw or return a non-promise; both are handled. */
  deliver(batch: RecordBatch): unknown;
  /** `onBatch` threw or rejected. The fetcher has stopped delivering. */
  batchFailed(fetcher: PartitionFetcher, error: unknown, batch: RecordBatch): void;
  /** The position is past the high watermark (Kafka: OFFSET_OUT_OF_RANGE): where to restart. */
  outOfRange(fetcher: PartitionFetcher): number;
  /** The topic was deleted under the fetcher. */
  logDeleted(fetcher: PartitionFetcher): void;
}

/**
 * After this many batches delivered back to back from promise callbacks, the
 * next one waits for a macrotask (setImmediate) so a consumer that is always
 * busy cannot starve timers and I/O (a real client yields on network reads).
 */
const BATCHES_PER_TURN = 16;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Delivers one partition's records to a consumer, in offset order, one batch
 * at a time: the next batch is read only after the previous `onBatch` settled.
 * Event driven: when caught up it registers with the log and sleeps until the
 * next append (no polling); work is scheduled on microtasks, never run inside
 * the producer's `send`.
 *
 * The position advances when a batch is handed out (like a Kafka fetch), so
 * `position` is the offset after the last delivered record.
 */
export class PartitionFetcher {
  readonly log: PartitionLog;
  readonly topic: string;
  readonly partition: number;
  readonly #maxBatchRecords: number;
  readonly #host: FetcherHost;

  #position = -1;
  #explicitPosition = false;
  #started = false;
  #stopped = false;
  #paused = false;
  #inFlight = false;
  #waiting = false;
  #scheduled = false;
  #turn = 0;
  #immediate: NodeJS.Immediate | undefined;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  #batch: RecordBatch | undefined;
  /** Every batch's `signal`: one per fetcher, which lives for one assignment. Aborted by `stop`. */
  readonly #abort = new AbortController();

  constructor(log: PartitionLog, maxBatchRecords: number, host: FetcherHost) {
    this.log = log;
    this.topic = log.topic;
    this.partition = log.partition;
    this.#maxBatchRecords = maxBatchRecords;
    this.#host = host;
  }

  /** Next offset to deliver; -1 before the start position is known. */
  get position(): number {
    return this.#position;
  }

  /** True once `seek` chose the position (so the start position is not looked up). */
  get hasExplicitPosition(): boolean {
    return this.#explicitPosition;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get inFlight(): boolean {
    return this.#inFlight;
  }

  /**
   * Starts delivering from `position` (ignored when stopped). The first batch
   * comes on a later event-loop turn (setImmediate), never on a microtask: so
   * whatever the caller does right after `await consumer.run()` — however many
   * promise hops away — happens before the first `onBatch`, as with a real
   * broker, where the first fetch takes a network round trip.
   */
  start(position: number): void {
    if (this.#stopped || this.#started) return;
    this.#position = position;
    this.#started = true;
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#immediate = setImmediate(this.#run);
  }

  /** The next batch starts at `offset` (also while a batch is in flight, or before `start`). */
  seek(offset: number): void {
    this.#position = offset;
    this.#explicitPosition = true;
    if (this.#started) this.#schedule();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#schedule();
  }

  /**
   * Delivers nothing more, ever, and aborts the batches' signal with `reason`
   * (so the in-flight batch can stop early). An in-flight batch is not
   * recalled: await `idle()` for it.
   */
  stop(reason = 'the consumer is closing'): void {
    if (!this.#abort.signal.aborted) {
      const where = { topic: this.topic, partition: this.partition };
      this.#abort.abort(new TributaryError('ERR_ABORTED', `${this.topic}/${this.partition}: ${reason}`, { context: where }));
    }
    this.#stopped = true;
    this.log.cancelWait(this.#wake);
    this.#waiting = false;
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
  }

  /** Resolves once no `onBatch` call of this fetcher is in flight. */
  idle(): Promise<void> {
    if (!this.#inFlight) return Promise.resolve();
    if (this.#idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(this.#run);
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    this.#immediate = undefined;
    this.#pump();
  };

  readonly #wake = (): void => {
    this.#waiting = false;
    this.#turn = 0;
    this.#schedule();
  };

  #pump(): void {
    if (this.#stopped || this.#paused || this.#inFlight || !this.#started) return;
    const log = this.log;
    if (log.deleted) {
      this.#host.logDeleted(this);
      return;
    }
    const high = log.high;
    if (this.#position > high) this.#position = this.#host.outOfRange(this);
    if (this.#position >= high) {
      if (!this.#waiting) {
        this.#waiting = true;
        log.waitForAppend(this.#wake);
      }
      return;
    }
    const messages = log.read(this.#position, this.#maxBatchRecords);
    this.#position += messages.length;
    const batch: RecordBatch = { topic: this.topic, partition: this.partition, messages, highWatermark: high, signal: this.#abort.signal };
    this.#inFlight = true;
    this.#batch = batch;
    let result: unknown;
    try {
      result = this.#host.deliver(batch);
    } catch (err) {
      this.#failed(err);
      return;
    }
    if (isThenable(result)) result.then(this.#settled, this.#failed);
    // A synchronous handler: continue on a microtask, not recursively.
    else queueMicrotask(this.#settled);
  }

  #finishBatch(): RecordBatch | undefined {
    const batch = this.#batch;
    this.#batch = undefined;
    this.#inFlight = false;
    if (this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
    return batch;
  }

  readonly #settled = (): void => {
    this.#finishBatch();
    if (this.#stopped || this.#scheduled) return;
    if (++this.#turn < BATCHES_PER_TURN) {
      this.#pump();
      return;
    }
    this.#turn = 0;
    this.#scheduled = true;
    this.#immediate = setImmediate(this.#run);
  };

  readonly #failed = (err: unknown): void => {
    const batch = this.#finishBatch();
    this.stop();
    if (batch !== undefined) this.#host.batchFailed(this, err, batch);
  };
}
