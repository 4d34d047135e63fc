import { AsyncResource } from 'node:async_hooks';
import { type TributaryError, abortedError, type ProducerRecord } from '@tributary/core';
import { FifoQueue } from '../fifo-queue';
import { hashKey } from '../shard-router';
import type { ProducerDispatchMode } from './producer-config';
import type { ProduceResult } from './produce-result';

interface Job {
  readonly record: ProducerRecord;
  readonly signal: AbortSignal | undefined;
  /** The async context of the call that queued the record: its send runs there. */
  readonly scope: AsyncResource;
  readonly resolve: (result: ProduceResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Waiter {
  readonly job: Job;
  readonly admitted: () => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

class Worker {
  readonly queue = new FifoQueue<Job>();
  /** Callers waiting for room, in call order (their records are admitted in that order). */
  readonly waiting = new FifoQueue<Waiter>();
  active = false;
}

/**
 * The asynchronous send path of DispatchingProducer: per-worker bounded FIFO
 * queues, each drained by one loop that sends one record at a time. A full
 * queue makes callers wait (in order) instead of growing.
 *
 * Async context: a worker loop lives in the context of the call that woke
 * it, so each record is sent in the context of its own `enqueue` call
 * instead — context-based instrumentation (OpenTelemetry's context manager is
 * an AsyncLocalStorage) then sees the caller's context: a `send` span is the
 * child of the span that was active at `produceAsync`, not of whichever
 * caller happened to wake the worker.
 */
export class Dispatcher {
  readonly #workers: Worker[];
  readonly #mode: ProducerDispatchMode;
  readonly #queueSize: number;
  readonly #send: (record: ProducerRecord, signal: AbortSignal | undefined) => Promise<ProduceResult>;
  #roundRobin = 0;
  #pending = 0;
  #idle: (() => void)[] = [];

  constructor(
    mode: ProducerDispatchMode,
    workers: number,
    queueSize: number,
    send: (record: ProducerRecord, signal: AbortSignal | undefined) => Promise<ProduceResult>,
  ) {
    this.#mode = mode;
    this.#queueSize = queueSize;
    this.#send = send;
    this.#workers = Array.from({ length: mode === 'serial' ? 1 : workers }, () => new Worker());
  }

  /** Records accepted and not yet settled (queued, waiting for room, or sending). */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues `record`; resolves once it is queued (waiting for room when the
   * worker's queue is full) with the promise of its outcome (boxed: an async
   * function would otherwise adopt it and wait for the send). Rejects with
   * ERR_ABORTED when `signal` aborts before the record is queued.
   */
  async enqueue(record: ProducerRecord, signal: AbortSignal | undefined): Promise<{ readonly outcome: Promise<ProduceResult> }> {
    if (signal?.aborted) throw abortedError(signal);
    const worker = this.#workers[this.#route(record)] as Worker;
    let job!: Job;
    const scope = new AsyncResource('tributary.produceAsync');
    const outcome = new Promise<ProduceResult>((resolve, reject) => (job = { record, signal, scope, resolve, reject }));
    this.#pending++;
    if (worker.queue.length < this.#queueSize && worker.waiting.length === 0) {
      worker.queue.push(job);
    } else {
      try {
        await new Promise<void>((admitted, reject) => {
          const onAbort = (): void => {
            worker.waiting.removeWhere((w) => w.job === job);
            reject(abortedError(signal as AbortSignal));
          };
          worker.waiting.push({ job, admitted, signal, onAbort });
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      } catch (err) {
        this.#settled();
        throw err;
      }
    }
    this.#wake(worker);
    // The outcome promise settles through the worker; callers observe it through ProduceFuture.
    outcome.then(
      () => this.#settled(),
      () => this.#settled(),
    );
    return { outcome };
  }

  /** Resolves when nothing is pending. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Fails every record not yet being sent with `error` (close after its drain deadline). */
  abandon(error: TributaryError): void {
    for (const worker of this.#workers) {
      for (let w = worker.waiting.shift(); w !== undefined; w = worker.waiting.shift()) {
        w.signal?.removeEventListener('abort', w.onAbort);
        w.job.reject(error);
        w.admitted();
      }
      for (let job = worker.queue.shift(); job !== undefined; job = worker.queue.shift()) job.reject(error);
    }
  }

  #route(record: ProducerRecord): number {
    const n = this.#workers.length;
    if (n === 1) return 0;
    if (this.#mode === 'key-sharded' && record.key !== undefined && record.key !== null) return hashKey(record.key) % n;
    this.#roundRobin = (this.#roundRobin + 1) % n;
    return this.#roundRobin;
  }

  #wake(worker: Worker): void {
    if (worker.active || worker.queue.length === 0) return;
    worker.active = true;
    void this.#work(worker);
  }

  async #work(worker: Worker): Promise<void> {
    try {
      for (let job = worker.queue.shift(); job !== undefined; job = worker.queue.shift()) {
        this.#admit(worker);
        try {
          const { record, signal } = job;
          job.resolve(await job.scope.runInAsyncScope(() => this.#send(record, signal)));
        } catch (err) {
          job.reject(err);
        }
      }
    } finally {
      worker.active = false;
    }
  }

  /** Moves waiting callers' records into the queue while there is room, in order. */
  #admit(worker: Worker): void {
    while (worker.queue.length < this.#queueSize) {
      const w = worker.waiting.shift();
      if (w === undefined) return;
      w.signal?.removeEventListener('abort', w.onAbort);
      worker.queue.push(w.job);
      w.admitted();
    }
  }

  #settled(): void {
    if (--this.#pending > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }
}
