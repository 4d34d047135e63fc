import {
  ConfigCheck,
  silentLogger,
  sleep as coreSleep,
  type Backoff,
  type BackoffOptions,
  type Logger,
  type ProducerMiddleware,
  type TransportProducer,
} from '@tributary/core';
import { DEFAULT_RETRY, DEFAULT_SHARD_COUNT, DEFAULT_SHARD_QUEUE_SIZE, backoffOf, checkLogger, type SleepFn } from '../consumer-config';
import { checkMiddlewareList, checkTopicHandlers, type ResolvedTopicHandlers, type TopicHandlers } from '../handler-chain';

/**
 * How `produceAsync` records are sent:
 * - `'serial'`: one worker — records are sent one at a time, in call order.
 * - `'key-sharded'` (default): `shardCount` workers; a record's key picks its
 *   worker (FNV-1a hash), so records of one key are sent one at a time, in
 *   call order; keyless records are spread round-robin.
 * - `'parallel'`: `workerCount` workers, round-robin, no order.
 */
export type ProducerDispatchMode = 'serial' | 'key-sharded' | 'parallel';

/** What happens to a record once its retries are exhausted (or its error is permanent). */
export type ProducerExhaustedPolicy = 'block' | 'stop' | 'drop';

/**
 * - `'retry'`: a send failed and is retried after `delayMs`;
 * - `'exhausted'`: retries ran out (reported once; under `'block'` retries go on);
 * - `'stop'`: the call rejects with the exhausted error;
 * - `'drop'`: the call rejects with ProducerDroppedError (ERR_DROPPED).
 */
export type ProducerFailureStage = 'retry' | 'exhausted' | 'stop' | 'drop';

export interface ProducerFailureEvent {
  readonly stage: ProducerFailureStage;
  readonly topic: string;
  readonly key: string | null;
  /** The attempt that failed. */
  readonly attempt: number;
  readonly error: unknown;
  /** `'retry'` only. */
  readonly delayMs?: number;
}

/** Receives every producer failure event, synchronously; exceptions it throws are logged and ignored. */
export type ProducerFailureHook = (event: ProducerFailureEvent) => void;

/** Workers of the `'parallel'` mode unless configured (seed 003). */
export const DEFAULT_PRODUCER_WORKER_COUNT = 4;
/** How long `close()` waits for queued and in-flight records. */
export const DEFAULT_PRODUCER_DRAIN_TIMEOUT_MS = 30_000;

const MODES: readonly ProducerDispatchMode[] = ['serial', 'key-sharded', 'parallel'];
const POLICIES: readonly ProducerExhaustedPolicy[] = ['block', 'stop', 'drop'];

export interface ProducerDispatchConfig {
  /** Default `'key-sharded'`. */
  readonly mode?: ProducerDispatchMode;
  /** Workers of `'key-sharded'`. Default 32. */
  readonly shardCount?: number;
  /** Workers of `'parallel'`. Default 4. */
  readonly workerCount?: number;
  /** Records each worker queues before `produceAsync` waits for room. Default 1024. */
  readonly queueSize?: number;
}

export interface DispatchingProducerConfig {
  /** The transport producer to send with. Default: one created from the transport (and closed by `close`). */
  readonly producer?: TransportProducer;
  readonly clientId?: string;
  /** Topic of records that name none. */
  readonly defaultTopic?: string;
  readonly dispatch?: ProducerDispatchConfig;
  /** Middleware (core's ProducerMiddleware) for every topic, outermost first. */
  readonly globalHandlers?: readonly ProducerMiddleware[];
  /** Per-topic middleware, appended to or replacing `globalHandlers`. */
  readonly topicHandlers?: Readonly<Record<string, TopicHandlers<ProducerMiddleware>>>;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Add the logging middleware (outermost). Default true. */
  readonly loggingHandler?: boolean;
  /** Retry policy (core's Backoff). Default 100 ms → 30 s, ×2, full jitter, 3 attempts. */
  readonly retry?: BackoffOptions;
  /** Default `'stop'`. */
  readonly exhaustedPolicy?: ProducerExhaustedPolicy;
  readonly failureHook?: ProducerFailureHook;
  /** Bound on `close()` waiting for queued and in-flight records. Default 30 000 ms. */
  readonly drainTimeoutMs?: number;
  /** The sleep used for retry waits. Default: core's `sleep`. For tests. */
  readonly sleep?: SleepFn;
}

