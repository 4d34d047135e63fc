/**
 * Reads queue messages back by offset, for redelivery: a core
 * PartitionConsumer positioned at the lowest wanted offset, paused between
 * reads. One read at a time.
 */
import { TributaryError, type Logger, type Message, type PartitionConsumer, type RecordBatch, type Transport } from '@tributary/core';

/** What a read found. */
export interface ReadResult {
  /** Wanted messages that were read, by offset. */
  readonly found: Map<number, Message>;
  /** Wanted offsets no longer in the log (deleted by retention or compaction). */
  readonly missing: number[];
}

interface Request {
  readonly wanted: readonly number[];
  next: number;
  readonly found: Map<number, Message>;
  readonly missing: number[];
  readonly resolve: (result: ReadResult) => void;
  readonly reject: (error: TributaryError) => void;
  readonly timer: NodeJS.Timeout;
}

export interface OffsetReaderOptions {
  readonly maxBatchRecords?: number;
  readonly clientId?: string;
  readonly logger: Logger;
}

export class OffsetReader {
  readonly topic: string;
  readonly partition: number;
  readonly #transport: Transport;
  readonly #options: OffsetReaderOptions;
  #consumer: PartitionConsumer | undefined;
  #request: Request | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #lastUsedAt = 0;
  #closed = false;

  constructor(transport: Transport, topic: string, partition: number, options: OffsetReaderOptions) {
    this.#transport = transport;
    this.topic = topic;
    this.partition = partition;
    this.#options = options;
  }

  /** performance.now() of the last read's end (0 before the first). */
  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  /**
   * Reads the messages at `offsets` (any order, duplicates ignored). Rejects
   * with ERR_TIMEOUT when they are not all accounted for within `timeoutMs`.
   */
  read(offsets: readonly number[], timeoutMs: number): Promise<ReadResult> {
    const run = this.#busy.then(() => this.#read(offsets, timeoutMs));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Closes the consumer; a read in progress rejects with ERR_CLOSED. */
  async close(): Promise<void> {
    this.#closed = true;
    const request = this.#request;
    if (request !== undefined) this.#finish(request, new TributaryError('ERR_CLOSED', 'offset reader closed during a read'));
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.close();
  }

  async #read(offsets: readonly number[], timeoutMs: number): Promise<ReadResult> {
    if (this.#closed) throw new TributaryError('ERR_CLOSED', 'offset reader is closed');
    const wanted = [...new Set(offsets)].sort((a, b) => a - b);
    const from = wanted[0];
    if (from === undefined) return { found: new Map(), missing: [] };
    const result = new Promise<ReadResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        const request = this.#request;
        if (request !== undefined && request.timer === timer) {
          this.#finish(
            request,
            new TributaryError('ERR_TIMEOUT', `reading ${wanted.length} message(s) back from ${this.topic}/${this.partition} took longer than ${timeoutMs} ms`, {
              context: { topic: this.topic, partition: this.partition, offset: from },
            }),
          );
        }
      }, timeoutMs);
      this.#request = { wanted, next: 0, found: new Map(), missing: [], resolve, reject, timer };
    });
    try {
      if (this.#consumer === undefined) {
        const consumer = this.#transport.partitionConsumer({
          topic: this.topic,
          partition: this.partition,
          from,
          logger: this.#options.logger,
          ...(this.#options.maxBatchRecords !== undefined ? { maxBatchRecords: this.#options.maxBatchRecords } : {}),
          ...(this.#options.clientId !== undefined ? { clientId: this.#options.clientId } : {}),
        });
        this.#consumer = consumer;
        await consumer.run({
          onBatch: async (batch) => this.#onBatch(batch),
          onError: (error) => this.#options.logger.warn({ err: error }, `offset reader: ${error.message}`),
        });
      } else {
        this.#consumer.seek(from);
        this.#consumer.resume();
      }
    } catch (err) {
      const request = this.#request;
      if (request !== undefined) this.#finish(request, err instanceof TributaryError ? err : new TributaryError('ERR_TRANSPORT', String(err), { cause: err }));
    }
    return result;
  }

  #onBatch(batch: RecordBatch): void {
    const request = this.#request;
    if (request === undefined) return;
    const { wanted, found, missing } = request;
    for (const m of batch.messages) {
      // Wanted offsets below the message being read are not in the log any more.
      while (request.next < wanted.length && (wanted[request.next] as number) < m.offset) missing.push(wanted[request.next++] as number);
      if (request.next < wanted.length && wanted[request.next] === m.offset) {
        found.set(m.offset, m);
        request.next++;
      }
      if (request.next === wanted.length) break;
    }
    // Wanted offsets at or past the high watermark cannot be read (the log was truncated).
    const last = batch.messages[batch.messages.length - 1];
    if (batch.highWatermark !== undefined && last !== undefined && last.offset + 1 >= batch.highWatermark) {
      while (request.next < wanted.length) missing.push(wanted[request.next++] as number);
    }
    if (request.next === wanted.length) this.#finish(request, undefined);
  }

  #finish(request: Request, error: TributaryError | undefined): void {
    if (this.#request !== request) return;
    this.#request = undefined;
    clearTimeout(request.timer);
    this.#lastUsedAt = performance.now();
    try {
      this.#consumer?.pause();
    } catch {
      // closed meanwhile: nothing left to pause
    }
    if (error === undefined) request.resolve({ found: request.found, missing: request.missing });
    else request.reject(error);
  }
}
