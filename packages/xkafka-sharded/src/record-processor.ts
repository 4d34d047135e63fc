import {
  RetriesExhaustedError,
  TributaryError,
  deadLetterRecord,
  errorMessage,
  isPermanentError,
  type Backoff,
  type ConsumerControl,
  type HandlerContext,
  type Logger,
  type Message,
  type MessageHandler,
  type RecordContext,
  type TransportProducer,
} from '@tributary/core';
import type { SleepFn } from './consumer-config';
import { emitFailure, type ExhaustedPolicy, type FailureEvent, type FailureHook, type FailureStage } from './failure';
import type { PartitionProgress } from './partition-progress';

/** A delivered record on its way through a shard. */
export interface ShardEntry {
  readonly message: Message;
  /** The ordering key (from the key extractor). */
  readonly key: string;
  readonly progress: PartitionProgress;
  /** Set when the key extractor failed: every attempt fails with it. */
  readonly keyError?: TributaryError;
}

/**
 * How a record left the processor:
 * - `done`: the handler succeeded;
 * - `dead-lettered`: published to the dead-letter topic (counts as done);
 * - `abandoned`: its partition was given up or the consumer is stopping
 *   before it succeeded (it is redelivered to the next owner);
 * - `stopped`: it stopped the consumer (stop policy, failed dead-letter publish).
 */
export type ProcessOutcome = 'done' | 'dead-lettered' | 'abandoned' | 'stopped';

/** `attempt()` resolves with this on success, else with the failure. */
export const SUCCEEDED: unique symbol = Symbol('succeeded');

/** Counters the processor keeps (read by the consumers' `stats()`). */
export interface ProcessorCounters {
  failedAttempts: number;
  retries: number;
  deadLettered: number;
}

export interface RecordProcessorOptions {
  /** The handler chain of each topic; `fallback` for any other topic. */
  readonly chains: ReadonlyMap<string, MessageHandler>;
  readonly fallback: MessageHandler;
  readonly retry: Backoff;
  readonly exhaustedPolicy: ExhaustedPolicy;
  readonly dlqTopic: ((message: Message) => string) | undefined;
  /** The producer dead letters are published with (present for `'dlq-commit'`). */
  readonly dlqProducer: TransportProducer | undefined;
  readonly failureHook: FailureHook | undefined;
  readonly groupId: string | undefined;
  readonly logger: Logger;
  readonly control: ConsumerControl;
  readonly sleep: SleepFn;
  /** True while the consumer may start attempts. */
  readonly running: () => boolean;
  /** Stops the consumer with `error`. */
  readonly fail: (error: TributaryError) => void;
}

/**
 * Runs records through the handler chain with the retry policy, and applies
 * the exhausted policy: the per-record half of the sharded consumers (the
 * shard pool decides *when* a record runs; this decides *what happens* to it).
 */
export class RecordProcessor {
  readonly counters: ProcessorCounters = { failedAttempts: 0, retries: 0, deadLettered: 0 };
  readonly #o: RecordProcessorOptions;

  constructor(options: RecordProcessorOptions) {
    this.#o = options;
  }

  /** One attempt: resolves with SUCCEEDED or with what the handler threw. Never rejects. */
  async attempt(entry: ShardEntry, attempt: number): Promise<unknown> {
    if (entry.keyError !== undefined) {
      this.counters.failedAttempts++;
      return entry.keyError;
    }
    const m = entry.message;
    const chain = this.#o.chains.get(m.topic) ?? this.#o.fallback;
    const ctx: HandlerContext = {
      signal: entry.progress.handlerAbort.signal,
      // Middleware waits (retry, throttle, circuit breaker) end when the partition is given up.
      stopping: entry.progress.retryAbort.signal,
      attempt,
      groupId: this.#o.groupId,
      logger: this.#o.logger,
      control: this.#o.control,
    };
    try {
      await chain(m, ctx);
      return SUCCEEDED;
    } catch (err) {
      this.counters.failedAttempts++;
      return err;
    }
  }

