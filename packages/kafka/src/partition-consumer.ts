import { ConfigCheck, type PartitionConsumer, type RecordBatch } from '@tributary/core';
import { randomBytes } from 'node:crypto';
import { fromNativeError } from './errors';
import { FlowConsumer, type FlowHandlers } from './flow-consumer';
import type { NativeConsumer } from './native';
import { checkOffset, type ResolvedKafkaConfig, type ResolvedPartitionConsumerOptions } from './options';
import { PartitionFlow } from './partition-flow';

/**
 * Reads one partition without a group: librdkafka `assign` at the start
 * offset, no commits, no rebalances. 'earliest' and 'latest' are resolved to
 * offsets from the partition's watermarks when `run` starts (so `position()`
 * is exact from the start); an offset outside the log is clamped into it.
 *
 * `close()` aborts the batch signal and waits for the in-flight `onBatch` at
 * most `closeTimeoutMs` (as the group consumer's close waits at most
 * `rebalanceTimeoutMs`), then disconnects; an `onBatch` it gave up on is
 * ignored from then on. Nothing is lost by that: a partition consumer never
 * commits (auto-commit is off and cannot be turned on), so the next reader
 * starts wherever it is told to.
 */
export class KafkaPartitionConsumer extends FlowConsumer<FlowHandlers> implements PartitionConsumer {
  readonly topic: string;
  readonly partition: number;
  readonly #options: ResolvedPartitionConsumerOptions;
  #flow: PartitionFlow | undefined;
  /** A seek or pause requested before run(). */
  #pendingSeek: number | undefined;
  #pendingPause = false;
  /** close() stopped waiting for the in-flight onBatch: what it does later is ignored. */
  #abandoned = false;

  constructor(config: ResolvedKafkaConfig, options: ResolvedPartitionConsumerOptions, onClosed: () => void) {
    super(
      { name: 'partition consumer', optionalHandlers: ['onError'], consuming: `consume ${options.topic}/${options.partition}` },
      config,
      options,
      onClosed,
    );
    this.#options = options;
    this.topic = options.topic;
    this.partition = options.partition;
  }

  protected async start(): Promise<void> {
    const where = `${this.topic}/${this.partition}`;
    const native = await this.connect(
      `kafka partition consumer ${where}`,
      {
        // librdkafka's consumer wants a group id; this one never joins a group or commits.
        groupId: `${this.#options.clientId}-partition-reader-${randomBytes(6).toString('hex')}`,
        clientId: this.#options.clientId,
        fromBeginning: true,
      },
      {},
    );
    if (native === undefined) return;
    const { low, high } = await this.#watermarks(native);
    const from = this.#pendingSeek ?? this.#options.from;
    const start = from === 'earliest' ? low : from === 'latest' ? high : Math.min(Math.max(from, low), high);
    const flow = new PartitionFlow(this.topic, this.partition, this);
    flow.nextOffset = start;
    flow.ready = true;
    this.#flow = flow;
    try {
      native.assign([{ topic: this.topic, partition: this.partition, offset: start }]);
    } catch (err) {
      throw fromNativeError(err, 'consume', `assign ${where}`);
    }
    if (this.#pendingPause) flow.pause();
    this.startPolling(native);
    this.logger.debug({ start, low, high }, 'partition consumer started');
  }

  #watermarks(native: NativeConsumer): Promise<{ low: number; high: number }> {
    return new Promise((resolve, reject) => {
      native.queryWatermarkOffsets(this.topic, this.partition, this.config.requestTimeoutMs, (err, offsets) => {
        if (err) reject(fromNativeError(err, 'consume', `watermarks of ${this.topic}/${this.partition}`, { topic: this.topic, partition: this.partition }));
        else resolve({ low: offsets.lowOffset, high: offsets.highOffset });
      });
    });
  }

  seek(offset: number): void {
    this.ensureOpen('seek()');
    const check = new ConfigCheck('kafka partition consumer seek');
    checkOffset(check, offset, 'offset');
    check.throwIfInvalid();
    const flow = this.#flow;
    const native = this.native;
    if (flow === undefined || native === undefined || this.state !== 'running') {
      this.#pendingSeek = offset;
      return;
    }
    this.seekFlow(native, flow, offset);
  }

  pause(): void {
    this.ensureOpen('pause()');
    this.#pendingPause = true;
    this.#flow?.pause();
  }

  resume(): void {
    this.ensureOpen('resume()');
    this.#pendingPause = false;
    this.#flow?.resume();
  }

  /** Offset of the next record to be delivered; -1 until run() resolved 'earliest'/'latest'. */
  position(): number {
    const next = this.#flow?.nextOffset;
    if (next !== undefined) return next;
    const from = this.#pendingSeek ?? this.#options.from;
    return typeof from === 'number' ? from : -1;
  }

  // --- FlowConsumer ---

  protected flowOf(topic: string, partition: number): PartitionFlow | undefined {
    return topic === this.topic && partition === this.partition ? this.#flow : undefined;
  }

  protected async stopDelivery(): Promise<void> {
    const flow = this.#flow;
    if (flow === undefined) return;
    flow.stop();
    if (!flow.inFlight) return;
    const timeoutMs = this.#options.closeTimeoutMs;
    const started = Date.now();
    if (await this.settlesWithin(flow.idle(), timeoutMs)) return;
    this.#abandoned = true;
    const waitedMs = Date.now() - started;
    // The logger's bindings carry topic and partition as fields; the message names them too.
    this.logger.warn(
      { waitedMs, closeTimeoutMs: timeoutMs },
      `close(): the in-flight onBatch of ${this.topic}/${this.partition} did not settle after ${waitedMs} ms ` +
        `(closeTimeoutMs ${timeoutMs}); disconnecting without it — whatever it does later is ignored`,
    );
  }

  override batchFailed(flow: PartitionFlow, error: unknown, batch: RecordBatch): void {
    if (this.#abandoned) {
      this.logger.warn({ err: error }, `onBatch of ${this.topic}/${this.partition} rejected after close() stopped waiting for it: ignored`);
      return;
    }
    super.batchFailed(flow, error, batch);
  }
}
