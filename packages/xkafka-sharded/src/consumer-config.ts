/**
 * Options of the sharded consumers: defaults, validation (every bad field in
 * one ConfigError, via core's ConfigCheck) and freezing. `validate…Config`
 * is what the constructors run; call it yourself to check a configuration
 * early (at start-up, in a test).
 */
import {
  Backoff,
  ConfigCheck,
  DEFAULT_BACKOFF,
  defaultDeadLetterTopic,
  silentLogger,
  sleep as coreSleep,
  type BackoffOptions,
  type HandlerMiddleware,
  type Logger,
  type Message,
  type TransportProducer,
} from '@tributary/core';
import type { ExhaustedPolicy, FailureHook } from './failure';
import { checkMiddlewareList, checkTopicHandlers, type ResolvedTopicHandlers, type TopicHandlers } from './handler-chain';
import { defaultKeyExtractor, type KeyExtractor } from './key-extractor';
import { MemoryOffsetStore, type OffsetStore } from './offset-store';
import type { ShardRouting } from './shard-router';

/** Shard workers per consumer unless configured (seed 003). */
export const DEFAULT_SHARD_COUNT = 32;
/** Records one shard holds (queued or parked) before the partitions feeding it pause (seed 003). */
export const DEFAULT_SHARD_QUEUE_SIZE = 1024;
/** `retry.maxAttempts` value that retries forever. */
export const INFINITE_RETRIES = Infinity;
/** Retry policy unless configured: core's DEFAULT_BACKOFF (100 ms → 30 s, ×2, full jitter, 3 attempts). */
export const DEFAULT_RETRY: Readonly<Required<BackoffOptions>> = DEFAULT_BACKOFF;
/** Partition consumer reconnect policy: 200 ms → 5 s, ×2, no jitter, forever (seed 003). */
export const DEFAULT_RECONNECT: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: 200,
  maxMs: 5_000,
  multiplier: 2,
  jitter: 'none',
  maxAttempts: Infinity,
});
/** How long a revocation or close waits for in-flight records. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** Completed records are committed (coalesced) at most this long after they complete. */
export const DEFAULT_COMMIT_INTERVAL_MS = 100;

const EXHAUSTED_POLICIES: readonly ExhaustedPolicy[] = ['block', 'dlq-commit', 'stop'];
const ROUTINGS: readonly ShardRouting[] = ['balanced', 'hash'];
const MAX_SHARDS = 4_096;
const MAX_TIMER_MS = 2_147_483_647;

/** Where dead-lettered records go (exhausted policy `'dlq-commit'`). */
export interface DlqConfig {
  /** Topic, or a function of the failed record. Default `<topic>.dlq`. */
  readonly topic?: string | ((message: Message) => string);
  /** Producer to publish with. Default: one the consumer creates from its transport, and closes. */
  readonly producer?: TransportProducer;
}

/** A sleep the consumer waits with (retry and reconnect backoff); injectable for deterministic tests. */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Options both sharded consumers share. See the README for the full table. */
export interface ShardedConsumerOptions {
  /** Shard workers. Default 32. */
  readonly shardCount?: number;
  /** Records a shard holds before it pauses the partitions feeding it. Default 1024. */
  readonly shardQueueSize?: number;
  /** How keys are spread over shards. Default `'balanced'`. */
  readonly routing?: ShardRouting;
  /** The ordering key of a record. Default: the record key (keyless records: their partition). */
  readonly keyExtractor?: KeyExtractor;
  /** Middleware around the handler for every topic, outermost first. */
  readonly globalHandlers?: readonly HandlerMiddleware[];
  /** Default: silent. pino fits. */
  readonly logger?: Logger;
  /** Add the logging middleware (outermost). Default true. */
  readonly loggingHandler?: boolean;
  /** Retry policy (core's Backoff). Default 100 ms → 30 s, ×2, full jitter, 3 attempts; `maxAttempts: Infinity` retries forever. */
  readonly retry?: BackoffOptions;
  /** What happens once retries are exhausted. Default `'block'`. */
  readonly exhaustedPolicy?: ExhaustedPolicy;
  /** Dead-letter destination for `'dlq-commit'`. */
  readonly dlq?: DlqConfig;
  /** Receives every retry / exhausted / dlq / stop event. */
  readonly failureHook?: FailureHook;
  /** While a key retries, park only that key: its later records wait, other keys of its shard go on. Default false. */
  readonly parkKey?: boolean;
  /** Bound on waiting for in-flight records at revocation and close. Default 10 000 ms. */
  readonly drainTimeoutMs?: number;
  /** Most delay between completing records and committing them. Default 100 ms. */
  readonly commitIntervalMs?: number;
  /** Most records per batch the transport delivers. Default: the transport's. */
  readonly maxBatchRecords?: number;
  readonly clientId?: string;
  /** Non-fatal errors (commit failures, transport errors) and the fatal one that stopped the consumer. */
  readonly onError?: (error: unknown) => void;
  /** The sleep used for backoff waits. Default: core's `sleep`. For tests. */
  readonly sleep?: SleepFn;
}

