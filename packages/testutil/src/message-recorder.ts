/**
 * Records what handlers were given, for assertions in tests of anything that
 * calls a MessageHandler or BatchHandler (the consumer runtime, the router,
 * middleware).
 */
import {
  partitionKey,
  type BatchHandler,
  type HandlerContext,
  type Message,
  type MessageHandler,
  type RecordOutcome,
  type TopicPartition,
} from '@tributary/core';
import { orderViolationsPerKey, orderViolationsPerPartition, type OrderCheckOptions } from './order';
import { textOf } from './records';
import { assertNoViolations } from './violations';
import { waitForCount, type WaitForOptions } from './wait';

export interface MessageRecorderOptions {
  /** Runs after each message is recorded (by `handler`); throwing fails the message. */
  readonly onMessage?: MessageHandler;
  /** Runs after each batch is recorded (by `batchHandler`); its result is the batch result. */
  readonly onBatch?: BatchHandler;
}

/** One handler call. */
export interface RecordedCall {
  readonly message: Message;
  /** `ctx.attempt` of the call. */
  readonly attempt: number;
}

/**
 * Records every message handled, in handling order.
 *
 * Assertion helpers throw node's `AssertionError` listing every violation
 * found (see assertNoViolations).
 */
export class MessageRecorder {
  /** Every message handled, in order (a redelivered message appears again). */
  readonly messages: Message[] = [];
  /** Every call with its attempt number, in order. */
  readonly calls: RecordedCall[] = [];
  /** Every batch given to `batchHandler`, in order. */
  readonly batches: (readonly Message[])[] = [];
  readonly #options: MessageRecorderOptions;

  constructor(options: MessageRecorderOptions = {}) {
    this.#options = options;
  }

  /** A MessageHandler that records, then runs `onMessage`. */
  readonly handler: MessageHandler = async (message: Message, ctx: HandlerContext) => {
    this.#record(message, ctx.attempt);
    await this.#options.onMessage?.(message, ctx);
  };

  /** A BatchHandler that records the batch and its messages, then runs `onBatch`. */
  readonly batchHandler: BatchHandler = async (messages: readonly Message[], ctx: HandlerContext): Promise<void | readonly RecordOutcome[]> => {
    this.batches.push([...messages]);
    for (const m of messages) this.#record(m, ctx.attempt);
    return this.#options.onBatch?.(messages, ctx);
  };

  /** Records a message handled by other means. */
  record(message: Message, attempt = 1): void {
    this.#record(message, attempt);
  }

  get count(): number {
    return this.messages.length;
  }

  /** Values as text (null for tombstones), in handling order. */
  values(): (string | null)[] {
    return this.messages.map((m) => textOf(m.value));
  }

  /** Messages grouped by key, each group in handling order. */
  byKey(): Map<string | null, Message[]> {
    return groupBy(this.messages, (m) => m.key);
  }

  /** Messages grouped by `topic/partition` (see core's partitionKey), each group in handling order. */
  byPartition(): Map<string, Message[]> {
    return groupBy(this.messages, (m) => partitionKey(m));
  }

  /** Offsets handled for one partition, in handling order. */
  offsetsOf(tp: TopicPartition): number[] {
    return this.messages.filter((m) => m.topic === tp.topic && m.partition === tp.partition).map((m) => m.offset);
  }

  /** Distinct messages (by topic, partition, offset). */
  distinctCount(): number {
    return new Set(this.messages.map((m) => `${partitionKey(m)}@${m.offset}`)).size;
  }

  /** Throws an AssertionError unless messages of each key were handled in order (see orderViolationsPerKey). */
  assertOrderPerKey(options: OrderCheckOptions = {}): void {
    assertNoViolations('per-key order', orderViolationsPerKey(this.messages, options));
  }

  /** Throws an AssertionError unless each partition's messages were handled in offset order. */
  assertOrderPerPartition(options: Pick<OrderCheckOptions, 'allowRedelivery'> = {}): void {
    assertNoViolations('per-partition order', orderViolationsPerPartition(this.messages, options));
  }

  /** Resolves once at least `count` messages were handled. */
  waitForCount(count: number, options: WaitForOptions = {}): Promise<number> {
    return waitForCount(() => this.messages.length, count, { message: 'recorded messages', ...options });
  }

  /** Forgets everything recorded. */
  clear(): void {
    this.messages.length = 0;
    this.calls.length = 0;
    this.batches.length = 0;
  }

  #record(message: Message, attempt: number): void {
    this.messages.push(message);
    this.calls.push({ message, attempt });
  }
}

function groupBy<K>(messages: readonly Message[], keyOf: (m: Message) => K): Map<K, Message[]> {
  const groups = new Map<K, Message[]>();
  for (const m of messages) {
    const k = keyOf(m);
    const group = groups.get(k);
    if (group) group.push(m);
    else groups.set(k, [m]);
  }
  return groups;
}
