/**
 * What the group consumer and the partition consumer share: one librdkafka
 * consumer, drained by one PollLoop, whose records reach `onBatch` through a
 * PartitionFlow per partition; and the lifecycle around them — `run`
 * connects and starts polling, `close` stops delivery, then polling, then
 * disconnects.
 *
 * A subclass decides which partitions are read and how: `start` subscribes
 * to a group or assigns a partition, `flowOf` finds the flow a record
 * belongs to, `stopDelivery` stops the flows on close. Failure handling is
 * common to both: a rejected `onBatch` halts delivery, is reported to
 * `onError`, and closes the consumer.
 */
import { TributaryError, partitionKey, type ConsumerHandlers, type Logger, type RecordBatch } from '@tributary/core';
import { ClientDiagnostics, connectNative } from './connection';
import { batchError, closedError, fromNativeError, nativeCodeOf } from './errors';
import { toMessage } from './messages';
import { createNativeConsumer, type NativeConfig, type NativeConsumer, type NativeError, type NativeMessage } from './native';
import { checkHandlers, consumerNativeConfig, type ConsumerNativeOptions, type ResolvedKafkaConfig } from './options';
import type { FlowHost, PartitionFlow } from './partition-flow';
import { PollLoop, type PollLoopHost } from './poll-loop';

/** A consumer's lifecycle: `run` leaves 'new', `close` ends in 'closed'. */
export type ConsumerState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** The handlers every consumer takes; the group consumer takes more. */
export type FlowHandlers = Pick<ConsumerHandlers, 'onBatch' | 'onError'>;

/** What differs between the consumers in the shared code. */
export interface FlowConsumerKind {
  /** Names the client in errors and logs ('group consumer', 'partition consumer'). */
  readonly name: string;
  /** Handlers besides onBatch that `run` accepts (each checked to be a function when given). */
  readonly optionalHandlers: readonly (keyof ConsumerHandlers)[];
  /** The operation a poll error is reported as (`consume from a, b`). */
  readonly consuming: string;
}

/** Seek requests wait this long for librdkafka to take them. */
const SEEK_TIMEOUT_MS = 5_000;
/** Records fetched per consume call, at least. */
const MIN_FETCH = 1_000;
/** Bytes buffered per partition before its fetching pauses. */
const BUFFER_BYTE_LIMIT = 32 * 1024 * 1024;
/**
 * A poll error is reported to onError at most this often per error code (so a
 * new kind of error is not hidden behind one that keeps recurring).
 */
const ERROR_REPORT_INTERVAL_MS = 10_000;

export abstract class FlowConsumer<H extends FlowHandlers> implements PollLoopHost, FlowHost {
  readonly maxBatchRecords: number;
  readonly bufferRecordLimit: number;
  readonly bufferByteLimit = BUFFER_BYTE_LIMIT;
  // Private fields behind getters, not protected properties: the config holds
  // credentials and must not show up when a consumer is inspected or serialised.
  readonly #kind: FlowConsumerKind;
  readonly #config: ResolvedKafkaConfig;
  readonly #logger: Logger;
  readonly #onClosed: () => void;
  readonly #fetchSize: number;
  #native: NativeConsumer | undefined;
  #loop: PollLoop | undefined;
  #handlers: H | undefined;
  #state: ConsumerState = 'new';
  #halted = false;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #lastReport = new Map<string, number>();

  protected constructor(
    kind: FlowConsumerKind,
    config: ResolvedKafkaConfig,
    options: { readonly maxBatchRecords: number; readonly logger: Logger },
    onClosed: () => void,
  ) {
    this.#kind = kind;
    this.#config = config;
    this.#logger = options.logger;
    this.#onClosed = onClosed;
    this.maxBatchRecords = options.maxBatchRecords;
    this.#fetchSize = Math.max(MIN_FETCH, options.maxBatchRecords);
    this.bufferRecordLimit = 4 * this.#fetchSize;
  }

  // --- what a subclass implements ---

  /**
   * Connects (with `connect`), subscribes or assigns, and starts polling
   * (with `startPolling`). Called once, by `run`; when it rejects, `run`
   * closes the consumer and rejects with the same error.
   */
  protected abstract start(): Promise<void>;

  /** The flow that takes records of this partition, if any. */
  protected abstract flowOf(topic: string, partition: number): PartitionFlow | undefined;

  /**
   * Stops every flow and waits for what must finish before polling stops
   * (in-flight batches, and whatever else the consumer owes its handlers),
   * each wait bounded by the consumer's timeout option (`rebalanceTimeoutMs`,
   * `closeTimeoutMs`). Called once, by `close`, while the poll loop still
   * serves librdkafka.
   */
  protected abstract stopDelivery(): Promise<void>;

  /** The poll loop has stopped: the last native calls before the client disconnects. */
  protected beforeDisconnect(): void {}

  /** The consumer is closed: settle whatever still waits on it. */
  protected afterClose(): void {}

  // --- for subclasses ---

  protected get state(): ConsumerState {
    return this.#state;
  }

  protected get config(): ResolvedKafkaConfig {
    return this.#config;
  }

  protected get logger(): Logger {
    return this.#logger;
  }

  protected get handlers(): H | undefined {
    return this.#handlers;
  }

  /** The native consumer, once connected (it stays set after close). */
  protected get native(): NativeConsumer | undefined {
    return this.#native;
  }

