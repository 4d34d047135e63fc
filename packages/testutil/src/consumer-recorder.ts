/**
 * Records what a transport consumer delivers to its ConsumerHandlers and
 * checks the delivery contract of core's transport.ts on the way: non-empty
 * batches of one partition in strictly increasing offsets, at most
 * `maxBatchRecords`, one batch per partition in flight, and (when asked)
 * batches only for partitions announced by onAssigned and not yet revoked,
 * onRevoked only after the partition's in-flight batch settled.
 */
import {
  partitionKey,
  type ConsumerHandlers,
  type Message,
  type RecordBatch,
  type TopicPartition,
  type TributaryError,
} from '@tributary/core';
import { orderViolationsPerKey, orderViolationsPerPartition, type OrderCheckOptions } from './order';
import { assertNoViolations } from './violations';
import { waitForCount, type WaitForOptions } from './wait';

export interface ConsumerRecorderOptions {
  /** Runs after each batch is recorded; its promise is what onBatch returns (reject it to fail the batch). */
  readonly onBatch?: (batch: RecordBatch) => void | Promise<void>;
  /** Runs after an assignment is recorded. */
  readonly onAssigned?: (partitions: readonly TopicPartition[]) => void | Promise<void>;
  /** Runs after a revocation is recorded (commit here). */
  readonly onRevoked?: (partitions: readonly TopicPartition[]) => void | Promise<void>;
  readonly onError?: (error: TributaryError) => void;
  /** Largest batch allowed; a bigger one is a violation. */
  readonly maxBatchRecords?: number;
  /**
   * Check batches against the assignment announced through onAssigned and
   * onRevoked. For group consumers of transports that call them
   * (features.consumerGroups). Default false.
   */
  readonly checkAssignment?: boolean;
  /** Names this consumer in violation messages. */
  readonly label?: string;
}

/** What happened, in order. `batch-end` follows its `batch` when onBatch settles. */
export type ConsumerEvent =
  | { readonly kind: 'batch'; readonly batch: RecordBatch }
  | { readonly kind: 'batch-end'; readonly topic: string; readonly partition: number; readonly failed: boolean }
  | { readonly kind: 'assigned'; readonly partitions: readonly TopicPartition[] }
  | { readonly kind: 'revoked'; readonly partitions: readonly TopicPartition[] }
  | { readonly kind: 'error'; readonly error: TributaryError };

export class ConsumerRecorder {
  /** Every batch delivered, in order. */
  readonly batches: RecordBatch[] = [];
  /** Every message delivered, in order (a redelivered one appears again). */
  readonly messages: Message[] = [];
  readonly events: ConsumerEvent[] = [];
  /** Errors reported to onError. */
  readonly errors: TributaryError[] = [];
  /** Contract breaches seen so far. */
  readonly violations: string[] = [];

  readonly #options: ConsumerRecorderOptions;
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #inFlight = new Set<string>();
  readonly #deliveries = new Map<string, number>();

  constructor(options: ConsumerRecorderOptions = {}) {
    this.#options = options;
  }

