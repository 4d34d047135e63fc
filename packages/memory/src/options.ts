/**
 * Options of the memory transport and its components: defaults, validation
 * (every bad field in one ConfigError, via core's ConfigCheck) and freezing;
 * plus the same kind of checks for call arguments (handlers, offsets).
 */
import {
  ConfigCheck,
  ConfigError,
  silentLogger,
  type GroupConsumerOptions,
  type Logger,
  type PartitionConsumerOptions,
  type ProducerOptions,
  type StartOffset,
} from '@tributary/core';
import type { MemoryBroker } from './broker';

/** 2 MiB: the default `maxRecordBytes`. */
export const DEFAULT_MAX_RECORD_BYTES = 2 * 1024 * 1024;
/** Most records per delivered batch unless a consumer says otherwise. */
export const DEFAULT_MAX_BATCH_RECORDS = 500;
/** How long `onRevoked` (plus the drain before it) may take by default. */
export const DEFAULT_REBALANCE_TIMEOUT_MS = 30_000;
/** How long a partition consumer's `close()` waits for its in-flight `onBatch` by default (as long as a group member's). */
export const DEFAULT_CLOSE_TIMEOUT_MS = DEFAULT_REBALANCE_TIMEOUT_MS;

const MAX_PARTITIONS = 10_000;
const MAX_TIMER_MS = 2_147_483_647;

/** Settings of one in-process broker (Kafka's broker configs of the same meaning in brackets). */
export interface MemoryBrokerOptions {
  /**
   * Records whose key + value + header bytes exceed this fail with
   * ERR_RECORD_TOO_LARGE (`message.max.bytes`). Default 2 MiB.
   */
  readonly maxRecordBytes?: number;
  /**
   * Create a missing topic when a record is sent to it (`auto.create.topics.enable`).
   * Default false: the record fails with ERR_UNKNOWN_TOPIC.
   */
  readonly autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic (`num.partitions`). Default 1. */
  readonly defaultPartitions?: number;
}

/** Options of `memory()`. */
export interface MemoryTransportOptions extends MemoryBrokerOptions {
  /**
   * Use this broker instead of a new private one, so several transports (two
   * "processes" in a test) see the same topics, groups and offsets. The
   * broker's own settings apply: passing `maxRecordBytes`, `autoCreateTopics`
   * or `defaultPartitions` together with `broker` is a config error.
   */
  readonly broker?: MemoryBroker;
  /** Logger for every component this transport creates (unless a component gets its own). Default: silent. */
  readonly logger?: Logger;
}

/** Broker settings after defaults. */
export interface ResolvedBrokerOptions {
  readonly maxRecordBytes: number;
  readonly autoCreateTopics: boolean;
  readonly defaultPartitions: number;
}

export interface ResolvedProducerOptions {
  readonly clientId: string;
  readonly logger: Logger;
}

export interface ResolvedGroupConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly maxBatchRecords: number;
  readonly clientId: string;
  readonly logger: Logger;
  readonly rebalanceTimeoutMs: number;
}

export interface ResolvedPartitionConsumerOptions {
  readonly topic: string;
  readonly partition: number;
  readonly from: number | StartOffset;
  readonly maxBatchRecords: number;
  readonly clientId: string;
  readonly logger: Logger;
  readonly closeTimeoutMs: number;
}

const BROKER_KEYS = ['maxRecordBytes', 'autoCreateTopics', 'defaultPartitions'] as const;

/** Checks broker settings into `check` and returns them with defaults applied. */
export function checkBrokerOptions(check: ConfigCheck, options: MemoryBrokerOptions): ResolvedBrokerOptions {
  const resolved = {
    maxRecordBytes: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    autoCreateTopics: options.autoCreateTopics ?? false,
    defaultPartitions: options.defaultPartitions ?? 1,
  };
  check.integer(resolved.maxRecordBytes, 'maxRecordBytes', 1, MAX_TIMER_MS);
  check.oneOf(resolved.autoCreateTopics, 'autoCreateTopics', [true, false]);
  check.integer(resolved.defaultPartitions, 'defaultPartitions', 1, MAX_PARTITIONS);
  return Object.freeze(resolved);
}

/** Validates `memory()` options except `broker`'s type, which the caller checks (it owns the class). */
export function checkTransportOptions(
  check: ConfigCheck,
  options: MemoryTransportOptions,
): { readonly broker: ResolvedBrokerOptions; readonly logger: Logger } {
  rejectUnknownKeys(check, options, [...BROKER_KEYS, 'broker', 'logger']);
  if (options.broker !== undefined) {
    for (const key of BROKER_KEYS) {
      if (options[key] !== undefined) check.problem(key, 'cannot be combined with broker (set it on the MemoryBroker)');
    }
  }
  checkLogger(check, options.logger, 'logger');
  return { broker: checkBrokerOptions(check, options), logger: options.logger ?? silentLogger };
}

export function resolveProducerOptions(options: ProducerOptions, parentLogger: Logger, seq: number): ResolvedProducerOptions {
  requireObject('memory producer', options);
  const check = new ConfigCheck('memory producer');
  rejectUnknownKeys(check, options, ['clientId', 'logger']);
  checkClientId(check, options.clientId);
  checkLogger(check, options.logger, 'logger');
  check.throwIfInvalid();
  const clientId = options.clientId ?? `memory-producer-${seq}`;
  return Object.freeze({ clientId, logger: options.logger ?? parentLogger.child({ clientId }) });
}

