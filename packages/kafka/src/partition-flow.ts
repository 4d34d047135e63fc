/**
 * One consumed partition on its way to `onBatch`: the records fetched but not
 * yet delivered, the batch in flight, and what stops delivery (not yet
 * announced, paused, stopped for revocation or close, a seek in progress).
 *
 * Delivery contract (core's ConsumerHandlers): batches of at most
 * `maxBatchRecords` records in offset order; the next batch of a partition
 * only after the previous `onBatch` promise settled; nothing once stopped.
 * Every batch carries the flow's signal (one per flow, so one per
 * assignment), aborted by `stop`.
 */
import { TributaryError, type Message, type RecordBatch } from '@tributary/core';

export interface FlowHost {
  readonly maxBatchRecords: number;
  /** Records buffered for one partition before its fetching pauses. */
  readonly bufferRecordLimit: number;
  /** Bytes buffered for one partition before its fetching pauses. */
  readonly bufferByteLimit: number;
  /** False while the consumer must not deliver at all (closing, halted after a failed batch). */
  canDeliver(): boolean;
  /** Calls onBatch. */
  deliver(batch: RecordBatch): unknown;
  /** onBatch rejected (or threw). */
  batchFailed(flow: PartitionFlow, error: unknown, batch: RecordBatch): void;
  /** Pauses or resumes fetching the partition in librdkafka. */
  setFetching(flow: PartitionFlow, fetching: boolean): void;
  /** The partition's high watermark as last fetched, if known. */
  highWatermark(flow: PartitionFlow): number | undefined;
}

export class PartitionFlow {
  readonly topic: string;
  readonly partition: number;
  /** Set once onAssigned has settled: batches may flow. */
  ready = false;
  /** Stopped for good (revoked, closing): buffered records are dropped, nothing more is delivered. */
  stopped = false;
  /** Records from consume calls with a lower id predate the latest seek and are dropped. */
  acceptFromPoll = 0;
  /** Offset of the next record to deliver, when known. */
  nextOffset: number | undefined;
  readonly #host: FlowHost;
  #buffer: Message[] = [];
  #head = 0;
  #bytes = 0;
  /** Offset of the last record pushed: a record at or below it is stale and dropped. */
  #lastPushed = -1;
  #inFlight: Promise<void> | undefined;
  #userPaused = false;
  /** Fetching paused because the buffer is full. */
  #throttled = false;
  /** The `signal` of every batch of this flow, aborted by `stop`. */
  readonly #abort = new AbortController();

  constructor(topic: string, partition: number, host: FlowHost) {
    this.topic = topic;
    this.partition = partition;
    this.#host = host;
  }

  get inFlight(): boolean {
    return this.#inFlight !== undefined;
  }

  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  get paused(): boolean {
    return this.#userPaused;
  }

  /** Whether records of the consume call `pollId` are current (not from before a seek, not after a stop). */
  accepts(pollId: number): boolean {
    return !this.stopped && pollId >= this.acceptFromPoll;
  }

