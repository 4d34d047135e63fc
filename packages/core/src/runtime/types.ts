import type { BackoffOptions } from '../backoff';
import type { Logger } from '../logger';
import type { Message } from '../message';
import type { TransportProducer } from '../transport';
import type { BatchHandler, MessageHandler } from '../handler';

/**
 * How many records a consumer may dead-letter in a sliding window. A burst of
 * dead-letters usually means something systemic (a bad deploy, an outage the
 * handler misclassifies), and a topic drained into its dead-letter topic is
 * costly to clean up: past the limit the consumer stops instead.
 */
export interface DeadLetterRateLimit {
  /** Most records dead-lettered within any `windowMs`. Default 1 000. */
  readonly max?: number;
  /** Length of the sliding window in ms. Default 60 000. */
  readonly windowMs?: number;
}

/** Where records that cannot be processed go. */
export interface DeadLetterOptions {
  /** Topic, or a function of the failed record. Default `<topic>.dlq`. */
  readonly topic?: string | ((message: Message) => string);
  /** Producer to publish with. Default: one the consumer creates from its transport (and closes). */
  readonly producer?: TransportProducer;
  /**
   * At most `max` dead-letters per `windowMs` for this consumer (all its
   * partitions together). Default 1 000 per 60 s; `false` turns the limit off.
   * The record that would exceed it is neither dead-lettered nor committed:
   * the consumer stops with ERR_DEAD_LETTER_RATE (`wait()` rejects,
   * `onError` is called) and the record is delivered again after a restart.
   */
  readonly rateLimit?: DeadLetterRateLimit | false;
}

/** What the stall watchdog reports about a partition whose work runs too long. */
export interface StallInfo {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** The first record of the running work not yet done: no offset at or after it commits until it is. */
  readonly offset: number;
  /** How long the work has been running, in ms. */
  readonly runningMs: number;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Start from the earliest offset when the group has no commit. Default true. */
  readonly fromBeginning?: boolean;
  /** A batch closes at `maxRecords` records or `maxWaitMs` after its first record. Defaults 500 / 20 ms (seed 000). */
  readonly batch?: { readonly maxRecords?: number; readonly maxWaitMs?: number };
  /**
   * Retry of failed records with exponential backoff and jitter. Default: 3
   * retries (4 attempts), 1 s → 30 s (seed 000). Permanent errors
   * (isPermanentError) are not retried. `false` disables retries.
   */
  readonly retry?: BackoffOptions | false;
  /**
   * Where records go once retries are exhausted or the error is permanent.
   * Without it (default false) such a record stops the consumer with its error
   * and is not committed: nothing is lost, nothing skipped.
   */
  readonly deadLetter?: DeadLetterOptions | false;
  /** How long stop() and a revocation wait for in-flight work. Default 10 s. */
  readonly drainTimeoutMs?: number;
  /**
   * The stall watchdog: work of a partition — a record handler call with its
   * retries and backoff, or a batch handler call with its retries — running
   * longer than this many ms holds back every later commit of the partition.
   * It is logged once (`warn`, naming group, topic, partition, offset and how
   * long it has run), counted in `metrics().stalls` and passed to `onStall`;
   * when it finishes, an `info` log says so. The work is never aborted: slow
   * can be legitimate. Default 30 000; `false` or 0 disables.
   */
  readonly stallWarningMs?: number | false;
  /** Called once per stalled piece of work (see `stallWarningMs`). Must not throw (a throw is logged and ignored). */
  readonly onStall?: (info: StallInfo) => void;
  readonly logger?: Logger;
  readonly clientId?: string;
  /** Called with a fatal error (the consumer has stopped) or a non-fatal transport error. */
  readonly onError?: (error: unknown) => void;
}

/** Seed 000's consumer metrics. */
export interface ConsumerMetrics {
  readonly processed: number;
  readonly failed: number;
  readonly deadLettered: number;
  readonly retries: number;
  readonly batches: number;
  readonly batchesFailed: number;
  /** Sum of handler latencies in ms (per batch for batch handlers). */
  readonly totalLatencyMs: number;
  /** Epoch ms of the last processed record, or undefined. */
  readonly lastProcessedAt: number | undefined;
  /** Handler calls (with their retries) the stall watchdog reported as running longer than stallWarningMs. */
  readonly stalls: number;
}

/**
 * A consumer with a managed lifecycle (seed 001's ManagedConsumer).
 */
export interface Consumer {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Starts consuming records one at a time (in order per partition). Resolves once running. */
  start(handler: MessageHandler): Promise<void>;
  /** Starts consuming batches (per partition, in order) with per-record outcomes. */
  startBatch(handler: BatchHandler): Promise<void>;
  /**
   * Stops fetching, waits up to drainTimeoutMs for in-flight work, commits
   * what was processed, then leaves the group. Idempotent.
   */
  stop(): Promise<void>;
  isRunning(): boolean;
  /** Resolves when the consumer has stopped; rejects with the error that stopped it, if any. */
  wait(): Promise<void>;
  metrics(): ConsumerMetrics;
}
