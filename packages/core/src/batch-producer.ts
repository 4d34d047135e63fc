import { ConfigCheck, freezeOptions } from './config';
import { TributaryError, errorMessage, isTributaryError } from './errors';
import { silentLogger, type Logger } from './logger';
import { recordSize, type ProducerRecord } from './message';
import type { SendResult, TransportProducer } from './transport';

/** Where an accepted record landed. */
export type SentRecord = Extract<SendResult, { ok: true }>;

/** A record for a BatchProducer: `topic` may be left out when the producer has a default topic. */
export type BatchRecord = Omit<ProducerRecord, 'topic'> & { readonly topic?: string };

/** One record that could not be published, with why. */
export interface FailedRecord {
  readonly record: ProducerRecord;
  readonly error: TributaryError;
}

/** What became of the records that settled since the previous report. */
export interface FlushReport {
  /** Records acknowledged by the transport. */
  readonly sent: number;
  /** Records that failed, in the order they settled. */
  readonly failed: readonly FailedRecord[];
}

export interface BatchProducerOptions {
  /** Topic for records that name none. Default: none (every record must name its topic). */
  readonly topic?: string;
  /** Flush when this many records are buffered. Default 100. */
  readonly maxRecords?: number;
  /** Flush this long after the first record entered an empty buffer. Default 5000 ms. */
  readonly maxWaitMs?: number;
  /** Flush before the buffered bytes (key + value + headers) would exceed this. 0 = unlimited (default). */
  readonly maxBytes?: number;
  readonly logger?: Logger;
}

/**
 * Buffers records and sends them in batches through a TransportProducer
 * (seed 001's BatchProducer). A batch is sent when `maxRecords` are buffered,
 * `maxWaitMs` after the first record of the batch was added, when adding a
 * record would take the batch over `maxBytes` (a single larger record is sent
 * alone), on `flush()`, and on `close()`.
 *
 * Every accepted record gets exactly one outcome, reported twice:
 * - the promise `add` returned resolves with the record's {@link SentRecord}
 *   or rejects with its TributaryError;
 * - the next `flush()`/`close()` report counts it (and lists it if it failed).
 *   Each record appears in exactly one report: the one taken first after it
 *   settled (concurrent `flush()` calls share the records between them).
 *
 * Because failures are always in a report, the promise `add` returns is
 * pre-handled: a caller that does not await it (fire and forget, then read
 * the `close()` report) gets no unhandled rejection. A record refused at the
 * door — after close (ERR_CLOSED) or without a topic (ERR_CONFIG) — is in no
 * report, so that rejection is not pre-handled.
 *
 * Ordering: batches are handed to the transport in the order they were
 * formed, without waiting for the previous one, so records to the same
 * partition keep their `add` order (the transport's ordering contract).
 *
 * Concurrency: any number of async callers may `add`, `flush` and `close` at
 * once. The BatchProducer does not own the TransportProducer: `close()`
 * flushes and stops the timer but leaves the producer open.
 */
export interface BatchProducer {
  /** Buffers `record`; see the interface doc for how its outcome is reported. */
  add(record: BatchRecord): Promise<SentRecord>;
  /**
   * Sends what is buffered and resolves once every record added before the
   * call has its outcome, with the report of records settled since the
   * previous report.
   */
  flush(): Promise<FlushReport>;
  /**
   * Refuses further records (ERR_CLOSED), flushes, waits for every record to
   * settle and resolves with the final report. Idempotent: later calls resolve
   * with the same report.
   */
  close(): Promise<FlushReport>;
  /** Records buffered and not yet handed to the transport. */
  readonly buffered: number;
}

interface Entry {
  readonly record: ProducerRecord;
  readonly resolve: (result: SentRecord) => void;
  readonly reject: (error: TributaryError) => void;
}

const noop = (): void => undefined;

class BufferingProducer implements BatchProducer {
  readonly #producer: TransportProducer;
  readonly #topic: string | undefined;
  readonly #maxRecords: number;
  readonly #maxWaitMs: number;
  readonly #maxBytes: number;
  readonly #logger: Logger;

  #buffer: Entry[] = [];
  #bufferBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #inflight = new Set<Promise<void>>();
  #sent = 0;
  #failed: FailedRecord[] = [];
  #closing: Promise<FlushReport> | undefined;

