import type { ProducerRecord } from '@tributary/core';
import type { ProduceResult } from './produce-result';

/**
 * The handle `produceAsync` returns once a record is queued: the outcome of
 * sending it, to await now, later or never. An outcome nobody awaits is not
 * an unhandled rejection. Deliberately not a thenable (awaiting the
 * `produceAsync` promise gives you the handle, not the outcome).
 */
export class ProduceFuture {
  /** The record as it will be sent (topic resolved). */
  readonly record: ProducerRecord;
  readonly #promise: Promise<ProduceResult>;
  #state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  #result: ProduceResult | undefined;
  #error: unknown;

  constructor(record: ProducerRecord, outcome: Promise<ProduceResult>) {
    this.record = record;
    this.#promise = outcome;
    outcome.then(
      (result) => {
        this.#state = 'fulfilled';
        this.#result = result;
      },
      (err: unknown) => {
        this.#state = 'rejected';
        this.#error = err;
      },
    );
  }

  /** Resolves with where the record landed; rejects with why it was not sent (after the retry policy). */
  wait(): Promise<ProduceResult> {
    return this.#promise;
  }

  /** True once the outcome is known. */
  get done(): boolean {
    return this.#state !== 'pending';
  }

  /** Where the record landed, once sent. */
  get result(): ProduceResult | undefined {
    return this.#result;
  }

  /** Why the record was not sent, once failed. */
  get error(): unknown {
    return this.#error;
  }
}