export function resolveGroupConsumerOptions(
  options: GroupConsumerOptions,
  parentLogger: Logger,
  seq: number,
): ResolvedGroupConsumerOptions {
  requireObject('memory group consumer', options);
  const check = new ConfigCheck('memory group consumer');
  rejectUnknownKeys(check, options, [
    'groupId',
    'topics',
    'fromBeginning',
    'maxBatchRecords',
    'clientId',
    'logger',
    'rebalanceTimeoutMs',
  ]);
  check.nonEmptyString(options.groupId, 'groupId');
  const topics: unknown = options.topics;
  if (!Array.isArray(topics) || topics.length === 0) {
    check.problem('topics', 'must be a non-empty array of topic names');
  } else {
    topics.forEach((t: unknown, i) => check.nonEmptyString(t, `topics[${i}]`));
  }
  check.oneOf(options.fromBeginning ?? true, 'fromBeginning', [true, false]);
  check.integer(options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS, 'maxBatchRecords', 1, 1_000_000);
  check.integer(options.rebalanceTimeoutMs ?? DEFAULT_REBALANCE_TIMEOUT_MS, 'rebalanceTimeoutMs', 1, MAX_TIMER_MS);
  checkClientId(check, options.clientId);
  checkLogger(check, options.logger, 'logger');
  check.throwIfInvalid();
  const clientId = options.clientId ?? `memory-consumer-${seq}`;
  return Object.freeze({
    groupId: options.groupId,
    topics: Object.freeze([...new Set(options.topics)]),
    fromBeginning: options.fromBeginning ?? true,
    maxBatchRecords: options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
    clientId,
    logger: options.logger ?? parentLogger.child({ clientId, groupId: options.groupId }),
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? DEFAULT_REBALANCE_TIMEOUT_MS,
  });
}

export function resolvePartitionConsumerOptions(
  options: PartitionConsumerOptions,
  parentLogger: Logger,
  seq: number,
): ResolvedPartitionConsumerOptions {
  requireObject('memory partition consumer', options);
  const check = new ConfigCheck('memory partition consumer');
  rejectUnknownKeys(check, options, ['topic', 'partition', 'from', 'maxBatchRecords', 'clientId', 'logger', 'closeTimeoutMs']);
  check.nonEmptyString(options.topic, 'topic');
  check.integer(options.partition, 'partition', 0);
  const from: unknown = options.from;
  check.check(
    from === 'earliest' || from === 'latest' || (typeof from === 'number' && Number.isSafeInteger(from) && from >= 0),
    'from',
    `must be a non-negative integer offset, "earliest" or "latest" (got ${JSON.stringify(from) ?? 'undefined'})`,
  );
  check.integer(options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS, 'maxBatchRecords', 1, 1_000_000);
  // Same range as a group member's rebalanceTimeoutMs, which bounds its close the same way.
  // The same range as the kafka transport's: 0 (do not wait) to one hour.
  check.integer(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs', 0, 3_600_000);
  checkClientId(check, options.clientId);
  checkLogger(check, options.logger, 'logger');
  check.throwIfInvalid();
  const clientId = options.clientId ?? `memory-partition-consumer-${seq}`;
  return Object.freeze({
    topic: options.topic,
    partition: options.partition,
    from: options.from,
    maxBatchRecords: options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
    clientId,
    logger: options.logger ?? parentLogger.child({ clientId, topic: options.topic, partition: options.partition }),
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
  });
}

/** Kafka's topic name rule: 1–249 of `[a-zA-Z0-9._-]`, and not "." or "..". */
export function topicNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > 249) return 'must be at most 249 characters';
  if (name === '.' || name === '..') return 'cannot be "." or ".."';
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `may contain only ASCII letters, digits, ".", "_" and "-" (got ${JSON.stringify(name)})`;
  return undefined;
}

/** Partition counts the broker accepts. */
export function checkPartitionCount(check: ConfigCheck, value: unknown, field: string): void {
  check.integer(value, field, 1, MAX_PARTITIONS);
}

export function rejectUnknownKeys(check: ConfigCheck, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) check.problem(key, `is not a known option (known: ${known.join(', ')})`);
  }
}

/** Options that are not an object at all cannot be checked field by field. */
export function requireObject(component: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(component, [{ field: 'options', message: 'must be an object' }]);
  }
}

function checkClientId(check: ConfigCheck, clientId: unknown): void {
  if (clientId !== undefined) check.nonEmptyString(clientId, 'clientId');
}

const LOGGER_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'child'] as const;

function checkLogger(check: ConfigCheck, logger: unknown, field: string): void {
  if (logger === undefined) return;
  const ok =
    typeof logger === 'object' &&
    logger !== null &&
    LOGGER_METHODS.every((m) => typeof (logger as Record<string, unknown>)[m] === 'function');
  check.check(ok, field, `must be a logger with ${LOGGER_METHODS.join(', ')} methods`);
}

/** Validates handlers passed to `run`. */
export function checkHandlers(component: string, handlers: unknown, callbacks: readonly string[]): void {
  const check = new ConfigCheck(component);
  if (typeof handlers !== 'object' || handlers === null) {
    check.problem('handlers', 'must be an object with an onBatch function');
  } else {
    const h = handlers as Record<string, unknown>;
    check.fn(h.onBatch, 'onBatch', false);
    for (const name of callbacks) check.fn(h[name], name);
  }
  check.throwIfInvalid();
}

/** Validates an offset argument (seek, commit): a non-negative safe integer. */
export function checkOffset(check: ConfigCheck, offset: unknown, field: string): void {
  check.check(
    typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0,
    field,
    `must be a non-negative integer offset (got ${String(offset)})`,
  );
}