  constructor(producer: TransportProducer, options: Required<Omit<BatchProducerOptions, 'topic'>> & { topic: string | undefined }) {
    this.#producer = producer;
    this.#topic = options.topic;
    this.#maxRecords = options.maxRecords;
    this.#maxWaitMs = options.maxWaitMs;
    this.#maxBytes = options.maxBytes;
    this.#logger = options.logger;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  add(input: BatchRecord): Promise<SentRecord> {
    if (this.#closing !== undefined) {
      return Promise.reject(new TributaryError('ERR_CLOSED', 'BatchProducer is closed'));
    }
    const topic = input.topic ?? this.#topic;
    if (topic === undefined || topic === '') {
      return Promise.reject(new TributaryError('ERR_CONFIG', 'record names no topic and the BatchProducer has no default topic'));
    }
    const record: ProducerRecord = input.topic === topic ? (input as ProducerRecord) : { ...input, topic };
    const size = this.#maxBytes > 0 ? recordSize(record) : 0;

    // Flush first when this record would take a non-empty batch over the byte limit.
    if (this.#maxBytes > 0 && this.#buffer.length > 0 && this.#bufferBytes + size > this.#maxBytes) this.#sendBuffer();

    const promise = new Promise<SentRecord>((resolve, reject) => {
      this.#buffer.push({ record, resolve, reject });
    });
    promise.catch(noop); // pre-handled: the failure is also in the next report
    this.#bufferBytes += size;

    if (this.#buffer.length >= this.#maxRecords || (this.#maxBytes > 0 && this.#bufferBytes >= this.#maxBytes)) {
      this.#sendBuffer();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#sendBuffer();
      }, this.#maxWaitMs);
    }
    return promise;
  }

  async flush(): Promise<FlushReport> {
    this.#sendBuffer();
    await Promise.all([...this.#inflight]);
    return this.#takeReport();
  }

  close(): Promise<FlushReport> {
    this.#closing ??= this.flush();
    return this.#closing;
  }

  /** Hands the buffered records to the transport as one batch (synchronously, to keep batch order). */
  #sendBuffer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#buffer.length === 0) return;
    const entries = this.#buffer;
    this.#buffer = [];
    this.#bufferBytes = 0;
    const done = this.#send(entries);
    this.#inflight.add(done);
    void done.finally(() => this.#inflight.delete(done));
  }

  /** Sends one batch and settles every entry; never rejects. */
  async #send(entries: readonly Entry[]): Promise<void> {
    let results: SendResult[] | undefined;
    let callError: TributaryError | undefined;
    try {
      results = await this.#producer.send(entries.map((e) => e.record));
    } catch (err) {
      callError = asProduceError(err);
    }
    let failures = 0;
    entries.forEach((entry, i) => {
      const result = results?.[i];
      if (result?.ok === true) {
        this.#sent++;
        entry.resolve(result);
        return;
      }
      const error =
        result !== undefined && !result.ok
          ? result.error
          : (callError ?? new TributaryError('ERR_PRODUCE', 'transport returned no result for the record'));
      failures++;
      this.#failed.push({ record: entry.record, error });
      entry.reject(error);
    });
    if (failures > 0) {
      this.#logger.error({ records: entries.length, failed: failures, err: callError }, 'batch producer: records failed to publish');
    }
  }

  #takeReport(): FlushReport {
    const report: FlushReport = { sent: this.#sent, failed: this.#failed };
    this.#sent = 0;
    this.#failed = [];
    return report;
  }
}

function asProduceError(err: unknown): TributaryError {
  return isTributaryError(err) ? err : new TributaryError('ERR_PRODUCE', `send failed: ${errorMessage(err)}`, { cause: err });
}

/**
 * Creates a BatchProducer over `producer`. Options are validated once (every
 * problem in one ConfigError) and frozen.
 */
export function createBatchProducer(producer: TransportProducer, options: BatchProducerOptions = {}): BatchProducer {
  const resolved = {
    topic: options.topic,
    maxRecords: options.maxRecords ?? 100,
    maxWaitMs: options.maxWaitMs ?? 5000,
    maxBytes: options.maxBytes ?? 0,
    logger: options.logger ?? silentLogger,
  };
  const check = new ConfigCheck('BatchProducer');
  check.check(typeof producer === 'object' && producer !== null && typeof producer.send === 'function', 'producer', 'must be a TransportProducer');
  if (resolved.topic !== undefined) check.nonEmptyString(resolved.topic, 'topic');
  check.integer(resolved.maxRecords, 'maxRecords', 1);
  check.integer(resolved.maxWaitMs, 'maxWaitMs', 0, 2_147_483_647);
  check.integer(resolved.maxBytes, 'maxBytes', 0);
  check.throwIfInvalid();
  return new BufferingProducer(producer, freezeOptions(resolved));
}