  /** Handlers to pass to `run` (a partition consumer uses onBatch and onError only). */
  readonly handlers: Required<ConsumerHandlers> = {
    onBatch: async (batch) => {
      this.#checkBatch(batch);
      const tp = partitionKey(batch);
      this.#inFlight.add(tp);
      this.batches.push(batch);
      this.events.push({ kind: 'batch', batch });
      for (const m of batch.messages) {
        this.messages.push(m);
        const at = `${tp}@${m.offset}`;
        this.#deliveries.set(at, (this.#deliveries.get(at) ?? 0) + 1);
      }
      let failed = true;
      try {
        await this.#options.onBatch?.(batch);
        failed = false;
      } finally {
        this.#inFlight.delete(tp);
        this.events.push({ kind: 'batch-end', topic: batch.topic, partition: batch.partition, failed });
      }
    },
    onAssigned: async (partitions) => {
      for (const tp of partitions) {
        if (this.#options.checkAssignment && this.#assigned.has(partitionKey(tp))) this.#violation(`onAssigned for ${partitionKey(tp)}, which was already assigned`);
        this.#assigned.set(partitionKey(tp), { topic: tp.topic, partition: tp.partition });
      }
      this.events.push({ kind: 'assigned', partitions: [...partitions] });
      await this.#options.onAssigned?.(partitions);
    },
    onRevoked: async (partitions) => {
      for (const tp of partitions) {
        const key = partitionKey(tp);
        if (this.#options.checkAssignment && !this.#assigned.has(key)) this.#violation(`onRevoked for ${key}, which was not assigned`);
        if (this.#inFlight.has(key)) this.#violation(`onRevoked for ${key} while its batch was in flight`);
        this.#assigned.delete(key);
      }
      this.events.push({ kind: 'revoked', partitions: [...partitions] });
      await this.#options.onRevoked?.(partitions);
    },
    onError: (error) => {
      this.errors.push(error);
      this.events.push({ kind: 'error', error });
      this.#options.onError?.(error);
    },
  };

  /** The label given in the options ('consumer' by default). */
  get label(): string {
    return this.#name();
  }

  /** Partitions announced by onAssigned and not revoked since. */
  assignment(): TopicPartition[] {
    return [...this.#assigned.values()];
  }

  /** Messages delivered so far (redeliveries included). */
  get count(): number {
    return this.messages.length;
  }

  /** Distinct records delivered (by topic, partition, offset). */
  get distinctCount(): number {
    return this.#deliveries.size;
  }

  /** How many times the record at `offset` of a partition was delivered. */
  deliveries(tp: TopicPartition, offset: number): number {
    return this.#deliveries.get(`${partitionKey(tp)}@${offset}`) ?? 0;
  }

  /** Messages of one partition, in delivery order. */
  messagesOf(tp: TopicPartition): Message[] {
    return this.messages.filter((m) => m.topic === tp.topic && m.partition === tp.partition);
  }

  /** Offsets of one partition, in delivery order. */
  offsetsOf(tp: TopicPartition): number[] {
    return this.messagesOf(tp).map((m) => m.offset);
  }

  /** Batches of one partition, in delivery order. */
  batchesOf(tp: TopicPartition): RecordBatch[] {
    return this.batches.filter((b) => b.topic === tp.topic && b.partition === tp.partition);
  }

  /** True while a batch of the partition is being handled. */
  inFlight(tp: TopicPartition): boolean {
    return this.#inFlight.has(partitionKey(tp));
  }

  /** Resolves once at least `count` messages (redeliveries included) were delivered. */
  waitForCount(count: number, options: WaitForOptions = {}): Promise<number> {
    return waitForCount(() => this.messages.length, count, { message: `${this.#name()}: delivered messages`, ...options });
  }

  /** Resolves once at least `count` distinct records were delivered. */
  waitForDistinct(count: number, options: WaitForOptions = {}): Promise<number> {
    return waitForCount(() => this.#deliveries.size, count, { message: `${this.#name()}: distinct records delivered`, ...options });
  }

  /** Throws an AssertionError listing every contract breach seen. */
  assertNoViolations(): void {
    assertNoViolations(`${this.#name()}: consumer contract`, this.violations);
  }

  /** Throws an AssertionError unless each key's records were delivered in order. */
  assertOrderPerKey(options: OrderCheckOptions = {}): void {
    assertNoViolations(`${this.#name()}: per-key order`, orderViolationsPerKey(this.messages, options));
  }

  /** Throws an AssertionError unless each partition's records were delivered in offset order. */
  assertOrderPerPartition(options: Pick<OrderCheckOptions, 'allowRedelivery'> = {}): void {
    assertNoViolations(`${this.#name()}: per-partition order`, orderViolationsPerPartition(this.messages, options));
  }

  #checkBatch(batch: RecordBatch): void {
    const tp = partitionKey(batch);
    if (batch.messages.length === 0) this.#violation(`empty batch for ${tp}`);
    const max = this.#options.maxBatchRecords;
    if (max !== undefined && batch.messages.length > max) this.#violation(`batch of ${batch.messages.length} records for ${tp} exceeds maxBatchRecords ${max}`);
    if (this.#inFlight.has(tp)) this.#violation(`batch for ${tp} delivered while the previous one was in flight`);
    if (this.#options.checkAssignment && !this.#assigned.has(tp)) this.#violation(`batch for ${tp}, which is not assigned (onAssigned not called, or revoked)`);
    let previous = -1;
    for (const m of batch.messages) {
      if (m.topic !== batch.topic || m.partition !== batch.partition) this.#violation(`batch for ${tp} holds a message of ${partitionKey(m)}`);
      if (m.offset <= previous) this.#violation(`batch for ${tp}: offset ${m.offset} after ${previous}`);
      previous = m.offset;
    }
    const last = batch.messages.at(-1);
    if (batch.highWatermark !== undefined && last && batch.highWatermark < last.offset + 1) {
      this.#violation(`batch for ${tp}: highWatermark ${batch.highWatermark} below last offset ${last.offset} + 1`);
    }
  }

  #violation(text: string): void {
    this.violations.push(text);
  }

  #name(): string {
    return this.#options.label ?? 'consumer';
  }
}