/** Options of a sharded group consumer. */
export interface GroupConsumerConfig extends ShardedConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Per-topic middleware, appended to or replacing `globalHandlers`. */
  readonly topicHandlers?: Readonly<Record<string, TopicHandlers<HandlerMiddleware>>>;
  /** Start from the earliest offset when the group has no commit. Default true. */
  readonly fromBeginning?: boolean;
  /** Passed to the transport: how long revocation may take before partitions move anyway. */
  readonly rebalanceTimeoutMs?: number;
}

/** Options of a sharded partition consumer (one topic-partition, no group). */
export interface PartitionConsumerConfig extends ShardedConsumerOptions {
  readonly topic: string;
  readonly partition: number;
  /** Where the next offset is loaded from and saved to. Default: a new MemoryOffsetStore. */
  readonly offsetStore?: OffsetStore;
  /** Where to start when the store has no offset. Default `'earliest'`. */
  readonly initialOffset?: number | 'earliest' | 'latest';
  /** Backoff between reconnects. Default 200 ms → 5 s, ×2, no jitter, forever. */
  readonly reconnect?: BackoffOptions;
}

/** The shared options after defaults and validation. */
export interface ResolvedShardedOptions {
  readonly shardCount: number;
  readonly shardQueueSize: number;
  readonly routing: ShardRouting;
  readonly keyExtractor: KeyExtractor;
  readonly globalHandlers: readonly HandlerMiddleware[];
  readonly logger: Logger;
  readonly loggingHandler: boolean;
  readonly retry: Backoff;
  readonly exhaustedPolicy: ExhaustedPolicy;
  readonly dlqTopic: ((message: Message) => string) | undefined;
  readonly dlqProducer: TransportProducer | undefined;
  readonly failureHook: FailureHook | undefined;
  readonly parkKey: boolean;
  readonly drainTimeoutMs: number;
  readonly commitIntervalMs: number;
  readonly maxBatchRecords: number | undefined;
  readonly clientId: string | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
  readonly sleep: SleepFn;
}

export interface ResolvedGroupConsumerConfig extends ResolvedShardedOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly topicHandlers: ReadonlyMap<string, ResolvedTopicHandlers<HandlerMiddleware>>;
  readonly fromBeginning: boolean;
  readonly rebalanceTimeoutMs: number | undefined;
}

export interface ResolvedPartitionConsumerConfig extends ResolvedShardedOptions {
  readonly topic: string;
  readonly partition: number;
  readonly offsetStore: OffsetStore;
  readonly initialOffset: number | 'earliest' | 'latest';
  readonly reconnect: Backoff;
}

/**
 * Applies the defaults, then checks every field of a group consumer config;
 * returns it resolved and frozen.
 *
 * @throws ConfigError (ERR_CONFIG) listing every invalid field at once.
 */