  /** First attempt, then `recover` if it failed. */
  async handle(entry: ShardEntry): Promise<ProcessOutcome> {
    if (!this.#active(entry)) return 'abandoned';
    const result = await this.attempt(entry, 1);
    return result === SUCCEEDED ? 'done' : this.recover(entry, 1, result);
  }

  /**
   * After attempt `attempt` failed with `error`: retry with backoff while the
   * policy allows, then apply the exhausted policy. Resolves when the record
   * is done, dead-lettered, abandoned (partition revoked or consumer
   * stopping: retry waits end at once) or has stopped the consumer.
   */
  async recover(entry: ShardEntry, attempt: number, error: unknown): Promise<ProcessOutcome> {
    const firstFailureAt = Date.now();
    let exhaustedReported = false;
    for (;;) {
      if (!this.#active(entry)) return 'abandoned';
      const exhausted = isPermanentError(error) || !this.#o.retry.canRetry(attempt);
      if (exhausted && !exhaustedReported) {
        exhaustedReported = true;
        this.#emit('exhausted', entry, attempt, error);
        if (this.#o.exhaustedPolicy !== 'block') return this.#exhausted(entry, attempt, error, firstFailureAt);
        this.#o.logger.error(
          { ...this.#where(entry), attempt, err: error },
          `retries exhausted; blocking key ${JSON.stringify(entry.key)} and retrying until it succeeds: ${errorMessage(error)}`,
        );
      }
      const delayMs = this.#o.retry.delayFor(attempt);
      this.#emit('retry', entry, attempt, error, { delayMs });
      try {
        await this.#o.sleep(delayMs, entry.progress.retryAbort.signal);
      } catch {
        return 'abandoned';
      }
      if (!this.#active(entry)) return 'abandoned';
      attempt++;
      this.counters.retries++;
      const result = await this.attempt(entry, attempt);
      if (result === SUCCEEDED) return 'done';
      error = result;
    }
  }

  #active(entry: ShardEntry): boolean {
    return !entry.progress.revoked && this.#o.running();
  }

  /** Retries are over (or pointless): dead-letter or stop. */
  async #exhausted(entry: ShardEntry, attempt: number, error: unknown, firstFailureAt: number): Promise<ProcessOutcome> {
    const m = entry.message;
    const context = this.#where(entry);
    const reason = isPermanentError(error) ? error : new RetriesExhaustedError(attempt, error, context);
    if (this.#o.exhaustedPolicy === 'stop') {
      return this.#stop(
        entry,
        attempt,
        new TributaryError('ERR_STOPPED', `stopped by the exhausted policy at ${at(m)}: ${errorMessage(reason)}`, { cause: reason, context }),
      );
    }
    const producer = this.#o.dlqProducer;
    const topicOf = this.#o.dlqTopic;
    let failure: unknown = producer && topicOf ? undefined : new Error('no dead-letter producer');
    let topic = '';
    if (producer && topicOf) {
      try {
        topic = topicOf(m);
        const record = deadLetterRecord(m, {
          topic,
          reason,
          attempts: attempt,
          ...(this.#o.groupId === undefined ? {} : { groupId: this.#o.groupId }),
          firstFailureAt,
          lastFailureAt: Date.now(),
        });
        const [result] = await producer.send([record]);
        if (result === undefined || !result.ok) failure = result?.error ?? new Error('no send result');
      } catch (err) {
        failure = err;
      }
    }
    if (failure !== undefined) {
      return this.#stop(
        entry,
        attempt,
        new TributaryError('ERR_DEAD_LETTER', `dead-letter publish failed for ${at(m)}: ${errorMessage(failure)}`, { cause: failure, context }),
      );
    }
    this.counters.deadLettered++;
    this.#emit('dlq', entry, attempt, reason, { deadLetterTopic: topic });
    this.#o.logger.warn({ ...context, attempt, deadLetterTopic: topic, reason: errorMessage(reason) }, 'record dead-lettered');
    return 'dead-lettered';
  }

  #stop(entry: ShardEntry, attempt: number, error: TributaryError): ProcessOutcome {
    this.#emit('stop', entry, attempt, error);
    this.#o.fail(error);
    return 'stopped';
  }

  #where(entry: ShardEntry): RecordContext {
    const m = entry.message;
    return { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key };
  }

  #emit(
    stage: FailureStage,
    entry: ShardEntry,
    attempt: number,
    error: unknown,
    extra: Pick<FailureEvent, 'delayMs' | 'deadLetterTopic'> = {},
  ): void {
    if (this.#o.failureHook === undefined) return;
    const m = entry.message;
    const event: FailureEvent = {
      stage,
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key,
      shardKey: entry.key,
      attempt,
      error,
      groupId: this.#o.groupId,
      ...extra,
    };
    emitFailure(this.#o.failureHook, event, this.#o.logger);
  }
}

function at(m: Message): string {
  return `${m.topic}/${m.partition}@${m.offset}`;
}