  /**
   * Appends a fetched record. Records must come in offset
   * order; one at or below the last pushed offset (a leftover from before a
   * seek) is dropped, so batches always have strictly increasing offsets.
   */
  push(message: Message): void {
    if (message.offset <= this.#lastPushed) return;
    this.#lastPushed = message.offset;
    this.#buffer.push(message);
    this.#bytes += message.value === null ? 0 : message.value.byteLength;
    this.nextOffset ??= message.offset;
  }

  /** After a run of pushes: throttle fetching when the buffer is full, then deliver. */
  afterPush(): void {
    if (!this.#throttled && (this.buffered >= this.#host.bufferRecordLimit || this.#bytes >= this.#host.bufferByteLimit)) {
      this.#throttled = true;
      if (!this.#userPaused) this.#host.setFetching(this, false);
    }
    this.pump();
  }

  /** Delivers the next batch when nothing stops it. */
  pump(): void {
    if (this.#inFlight || !this.ready || this.#userPaused || this.stopped || this.buffered === 0 || !this.#host.canDeliver()) return;
    const end = Math.min(this.#buffer.length, this.#head + this.#host.maxBatchRecords);
    const messages = this.#buffer.slice(this.#head, end);
    this.#head = end;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head > 4096) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    const last = messages[messages.length - 1] as Message;
    this.nextOffset = last.offset + 1;
    for (const m of messages) this.#bytes -= m.value === null ? 0 : m.value.byteLength;
    if (this.buffered === 0) this.#bytes = 0;
    const high = this.#host.highWatermark(this);
    const signal = this.#abort.signal;
    const batch: RecordBatch =
      high !== undefined && high > last.offset
        ? { topic: this.topic, partition: this.partition, messages, highWatermark: high, signal }
        : { topic: this.topic, partition: this.partition, messages, signal };
    if (this.#throttled && this.buffered <= this.#host.maxBatchRecords && this.#bytes <= this.#host.bufferByteLimit / 2) {
      this.#throttled = false;
      if (!this.#userPaused) this.#host.setFetching(this, true);
    }
    let settled: Promise<void>;
    try {
      settled = Promise.resolve(this.#host.deliver(batch)).then(
        () => this.#afterBatch(),
        (err: unknown) => this.#batchFailed(err, batch),
      );
    } catch (err) {
      settled = Promise.resolve().then(() => this.#batchFailed(err, batch));
    }
    this.#inFlight = settled;
  }

  /** Resolves when the batch in flight (if any) has settled. */
  idle(): Promise<void> {
    return this.#inFlight ?? Promise.resolve();
  }

  pause(): void {
    if (this.#userPaused) return;
    this.#userPaused = true;
    if (!this.#throttled) this.#host.setFetching(this, false);
  }

  resume(): void {
    if (!this.#userPaused) return;
    this.#userPaused = false;
    if (!this.#throttled) this.#host.setFetching(this, true);
    this.pump();
  }

  /**
   * Forgets the buffered records before a seek: records from consume calls
   * started before the seek took effect are dropped (`acceptFromPoll`).
   */
  beginSeek(offset: number): void {
    this.#buffer = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#lastPushed = -1;
    this.nextOffset = offset;
    this.acceptFromPoll = Number.POSITIVE_INFINITY;
    if (this.#throttled) {
      this.#throttled = false;
      if (!this.#userPaused) this.#host.setFetching(this, true);
    }
  }

  /** The seek took effect in librdkafka: records of consume calls from `pollId` on are current. */
  endSeek(pollId: number): void {
    this.acceptFromPoll = pollId;
  }

  /**
   * Stops delivery for good, aborts the batches' signal with `reason` (so the
   * in-flight batch can stop early) and drops the buffered records (they are
   * fetched again by the next owner).
   */
  stop(reason = 'the consumer is closing'): void {
    if (!this.#abort.signal.aborted) {
      const where = { topic: this.topic, partition: this.partition };
      this.#abort.abort(new TributaryError('ERR_ABORTED', `${this.topic}/${this.partition}: ${reason}`, { context: where }));
    }
    this.stopped = true;
    this.#buffer = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #afterBatch(): void {
    this.#inFlight = undefined;
    this.pump();
  }

  #batchFailed(err: unknown, batch: RecordBatch): void {
    this.#inFlight = undefined;
    this.#host.batchFailed(this, err, batch);
  }
}

/** The flows of a consumer by topic and partition (no string key built per record). */
export class FlowRegistry {
  readonly #byTopic = new Map<string, Map<number, PartitionFlow>>();

  get(topic: string, partition: number): PartitionFlow | undefined {
    return this.#byTopic.get(topic)?.get(partition);
  }

  set(flow: PartitionFlow): void {
    let partitions = this.#byTopic.get(flow.topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.#byTopic.set(flow.topic, partitions);
    }
    partitions.set(flow.partition, flow);
  }

  delete(flow: PartitionFlow): void {
    const partitions = this.#byTopic.get(flow.topic);
    if (partitions?.get(flow.partition) !== flow) return;
    partitions.delete(flow.partition);
    if (partitions.size === 0) this.#byTopic.delete(flow.topic);
  }

  /** Every flow, sorted by topic then partition. */
  all(): PartitionFlow[] {
    const flows: PartitionFlow[] = [];
    for (const topic of [...this.#byTopic.keys()].sort()) {
      const partitions = this.#byTopic.get(topic) as Map<number, PartitionFlow>;
      for (const p of [...partitions.keys()].sort((a, b) => a - b)) flows.push(partitions.get(p) as PartitionFlow);
    }
    return flows;
  }

  clear(): void {
    this.#byTopic.clear();
  }
}
