import {
  ConfigCheck,
  TributaryError,
  type ConsumerHandlers,
  type PartitionConsumer,
  type RecordBatch,
} from '@tributary/core';
import { randomBytes } from 'node:crypto';
import { ClientDiagnostics, connectNative } from './connection';
import { batchError, closedError, fromNativeError } from './errors';
import { toMessage } from './messages';
import { createNativeConsumer, type NativeConsumer, type NativeError, type NativeMessage } from './native';
import { checkHandlers, checkOffset, consumerNativeConfig, type ResolvedKafkaConfig, type ResolvedPartitionConsumerOptions } from './options';
import { PartitionFlow, type FlowHost } from './partition-flow';
import { PollLoop, type PollLoopHost } from './poll-loop';

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';
type Handlers = Pick<ConsumerHandlers, 'onBatch' | 'onError'>;

const SEEK_TIMEOUT_MS = 5_000;
const MIN_FETCH = 1_000;
const ERROR_REPORT_INTERVAL_MS = 10_000;

/**
 * Reads one partition without a group: librdkafka `assign` at the start
 * offset, no commits, no rebalances. 'earliest' and 'latest' are resolved to
 * offsets from the partition's watermarks when `run` starts (so `position()`
 * is exact from the start); an offset outside the log is clamped into it.
 */
export class KafkaPartitionConsumer implements PartitionConsumer, PollLoopHost, FlowHost {
  readonly topic: string;
  readonly partition: number;
  readonly maxBatchRecords: number;
  readonly bufferRecordLimit: number;
  readonly bufferByteLimit = 32 * 1024 * 1024;
  readonly #config: ResolvedKafkaConfig;
  readonly #options: ResolvedPartitionConsumerOptions;
  readonly #onClosed: () => void;
  readonly #fetchSize: number;
  #native: NativeConsumer | undefined;
  #loop: PollLoop | undefined;
  #flow: PartitionFlow | undefined;
  #handlers: Handlers | undefined;
  #state: State = 'new';
  #halted = false;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** A seek or pause requested before run(). */
  #pendingSeek: number | undefined;
  #pendingPause = false;
  #lastErrorAt = 0;

  constructor(config: ResolvedKafkaConfig, options: ResolvedPartitionConsumerOptions, onClosed: () => void) {
    this.#config = config;
    this.#options = options;
    this.#onClosed = onClosed;
    this.topic = options.topic;
    this.partition = options.partition;
    this.maxBatchRecords = options.maxBatchRecords;
    this.#fetchSize = Math.max(MIN_FETCH, options.maxBatchRecords);
    this.bufferRecordLimit = 4 * this.#fetchSize;
  }

