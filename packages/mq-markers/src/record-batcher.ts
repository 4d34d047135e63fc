/**
 * Coalesces records added in the same event-loop turn into one
 * `TransportProducer.send` call (internal; not exported from the package).
 *
 * Why not core's BatchProducer: that one lingers on a timer (`maxWaitMs`),
 * which suits fire-and-forget publishing. Markers are awaited one by one by
 * callers such as `await client.processed(msg)`; a timer linger would cap such
 * a loop at one message per linger period. This batcher sends when the
 * current turn's work is done (setImmediate), when `maxBatchRecords` are
 * pending, or at once for `addAll(…, { now: true })`.
 *
 * Ordering: pending records are handed to the transport synchronously, in the
 * order they were added, batch after batch without waiting for the previous
 * one — so records for one partition keep their add order (the transport's
 * ordering contract).
 */
import { TributaryError, errorMessage, isTributaryError, type ProducerRecord, type SendResult, type TransportProducer } from '@tributary/core';

/** Who waits for which pending records. */
interface Waiter {
  remaining: number;
  error: TributaryError | undefined;
  readonly resolve: () => void;
  readonly reject: (error: TributaryError) => void;
}

export class RecordBatcher {
  readonly #producer: TransportProducer;
  readonly #maxBatchRecords: number;
  readonly #component: string;
  #records: ProducerRecord[] = [];
  #waiters: Waiter[] = [];
  #immediate: NodeJS.Immediate | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(producer: TransportProducer, maxBatchRecords: number, component: string) {
    this.#producer = producer;
    this.#maxBatchRecords = maxBatchRecords;
    this.#component = component;
  }

  /** Records added and not yet handed to the transport. */
  get pending(): number {
    return this.#records.length;
  }

  /** Resolves once the record is acknowledged; rejects with its TributaryError. */
  add(record: ProducerRecord): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise<void>((resolve, reject) => {
      this.#records.push(record);
      this.#waiters.push({ remaining: 1, error: undefined, resolve, reject });
      this.#scheduleOrSend();
    });
  }

  /**
   * Resolves once every record is acknowledged; otherwise rejects, after all
   * of them settled, with the first record's error. With `now`, everything
   * pending is handed to the transport at once (no linger).
   */
  addAll(records: readonly ProducerRecord[], options: { readonly now?: boolean } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: records.length, error: undefined, resolve, reject };
      for (const record of records) {
        this.#records.push(record);
        this.#waiters.push(waiter);
      }
      if (options.now === true) this.#send();
      else this.#scheduleOrSend();
    });
  }

  /** Sends what is pending and resolves once every record added so far has settled. Never rejects. */
  async flush(): Promise<void> {
    this.#send();
    await Promise.all([...this.#inFlight]);
  }

  /** Refuses new records (ERR_CLOSED), then flushes. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #scheduleOrSend(): void {
    if (this.#records.length >= this.#maxBatchRecords) this.#send();
    else this.#immediate ??= setImmediate(this.#onImmediate);
  }

  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    this.#send();
  };

  /** Hands every pending record to the transport as one call (synchronously: keeps order). */
  #send(): void {
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
    if (this.#records.length === 0) return;
    const records = this.#records;
    const waiters = this.#waiters;
    this.#records = [];
    this.#waiters = [];
    let sending: Promise<SendResult[]>;
    try {
      sending = this.#producer.send(records);
    } catch (err) {
      sending = Promise.reject(err instanceof Error ? err : new Error(errorMessage(err)));
    }
    const done = sending.then(
      (results) => settle(waiters, results, undefined),
      (err: unknown) => settle(waiters, undefined, asProduceError(err, this.#component)),
    );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  #closedError(): TributaryError {
    return new TributaryError('ERR_CLOSED', `${this.#component} is closed`);
  }
}

function settle(waiters: readonly Waiter[], results: readonly SendResult[] | undefined, callError: TributaryError | undefined): void {
  for (let i = 0; i < waiters.length; i++) {
    const waiter = waiters[i] as Waiter;
    const result = results?.[i];
    if (result === undefined || !result.ok) {
      waiter.error ??=
        result !== undefined && !result.ok
          ? result.error
          : (callError ?? new TributaryError('ERR_PRODUCE', 'the transport returned no result for a record'));
    }
    if (--waiter.remaining === 0) {
      if (waiter.error === undefined) waiter.resolve();
      else waiter.reject(waiter.error);
    }
  }
}

function asProduceError(err: unknown, component: string): TributaryError {
  return isTributaryError(err) ? err : new TributaryError('ERR_PRODUCE', `${component}: send failed: ${errorMessage(err)}`, { cause: err });
}
