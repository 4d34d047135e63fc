import type { BackoffOptions } from '../backoff';
import type { Logger } from '../logger';
import type { Message } from '../message';
import type { TransportProducer } from '../transport';
import type { BatchHandler, MessageHandler } from '../handler';

/** Where records that cannot be processed go. */
export interface DeadLetterOptions {
  /** Topic, or a function of the failed record. Default `<topic>.dlq`. */
  readonly topic?: string | ((message: Message) => string);
  /** Producer to publish with. Default: one the consumer creates from its transport (and closes). */
  readonly producer?: TransportProducer;
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