export function validateGroupConsumerConfig(config: GroupConsumerConfig): ResolvedGroupConsumerConfig {
  const check = new ConfigCheck('sharded group consumer');
  const c = requireObject(check, config) as Partial<GroupConsumerConfig>;
  check.nonEmptyString(c.groupId, 'groupId');
  const topicsOk = Array.isArray(c.topics) && c.topics.length > 0 && c.topics.every((t) => typeof t === 'string' && t.length > 0);
  check.check(topicsOk, 'topics', 'must be a non-empty array of non-empty topic names');
  const topics = topicsOk ? Object.freeze([...(c.topics as string[])]) : Object.freeze([]);
  const shared = checkShared(check, c);
  const topicHandlers = checkTopicHandlers<HandlerMiddleware>(check, c.topicHandlers, 'topicHandlers', topicsOk ? topics : undefined);
  const fromBeginning = c.fromBeginning ?? true;
  check.oneOf(fromBeginning, 'fromBeginning', [true, false]);
  if (c.rebalanceTimeoutMs !== undefined) check.integer(c.rebalanceTimeoutMs, 'rebalanceTimeoutMs', 0, MAX_TIMER_MS);
  check.throwIfInvalid();
  // Shallow freeze: the logger, producer, store and functions stay the caller's objects (lists are frozen copies).
  return Object.freeze({
    ...shared,
    groupId: c.groupId as string,
    topics,
    topicHandlers,
    fromBeginning,
    rebalanceTimeoutMs: c.rebalanceTimeoutMs,
  });
}

/**
 * Applies the defaults, then checks every field of a partition consumer
 * config; returns it resolved and frozen.
 *
 * @throws ConfigError (ERR_CONFIG) listing every invalid field at once.
 */
export function validatePartitionConsumerConfig(config: PartitionConsumerConfig): ResolvedPartitionConsumerConfig {
  const check = new ConfigCheck('sharded partition consumer');
  const c = requireObject(check, config) as Partial<PartitionConsumerConfig>;
  check.nonEmptyString(c.topic, 'topic');
  check.integer(c.partition, 'partition', 0);
  const shared = checkShared(check, c);
  const offsetStore = c.offsetStore ?? new MemoryOffsetStore();
  check.check(
    typeof offsetStore?.load === 'function' && typeof offsetStore.save === 'function',
    'offsetStore',
    'must be an OffsetStore (load and save functions)',
  );
  const initialOffset = c.initialOffset ?? 'earliest';
  check.check(
    initialOffset === 'earliest' || initialOffset === 'latest' || (Number.isSafeInteger(initialOffset) && initialOffset >= 0),
    'initialOffset',
    `must be 'earliest', 'latest' or an offset ≥ 0 (got ${String(initialOffset)})`,
  );
  const reconnect = backoffOf(check, 'reconnect', DEFAULT_RECONNECT, c.reconnect);
  check.throwIfInvalid();
  return Object.freeze({
    ...shared,
    topic: c.topic as string,
    partition: c.partition as number,
    offsetStore,
    initialOffset,
    reconnect: reconnect as Backoff,
  });
}

function requireObject(check: ConfigCheck, config: unknown): object {
  if (typeof config === 'object' && config !== null) return config;
  check.problem('config', 'must be an object');
  check.throwIfInvalid();
  return {};
}

/** Builds a Backoff from `defaults` overridden by the given fields, recording its problems under `field.`. */
export function backoffOf(
  check: ConfigCheck,
  field: string,
  defaults: Readonly<Required<BackoffOptions>>,
  given: BackoffOptions | undefined,
): Backoff | undefined {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    check.problem(field, 'must be an object');
    return undefined;
  }
  // Only given fields override: an explicit undefined keeps the default.
  const set = Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined));
  return check.nested(field, () => new Backoff({ ...defaults, ...set }));
}

/** A logger must have pino's level methods and `child`. */
export function checkLogger(check: ConfigCheck, logger: unknown, field: string): void {
  if (logger === undefined) return;
  const l = logger as Record<string, unknown> | null;
  const ok = typeof l === 'object' && l !== null && ['trace', 'debug', 'info', 'warn', 'error', 'child'].every((m) => typeof l[m] === 'function');
  check.check(ok, field, 'must be a Logger (trace, debug, info, warn, error and child functions)');
}