  /**
   * Creates and connects the native consumer, with `callbacks` added to its
   * configuration. Undefined when close() began meanwhile (close disconnects it).
   */
  protected async connect(label: string, identity: ConsumerNativeOptions, callbacks: NativeConfig): Promise<NativeConsumer | undefined> {
    const native = createNativeConsumer({
      ...consumerNativeConfig(this.#config, identity),
      ...callbacks,
      queue_non_empty_cb: () => this.#loop?.wake(),
    });
    const diagnostics = new ClientDiagnostics(native, this.#logger);
    await connectNative(native, diagnostics, label, this.#config.brokers, this.#config.connectTimeoutMs);
    this.#native = native;
    return this.#state === 'starting' ? native : undefined;
  }

  /** Starts the poll loop; the consumer is running from now on. */
  protected startPolling(native: NativeConsumer): void {
    this.#loop = new PollLoop(native, this, this.#fetchSize);
    this.#state = 'running';
    this.#loop.start();
  }

  /** Polls again now: the host has work for `betweenPolls`. */
  protected wake(): void {
    this.#loop?.wake();
  }

  /**
   * Moves `flow` to `offset`: buffered records are dropped at once, and
   * records fetched before librdkafka took the seek are ignored. A failed
   * seek is reported to onError.
   */
  protected seekFlow(native: NativeConsumer, flow: PartitionFlow, offset: number): void {
    flow.beginSeek(offset);
    const done = (err: NativeError | null): void => {
      if (err) this.report(fromNativeError(err, 'seek', `seek ${partitionKey(flow)} to ${offset}`));
      if (this.flowOf(flow.topic, flow.partition) !== flow) return;
      flow.endSeek(this.#loop?.nextPollId ?? 0);
      this.#loop?.wake();
    };
    try {
      native.seek({ topic: flow.topic, partition: flow.partition, offset }, SEEK_TIMEOUT_MS, done);
    } catch (err) {
      done(err as NativeError);
    }
  }

  /**
   * Waits for `work` to settle, at most `ms`; true when it settled in time.
   * Whatever `work` does later is not awaited (its timer is cleared either way).
   */
  protected async settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
    clearTimeout(timer);
    return settled;
  }

  /** Logs `error` and hands it to onError (which must not throw, but may). */
  protected report(error: TributaryError): void {
    this.#logger.warn({ err: error }, error.message);
    try {
      this.#handlers?.onError?.(error);
    } catch (err) {
      this.#logger.error({ err }, 'onError threw');
    }
  }

  protected ensureOpen(call: string): void {
    if (this.#state === 'closed') throw closedError(this.#kind.name, call);
  }

  // --- lifecycle ---

  /** Connects and starts delivering to `handlers`; on failure the consumer is closed. */
  async run(handlers: H): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError(this.#kind.name, 'run()');
    if (this.#state !== 'new') throw new TributaryError('ERR_STATE', 'run() was already called on this consumer');
    checkHandlers(`kafka ${this.#kind.name} handlers`, handlers, this.#kind.optionalHandlers);
    this.#handlers = handlers;
    this.#state = 'starting';
    this.#starting = this.start();
    try {
      await this.#starting;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Stops delivery and waits for `stopDelivery`, stops polling, disconnects.
   * Idempotent. Do not await close() inside onBatch: close waits for that
   * very batch.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const previous = this.#state;
    this.#state = 'closing';
    if (previous !== 'new') {
      await this.#starting?.catch(() => undefined);
      const native = this.#native;
      if (native) {
        await this.stopDelivery();
        await this.#loop?.stop();
        this.beforeDisconnect();
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
    this.afterClose();
    this.#logger.debug(`${this.#kind.name} closed`);
    this.#onClosed();
  }

  // --- PollLoopHost ---

  betweenPolls(): void {}

  hasPendingWork(): boolean {
    return false;
  }

  onMessages(messages: NativeMessage[], pollId: number): void {
    let flow: PartitionFlow | undefined;
    let accept = false;
    let topic = '';
    let partition = -1;
    for (const m of messages) {
      if (m.partition !== partition || m.topic !== topic) {
        if (accept) (flow as PartitionFlow).afterPush();
        topic = m.topic;
        partition = m.partition;
        flow = this.flowOf(topic, partition);
        accept = flow !== undefined && flow.accepts(pollId);
      }
      if (accept) (flow as PartitionFlow).push(toMessage(m));
    }
    if (accept) (flow as PartitionFlow).afterPush();
  }

  onPollError(err: NativeError): void {
    const key = String(nativeCodeOf(err) ?? err?.message);
    const now = Date.now();
    if (now - (this.#lastReport.get(key) ?? 0) < ERROR_REPORT_INTERVAL_MS) return;
    this.#lastReport.set(key, now);
    this.report(fromNativeError(err, 'consume', this.#kind.consuming));
  }

  // --- FlowHost ---

  canDeliver(): boolean {
    return this.#state === 'running' && !this.#halted;
  }

  deliver(batch: RecordBatch): unknown {
    return (this.#handlers as H).onBatch(batch);
  }

  batchFailed(_flow: PartitionFlow, error: unknown, batch: RecordBatch): void {
    if (this.#halted) return;
    // The contract: stop delivering, report, close (a group member still runs onRevoked, so finished work can be committed).
    this.#halted = true;
    this.report(batchError(error, batch));
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
      this.#logger.debug({ err, partition: partitionKey(flow), fetching }, 'pause/resume not applied');
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
}