export interface ResolvedProducerConfig {
  readonly producer: TransportProducer | undefined;
  readonly clientId: string | undefined;
  readonly defaultTopic: string | undefined;
  readonly mode: ProducerDispatchMode;
  readonly shardCount: number;
  readonly workerCount: number;
  readonly queueSize: number;
  readonly globalHandlers: readonly ProducerMiddleware[];
  readonly topicHandlers: ReadonlyMap<string, ResolvedTopicHandlers<ProducerMiddleware>>;
  readonly logger: Logger;
  readonly loggingHandler: boolean;
  readonly retry: Backoff;
  readonly exhaustedPolicy: ProducerExhaustedPolicy;
  readonly failureHook: ProducerFailureHook | undefined;
  readonly drainTimeoutMs: number;
  readonly sleep: SleepFn;
}

/**
 * Applies the defaults, then checks every field of a producer config; returns
 * it resolved and frozen.
 *
 * @throws ConfigError (ERR_CONFIG) listing every invalid field at once.
 */
export function validateProducerConfig(config: DispatchingProducerConfig = {}): ResolvedProducerConfig {
  const check = new ConfigCheck('dispatching producer');
  if (typeof config !== 'object' || config === null) {
    check.problem('config', 'must be an object');
    check.throwIfInvalid();
  }
  const c = config as Partial<DispatchingProducerConfig>;
  const d = (c.dispatch ?? {}) as Partial<ProducerDispatchConfig>;
  if (typeof d !== 'object' || d === null) check.problem('dispatch', 'must be an object');
  const mode = d.mode ?? 'key-sharded';
  const shardCount = d.shardCount ?? DEFAULT_SHARD_COUNT;
  const workerCount = d.workerCount ?? DEFAULT_PRODUCER_WORKER_COUNT;
  const queueSize = d.queueSize ?? DEFAULT_SHARD_QUEUE_SIZE;
  const loggingHandler = c.loggingHandler ?? true;
  const exhaustedPolicy = c.exhaustedPolicy ?? 'stop';
  const drainTimeoutMs = c.drainTimeoutMs ?? DEFAULT_PRODUCER_DRAIN_TIMEOUT_MS;
  const sleep = c.sleep ?? coreSleep;
  check
    .oneOf(mode, 'dispatch.mode', MODES)
    .integer(shardCount, 'dispatch.shardCount', 1, 4_096)
    .integer(workerCount, 'dispatch.workerCount', 1, 4_096)
    .integer(queueSize, 'dispatch.queueSize', 1, 1_000_000)
    .oneOf(loggingHandler, 'loggingHandler', [true, false])
    .oneOf(exhaustedPolicy, 'exhaustedPolicy', POLICIES)
    .fn(c.failureHook, 'failureHook')
    .integer(drainTimeoutMs, 'drainTimeoutMs', 0, 2_147_483_647)
    .fn(sleep, 'sleep', false);
  if (c.defaultTopic !== undefined) check.nonEmptyString(c.defaultTopic, 'defaultTopic');
  if (c.clientId !== undefined) check.nonEmptyString(c.clientId, 'clientId');
  check.check(
    c.producer === undefined || typeof (c.producer as Partial<TransportProducer> | null)?.send === 'function',
    'producer',
    'must be a TransportProducer',
  );
  checkLogger(check, c.logger, 'logger');
  const globalHandlers = checkMiddlewareList<ProducerMiddleware>(check, c.globalHandlers, 'globalHandlers');
  const topicHandlers = checkTopicHandlers<ProducerMiddleware>(check, c.topicHandlers, 'topicHandlers');
  const retry = backoffOf(check, 'retry', DEFAULT_RETRY, c.retry);
  check.throwIfInvalid();
  return Object.freeze({
    producer: c.producer,
    clientId: c.clientId,
    defaultTopic: c.defaultTopic,
    mode,
    shardCount,
    workerCount,
    queueSize,
    globalHandlers,
    topicHandlers,
    logger: c.logger ?? silentLogger,
    loggingHandler,
    retry: retry as Backoff,
    exhaustedPolicy,
    failureHook: c.failureHook,
    drainTimeoutMs,
    sleep,
  });
}