function checkShared(check: ConfigCheck, c: Partial<ShardedConsumerOptions>): ResolvedShardedOptions {
  const shardCount = c.shardCount ?? DEFAULT_SHARD_COUNT;
  const shardQueueSize = c.shardQueueSize ?? DEFAULT_SHARD_QUEUE_SIZE;
  const routing = c.routing ?? 'balanced';
  const keyExtractor = c.keyExtractor ?? defaultKeyExtractor;
  const loggingHandler = c.loggingHandler ?? true;
  const exhaustedPolicy = c.exhaustedPolicy ?? 'block';
  const parkKey = c.parkKey ?? false;
  const drainTimeoutMs = c.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const commitIntervalMs = c.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
  const sleep = c.sleep ?? coreSleep;
  check
    .integer(shardCount, 'shardCount', 1, MAX_SHARDS)
    .integer(shardQueueSize, 'shardQueueSize', 1, 1_000_000)
    .oneOf(routing, 'routing', ROUTINGS)
    .fn(keyExtractor, 'keyExtractor', false)
    .oneOf(loggingHandler, 'loggingHandler', [true, false])
    .oneOf(exhaustedPolicy, 'exhaustedPolicy', EXHAUSTED_POLICIES)
    .fn(c.failureHook, 'failureHook')
    .oneOf(parkKey, 'parkKey', [true, false])
    .integer(drainTimeoutMs, 'drainTimeoutMs', 0, MAX_TIMER_MS)
    .integer(commitIntervalMs, 'commitIntervalMs', 0, MAX_TIMER_MS)
    .fn(c.onError, 'onError')
    .fn(sleep, 'sleep', false);
  if (c.maxBatchRecords !== undefined) check.integer(c.maxBatchRecords, 'maxBatchRecords', 1, 1_000_000);
  if (c.clientId !== undefined) check.nonEmptyString(c.clientId, 'clientId');
  checkLogger(check, c.logger, 'logger');
  const globalHandlers = checkMiddlewareList<HandlerMiddleware>(check, c.globalHandlers, 'globalHandlers');
  const retry = backoffOf(check, 'retry', DEFAULT_RETRY, c.retry);

  let dlqTopic: ((message: Message) => string) | undefined;
  let dlqProducer: TransportProducer | undefined;
  const dlq = c.dlq as DlqConfig | undefined | null;
  if (dlq !== undefined) {
    if (typeof dlq !== 'object' || dlq === null) {
      check.problem('dlq', 'must be an object { topic?, producer? }');
    } else {
      const t = dlq.topic;
      if (t === undefined) dlqTopic = defaultDeadLetterTopic;
      else if (typeof t === 'string' && t.length > 0) dlqTopic = () => t;
      else if (typeof t === 'function') dlqTopic = t;
      else check.problem('dlq.topic', 'must be a non-empty string or a function of the record');
      const p = dlq.producer;
      check.check(p === undefined || typeof (p as Partial<TransportProducer>)?.send === 'function', 'dlq.producer', 'must be a TransportProducer');
      dlqProducer = p;
    }
  }
  // The dead-letter topic defaults to `<topic>.dlq` when the policy needs one.
  if (exhaustedPolicy === 'dlq-commit' && dlqTopic === undefined && dlq === undefined) dlqTopic = defaultDeadLetterTopic;

  return {
    shardCount,
    shardQueueSize,
    routing,
    keyExtractor,
    globalHandlers,
    logger: c.logger ?? silentLogger,
    loggingHandler,
    retry: retry as Backoff,
    exhaustedPolicy,
    dlqTopic,
    dlqProducer,
    failureHook: c.failureHook,
    parkKey,
    drainTimeoutMs,
    commitIntervalMs,
    maxBatchRecords: c.maxBatchRecords,
    clientId: c.clientId,
    onError: c.onError,
    sleep,
  };
}
