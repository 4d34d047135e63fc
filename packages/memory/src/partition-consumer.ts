import { ConfigCheck, TributaryError, type ConsumerHandlers, type PartitionConsumer, type RecordBatch } from '@tributary/core';
import type { BrokerEngine } from './broker';
import { closedError } from '@tributary/core';
import { batchError, reportError } from './errors';
import { checkHandlers, checkOffset, type ResolvedPartitionConsumerOptions } from './options';
import { PartitionFetcher, type FetcherHost } from './partition-fetcher';

type Handlers = Pick<ConsumerHandlers, 'onBatch' | 'onError'>;
type State = 'new' | 'running' | 'closing' | 'closed';

/**
 * Reads one partition without a group: no commits, no rebalances. A position
 * past the end of the log (a seek or `from` beyond the high watermark) resets
 * like Kafka's auto.offset.reset: to the end for `from: 'latest'`, otherwise
 * to the start.
 *
 * `close()` aborts the batch signal and waits for the in-flight `onBatch` at
 * most `closeTimeoutMs` (as a group member's close waits at most
 * `rebalanceTimeoutMs`); an `onBatch` it gave up on is ignored from then on.
 * A partition consumer commits nothing, so nothing is committed for it.
 */
export class MemoryPartitionConsumer implements PartitionConsumer, FetcherHost {
  readonly topic: string;
  readonly partition: number;
  readonly #engine: BrokerEngine;
  readonly #options: ResolvedPartitionConsumerOptions;
  readonly #onClosed: () => void;
  #state: State = 'new';
  #handlers: Handlers | undefined;
  #fetcher: PartitionFetcher | undefined;
  /** seek/pause before run, applied when it starts. */
  #pendingSeek: number | undefined;
  #pendingPause = false;
  #closing: Promise<void> | undefined;
  /** close() stopped waiting for the in-flight onBatch: what it does later is ignored. */
  #abandoned = false;

  constructor(engine: BrokerEngine, options: ResolvedPartitionConsumerOptions, onClosed: () => void) {
    this.#engine = engine;
    this.#options = options;
    this.#onClosed = onClosed;
    this.topic = options.topic;
    this.partition = options.partition;
  }

  /** Starts delivering. Rejects with ERR_UNKNOWN_TOPIC when the topic or partition does not exist. */
  async run(handlers: Handlers): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError('partition consumer', 'run()');
    if (this.#state !== 'new') throw new TributaryError('ERR_STATE', 'run() was already called on this consumer');
    checkHandlers('memory partition consumer handlers', handlers, ['onError']);
    const log = this.#engine.topics.get(this.topic)?.partitions[this.partition];
    if (log === undefined) {
      throw new TributaryError('ERR_UNKNOWN_TOPIC', `partition ${this.partition} of topic "${this.topic}" does not exist`, {
        context: { topic: this.topic, partition: this.partition },
      });
    }
    this.#handlers = handlers;
    this.#state = 'running';
    const fetcher = new PartitionFetcher(log, this.#options.maxBatchRecords, this);
    this.#fetcher = fetcher;
    if (this.#pendingPause) fetcher.pause();
    fetcher.start(this.#pendingSeek ?? this.#resolveFrom());
  }

  seek(offset: number): void {
    this.#ensureOpen('seek()');
    const check = new ConfigCheck('memory seek');
    checkOffset(check, offset, 'offset');
    check.throwIfInvalid();
    if (this.#fetcher === undefined) this.#pendingSeek = offset;
    else this.#fetcher.seek(offset);
  }

  pause(): void {
    this.#ensureOpen('pause()');
    if (this.#fetcher === undefined) this.#pendingPause = true;
    else this.#fetcher.pause();
  }

  resume(): void {
    this.#ensureOpen('resume()');
    if (this.#fetcher === undefined) this.#pendingPause = false;
    else this.#fetcher.resume();
  }

  /** Offset of the next record to deliver (before run: where it will start). */
  position(): number {
    if (this.#fetcher !== undefined) return this.#fetcher.position;
    return this.#pendingSeek ?? this.#resolveFrom();
  }

  /**
   * Aborts the batch signal, stops delivering and waits for the in-flight
   * onBatch, at most closeTimeoutMs. Do not await close() inside onBatch: it
   * waits for that very batch (until the timeout).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    const fetcher = this.#fetcher;
    if (fetcher !== undefined) {
      fetcher.stop();
      if (fetcher.inFlight) await this.#awaitInFlight(fetcher);
    }
    this.#state = 'closed';
    this.#onClosed();
  }

  /** Waits for the in-flight onBatch at most closeTimeoutMs; gives up on it (with a warning) after that. */
  async #awaitInFlight(fetcher: PartitionFetcher): Promise<void> {
    const timeoutMs = this.#options.closeTimeoutMs;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      fetcher.idle().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        // A safety bound only: it never holds the process open.
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (settled) return;
    this.#abandoned = true;
    const waitedMs = Date.now() - started;
    this.#options.logger.warn(
      { topic: this.topic, partition: this.partition, waitedMs, closeTimeoutMs: timeoutMs },
      `close(): the in-flight onBatch of ${this.topic}/${this.partition} did not settle after ${waitedMs} ms ` +
        `(closeTimeoutMs ${timeoutMs}); closing without it — whatever it does later is ignored`,
    );
  }

  // --- FetcherHost ---

  deliver(batch: RecordBatch): unknown {
    return (this.#handlers as Handlers).onBatch(batch);
  }

  batchFailed(_fetcher: PartitionFetcher, error: unknown, batch: RecordBatch): void {
    if (this.#abandoned) {
      this.#options.logger.warn(
        { err: error, topic: this.topic, partition: this.partition },
        `onBatch of ${this.topic}/${this.partition} rejected after close() stopped waiting for it: ignored`,
      );
      return;
    }
    reportError(this.#options.logger, this.#handlers, batchError(error, batch));
    void this.close();
  }

  outOfRange(fetcher: PartitionFetcher): number {
    return this.#options.from === 'latest' ? fetcher.log.high : fetcher.log.low;
  }

  logDeleted(): void {
    reportError(
      this.#options.logger,
      this.#handlers,
      new TributaryError('ERR_UNKNOWN_TOPIC', `topic "${this.topic}" was deleted; partition consumer stopped`, {
        context: { topic: this.topic, partition: this.partition },
      }),
    );
    void this.close();
  }

  #resolveFrom(): number {
    const from = this.#options.from;
    if (typeof from === 'number') return from;
    const log = this.#engine.topics.get(this.topic)?.partitions[this.partition];
    if (log === undefined) return 0;
    return from === 'earliest' ? log.low : log.high;
  }

  #ensureOpen(call: string): void {
    if (this.#state === 'closed') throw closedError('partition consumer', call);
  }
}