  async run(handlers: Handlers): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError('partition consumer', 'run()');
    if (this.#state !== 'new') throw new TributaryError('ERR_STATE', 'run() was already called on this consumer');
    checkHandlers('kafka partition consumer handlers', handlers, ['onError']);
    this.#handlers = handlers;
    this.#state = 'starting';
    this.#starting = this.#start();
    try {
      await this.#starting;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async #start(): Promise<void> {
    const where = `${this.topic}/${this.partition}`;
    const native = createNativeConsumer({
      ...consumerNativeConfig(this.#config, {
        // librdkafka's consumer wants a group id; this one never joins a group or commits.
        groupId: `${this.#options.clientId}-partition-reader-${randomBytes(6).toString('hex')}`,
        clientId: this.#options.clientId,
        fromBeginning: true,
      }),
      queue_non_empty_cb: () => this.#loop?.wake(),
    });
    const diagnostics = new ClientDiagnostics(native, this.#options.logger);
    await connectNative(native, diagnostics, `kafka partition consumer ${where}`, this.#config.brokers, this.#config.connectTimeoutMs);
    this.#native = native;
    if (this.#state !== 'starting') return;
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
    this.#loop = new PollLoop(native, this, this.#fetchSize);
    this.#state = 'running';
    this.#loop.start();
    this.#options.logger.debug({ start, low, high }, 'partition consumer started');
  }

  #watermarks(native: NativeConsumer): Promise<{ low: number; high: number }> {
    return new Promise((resolve, reject) => {
      native.queryWatermarkOffsets(this.topic, this.partition, this.#config.requestTimeoutMs, (err, offsets) => {
        if (err) reject(fromNativeError(err, 'consume', `watermarks of ${this.topic}/${this.partition}`, { topic: this.topic, partition: this.partition }));
        else resolve({ low: offsets.lowOffset, high: offsets.highOffset });
      });
    });
  }

  seek(offset: number): void {
    this.#ensureOpen('seek()');
    const check = new ConfigCheck('kafka partition consumer seek');
    checkOffset(check, offset, 'offset');
    check.throwIfInvalid();
    const flow = this.#flow;
    const native = this.#native;
    if (flow === undefined || native === undefined || this.#state !== 'running') {
      this.#pendingSeek = offset;
      return;
    }
    flow.beginSeek(offset);
    const done = (err: NativeError | null): void => {
      if (err) this.#report(fromNativeError(err, 'seek', `seek ${this.topic}/${this.partition} to ${offset}`));
      flow.endSeek(this.#loop?.nextPollId ?? 0);
      this.#loop?.wake();
    };
    try {
      native.seek({ topic: this.topic, partition: this.partition, offset }, SEEK_TIMEOUT_MS, done);
    } catch (err) {
      done(err as NativeError);
    }
  }

  pause(): void {
    this.#ensureOpen('pause()');
    this.#pendingPause = true;
    this.#flow?.pause();
  }

  resume(): void {
    this.#ensureOpen('resume()');
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

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const previous = this.#state;
    this.#state = 'closing';
    if (previous !== 'new') {
      await this.#starting?.catch(() => undefined);
      const flow = this.#flow;
      if (flow) {
        flow.stop();
        await flow.idle();
      }
      await this.#loop?.stop();
      const native = this.#native;
      if (native) {
        await new Promise<void>((resolve) => {
          try {
            native.disconnect(() => resolve());
          } catch {
            resolve();
          }
        });
      }
    }
    this.#state = 'closed';
    this.#options.logger.debug('partition consumer closed');
    this.#onClosed();
  }

  // --- PollLoopHost ---

  betweenPolls(): void {}

  onMessages(messages: NativeMessage[], pollId: number): void {
    const flow = this.#flow;
    if (flow === undefined || !flow.accepts(pollId)) return;
    for (const m of messages) if (m.partition === this.partition && m.topic === this.topic) flow.push(toMessage(m));
    flow.afterPush();
  }

  onPollError(err: NativeError): void {
    const now = Date.now();
    if (now - this.#lastErrorAt < ERROR_REPORT_INTERVAL_MS) return;
    this.#lastErrorAt = now;
    this.#report(fromNativeError(err, 'consume', `consume ${this.topic}/${this.partition}`));
  }

  // --- FlowHost ---

  canDeliver(): boolean {
    return this.#state === 'running' && !this.#halted;
  }

  deliver(batch: RecordBatch): unknown {
    return (this.#handlers as Handlers).onBatch(batch);
  }

  batchFailed(_flow: PartitionFlow, error: unknown, batch: RecordBatch): void {
    if (this.#halted) return;
    this.#halted = true;
    this.#report(batchError(error, batch));
    void this.close();
  }

  setFetching(flow: PartitionFlow, fetching: boolean): void {
    const native = this.#native;
    if (!native) return;
    const tps = [{ topic: flow.topic, partition: flow.partition }];
    try {
      if (fetching) native.resume(tps);
      else native.pause(tps);
    } catch (err) {
      this.#options.logger.debug({ err, fetching }, 'pause/resume not applied');
    }
  }

  highWatermark(flow: PartitionFlow): number | undefined {
    try {
      const high = this.#native?.getWatermarkOffsets(flow.topic, flow.partition).highOffset;
      return typeof high === 'number' && high >= 0 ? high : undefined;
    } catch {
      return undefined;
    }
  }

  #report(error: TributaryError): void {
    this.#options.logger.warn({ err: error }, error.message);
    try {
      this.#handlers?.onError?.(error);
    } catch (err) {
      this.#options.logger.error({ err }, 'onError threw');
    }
  }

  #ensureOpen(call: string): void {
    if (this.#state === 'closed') throw closedError('partition consumer', call);
  }
}
