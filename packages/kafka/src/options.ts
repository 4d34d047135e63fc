/**
 * Options of `kafka(config)` and of the clients it creates: defaults →
 * validate everything (one ConfigError naming every bad field) → freeze. Also
 * builds the librdkafka configuration of each client from them.
 */
import {
  ConfigCheck,
  freezeOptions,
  silentLogger,
  type ConsumerHandlers,
  type GroupConsumerOptions,
  type Logger,
  type PartitionConsumerOptions,
  type ProducerOptions,
} from '@tributary/core';
import { createNativeConsumer, createNativeProducer, type NativeConfig } from './native';

/** A librdkafka property value. */
export type RdKafkaValue = string | number | boolean;

/** librdkafka properties by name, e.g. `{ 'linger.ms': 10, 'compression.type': 'zstd' }`. */
export type RdKafkaProperties = Readonly<Record<string, RdKafkaValue>>;

/**
 * librdkafka properties passed through as they are, for experts (see
 * librdkafka's CONFIGURATION.md). Applied last, so they override Tributary's
 * defaults — except the few the transport contract depends on (see
 * `RESERVED_PROPERTIES`), which are rejected.
 */
export interface KafkaRdKafkaOptions {
  /** For every client. */
  readonly global?: RdKafkaProperties;
  readonly producer?: RdKafkaProperties;
  /** For group and partition consumers. */
  readonly consumer?: RdKafkaProperties;
  readonly admin?: RdKafkaProperties;
}

export interface KafkaSaslOptions {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface KafkaProducerSettings {
  /**
   * Idempotent producer: acks=all, no duplicates or reordering from retries.
   * Default true. With false, acks=all still holds unless overridden in `rdkafka.producer`.
   */
  readonly idempotent?: boolean;
  /**
   * How long to wait to fill a batch (librdkafka `linger.ms`). Default 1: an
   * awaited single send is not held back for long, and batched sends still
   * fill (librdkafka's own default of 5 ms put a 5 ms floor under every awaited send).
   */
  readonly lingerMs?: number;
  /**
   * How long a record may take from `send` to the broker's acknowledgement,
   * retries included, before it fails alone with ERR_TIMEOUT (retriable)
   * (librdkafka `message.timeout.ms`; Java's `delivery.timeout.ms`). Default
   * 120 000, Java's default: librdkafka's own 300 000 leaves a send to a
   * partition without enough in-sync replicas waiting five minutes. Must be
   * greater than `lingerMs`.
   */
  readonly deliveryTimeoutMs?: number;
  /** Batch compression. Default 'none'. */
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

export interface KafkaConsumerSettings {
  /** Group session timeout (librdkafka `session.timeout.ms`). Default 45 000. */
  readonly sessionTimeoutMs?: number;
  /** Group heartbeat interval; also how fast a member notices a rebalance. Default 3 000. */
  readonly heartbeatIntervalMs?: number;
}

/** Configuration of `kafka(config)`. */
export interface KafkaConfig {
  /** Bootstrap brokers: `'host:port,host:port'` or `['host:port', …]`. Required. */
  readonly brokers: string | readonly string[];
  /** Client id shown to the broker (per-client `clientId` options override it). Default 'tributary'. */
  readonly clientId?: string;
  /** Receives Tributary's and librdkafka's logs. Default: silent. */
  readonly logger?: Logger;
  /** How long connecting may take before ERR_CONNECTION (or ERR_AUTHENTICATION). Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Timeout of admin requests and of a commit's acknowledgement. Default 30 000. */
  readonly requestTimeoutMs?: number;
  /**
   * Largest record (key + value + header bytes) a producer accepts; larger
   * ones fail alone with ERR_RECORD_TOO_LARGE. The broker's (or topic's)
   * `max.message.bytes` still applies. Default 1 048 576 (1 MiB).
   */
  readonly maxRecordBytes?: number;
  /** Connect with TLS. Default false. */
  readonly ssl?: boolean;
  /** SASL authentication (over TLS when `ssl` is true). */
  readonly sasl?: KafkaSaslOptions;
  readonly producer?: KafkaProducerSettings;
  readonly consumer?: KafkaConsumerSettings;
  readonly rdkafka?: KafkaRdKafkaOptions;
}

/** Defaults of `kafka(config)`. */
export const KAFKA_DEFAULTS = Object.freeze({
  clientId: 'tributary',
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxRecordBytes: 1_048_576,
  idempotent: true,
  lingerMs: 1,
  deliveryTimeoutMs: 120_000,
  compression: 'none' as const,
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 3_000,
  maxBatchRecords: 500,
  rebalanceTimeoutMs: 30_000,
  closeTimeoutMs: 30_000,
});

/**
 * librdkafka properties the transport sets itself because its contract
 * depends on them (no auto-commit, manual offsets, its own rebalance and
 * delivery callbacks, the brokers and group given through options).
 */
export const RESERVED_PROPERTIES: ReadonlySet<string> = new Set([
  'bootstrap.servers',
  'metadata.broker.list',
  'group.id',
  'enable.auto.commit',
  'enable.auto.offset.store',
  'enable.partition.eof',
  'rebalance_cb',
  'offset_commit_cb',
  'dr_cb',
  'dr_msg_cb',
  'queue_non_empty_cb',
  'event_cb',
]);

/** Room for librdkafka's per-record framing on top of `maxRecordBytes` (36 bytes of varints and up to 10 per header). */
const RECORD_FRAMING_ALLOWANCE = 4_096;

export interface ResolvedKafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxRecordBytes: number;
  readonly ssl: boolean;
  readonly sasl: KafkaSaslOptions | undefined;
  readonly idempotent: boolean;
  readonly lingerMs: number;
  readonly deliveryTimeoutMs: number;
  readonly compression: NonNullable<KafkaProducerSettings['compression']>;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rdkafka: Required<{ [K in keyof KafkaRdKafkaOptions]: RdKafkaProperties }>;
}

const MAX_MS = 3_600_000;
const EMPTY: RdKafkaProperties = Object.freeze({});

/** Validates `kafka(config)` options: every problem in one ConfigError. */
export function resolveKafkaConfig(config: KafkaConfig): ResolvedKafkaConfig {
  const check = new ConfigCheck('kafka transport');
  if (typeof config !== 'object' || config === null) {
    check.problem('config', 'must be an object with at least `brokers`');
    check.throwIfInvalid();
  }
  const brokers = parseBrokers(check, config.brokers);
  if (config.clientId !== undefined) check.nonEmptyString(config.clientId, 'clientId');
  const connectTimeoutMs = config.connectTimeoutMs ?? KAFKA_DEFAULTS.connectTimeoutMs;
  check.integer(connectTimeoutMs, 'connectTimeoutMs', 1, MAX_MS);
  const requestTimeoutMs = config.requestTimeoutMs ?? KAFKA_DEFAULTS.requestTimeoutMs;
  check.integer(requestTimeoutMs, 'requestTimeoutMs', 1, MAX_MS);
  const maxRecordBytes = config.maxRecordBytes ?? KAFKA_DEFAULTS.maxRecordBytes;
  check.integer(maxRecordBytes, 'maxRecordBytes', 1, 1_000_000_000 - RECORD_FRAMING_ALLOWANCE);
  if (config.ssl !== undefined) check.check(typeof config.ssl === 'boolean', 'ssl', 'must be a boolean');
  if (config.sasl !== undefined) {
    const sasl: Partial<KafkaSaslOptions> | null = config.sasl;
    if (typeof sasl !== 'object' || sasl === null) check.problem('sasl', 'must be an object { mechanism, username, password }');
    else {
      check.oneOf(sasl.mechanism, 'sasl.mechanism', ['plain', 'scram-sha-256', 'scram-sha-512']);
      check.check(typeof sasl.username === 'string', 'sasl.username', 'must be a string');
      check.check(typeof sasl.password === 'string', 'sasl.password', 'must be a string');
    }
  }
  const producer = config.producer ?? {};
  const idempotent = producer.idempotent ?? KAFKA_DEFAULTS.idempotent;
  check.check(typeof idempotent === 'boolean', 'producer.idempotent', 'must be a boolean');
  const lingerMs = producer.lingerMs ?? KAFKA_DEFAULTS.lingerMs;
  check.integer(lingerMs, 'producer.lingerMs', 0, 900_000);
  const deliveryTimeoutMs = producer.deliveryTimeoutMs ?? KAFKA_DEFAULTS.deliveryTimeoutMs;
  check.integer(deliveryTimeoutMs, 'producer.deliveryTimeoutMs', 1, 2_147_483_647);
  if (Number.isInteger(lingerMs) && Number.isInteger(deliveryTimeoutMs) && deliveryTimeoutMs <= lingerMs) {
    check.problem('producer.deliveryTimeoutMs', `must be greater than producer.lingerMs (${lingerMs})`);
  }
  const compression = producer.compression ?? KAFKA_DEFAULTS.compression;
  check.oneOf(compression, 'producer.compression', ['none', 'gzip', 'snappy', 'lz4', 'zstd']);
  const consumer = config.consumer ?? {};
  const sessionTimeoutMs = consumer.sessionTimeoutMs ?? KAFKA_DEFAULTS.sessionTimeoutMs;
  check.integer(sessionTimeoutMs, 'consumer.sessionTimeoutMs', 1, MAX_MS);
  const heartbeatIntervalMs = consumer.heartbeatIntervalMs ?? KAFKA_DEFAULTS.heartbeatIntervalMs;
  check.integer(heartbeatIntervalMs, 'consumer.heartbeatIntervalMs', 1, MAX_MS);
  if (Number.isInteger(sessionTimeoutMs) && Number.isInteger(heartbeatIntervalMs) && heartbeatIntervalMs >= sessionTimeoutMs) {
    check.problem('consumer.heartbeatIntervalMs', `must be lower than consumer.sessionTimeoutMs (${sessionTimeoutMs})`);
  }
  const rdkafka = {
    global: checkRdKafkaSection(check, config.rdkafka?.global, 'global'),
    producer: checkRdKafkaSection(check, config.rdkafka?.producer, 'producer'),
    consumer: checkRdKafkaSection(check, config.rdkafka?.consumer, 'consumer'),
    admin: checkRdKafkaSection(check, config.rdkafka?.admin, 'admin'),
  };
  if (config.logger !== undefined) {
    const logger: Partial<Logger> | null = config.logger;
    const ok =
      typeof logger === 'object' &&
      logger !== null &&
      (['trace', 'debug', 'info', 'warn', 'error', 'child'] as const).every((m) => typeof logger[m] === 'function');
    check.check(ok, 'logger', 'must have trace, debug, info, warn, error and child methods (pino fits)');
  }
  check.throwIfInvalid();
  return freezeOptions({
    brokers,
    clientId: config.clientId ?? KAFKA_DEFAULTS.clientId,
    logger: config.logger ?? silentLogger,
    connectTimeoutMs,
    requestTimeoutMs,
    maxRecordBytes,
    ssl: config.ssl ?? false,
    sasl: config.sasl === undefined ? undefined : { ...config.sasl },
    idempotent,
    lingerMs,
    deliveryTimeoutMs,
    compression,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rdkafka,
  });
}

function parseBrokers(check: ConfigCheck, value: unknown): string[] {
  const list =
    typeof value === 'string' ? value.split(',') : Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list === undefined) {
    check.problem('brokers', `must be a comma-separated string or an array of "host:port" strings (got ${describe(value)})`);
    return [];
  }
  const brokers: string[] = [];
  list.forEach((entry, i) => {
    const field = typeof value === 'string' ? 'brokers' : `brokers[${i}]`;
    const text = typeof entry === 'string' ? entry.trim() : '';
    const valid = /^[^\s:,/[\]]+(:\d{1,5})?$/.test(text) || /^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/.test(text);
    if (typeof entry !== 'string' || !valid) {
      check.problem(field, `must be "host:port" (got ${describe(entry)})`);
      return;
    }
    const port = /:(\d+)$/.exec(text)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      check.problem(field, `port must be between 1 and 65535 (got ${port})`);
      return;
    }
    brokers.push(text);
  });
  if (list.length === 0) check.problem('brokers', 'must name at least one broker');
  return brokers;
}

function checkRdKafkaSection(check: ConfigCheck, section: unknown, name: keyof KafkaRdKafkaOptions): RdKafkaProperties {
  if (section === undefined) return EMPTY;
  const field = `rdkafka.${name}`;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    check.problem(field, 'must be an object of librdkafka properties');
    return EMPTY;
  }
  const copy: Record<string, RdKafkaValue> = {};
  for (const [key, value] of Object.entries(section)) {
    const where = `${field}['${key}']`;
    if (RESERVED_PROPERTIES.has(key)) {
      check.problem(where, 'is set by the transport (its contract depends on it) and cannot be overridden');
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      check.problem(where, `must be a string, number or boolean (got ${describe(value)})`);
      continue;
    }
    const problem = rdkafkaPropertyProblem(name, key, value);
    if (problem !== undefined) {
      check.problem(where, problem);
      continue;
    }
    copy[key] = value;
  }
  return copy;
}

/**
 * Asks librdkafka whether it accepts `key = value`: creating a client (without
 * connecting) sets every property and throws for an unknown name or a bad
 * value. Cheap: no threads or sockets start before connect.
 */
function rdkafkaPropertyProblem(section: keyof KafkaRdKafkaOptions, key: string, value: RdKafkaValue): string | undefined {
  try {
    if (section === 'consumer') createNativeConsumer({ 'group.id': 'tributary-config-check', [key]: value });
    else createNativeProducer({ [key]: value });
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String((err as { message?: unknown } | null)?.message ?? err);
    return `is rejected by librdkafka: ${message}`;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

// ---------------------------------------------------------------------------
// Per-client options

export interface ResolvedProducerOptions {
  readonly clientId: string;
  readonly logger: Logger;
}

export function resolveProducerOptions(options: ProducerOptions | undefined, config: ResolvedKafkaConfig): ResolvedProducerOptions {
  const check = new ConfigCheck('kafka producer');
  const opts: ProducerOptions = options ?? {};
  if (opts.clientId !== undefined) check.nonEmptyString(opts.clientId, 'clientId');
  check.throwIfInvalid();
  const clientId = opts.clientId ?? config.clientId;
  return Object.freeze({ clientId, logger: (opts.logger ?? config.logger).child({ system: 'kafka', client: 'producer', clientId }) });
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

export function resolveGroupConsumerOptions(options: GroupConsumerOptions, config: ResolvedKafkaConfig): ResolvedGroupConsumerOptions {
  const check = new ConfigCheck('kafka group consumer');
  const opts = (options ?? {}) as Partial<GroupConsumerOptions>;
  check.nonEmptyString(opts.groupId, 'groupId');
  const topicsOk = Array.isArray(opts.topics) && opts.topics.length > 0 && opts.topics.every((t) => typeof t === 'string' && t.length > 0);
  check.check(topicsOk, 'topics', 'must be a non-empty array of topic names');
  if (opts.fromBeginning !== undefined) check.check(typeof opts.fromBeginning === 'boolean', 'fromBeginning', 'must be a boolean');
  const maxBatchRecords = opts.maxBatchRecords ?? KAFKA_DEFAULTS.maxBatchRecords;
  check.integer(maxBatchRecords, 'maxBatchRecords', 1, 1_000_000);
  const rebalanceTimeoutMs = opts.rebalanceTimeoutMs ?? KAFKA_DEFAULTS.rebalanceTimeoutMs;
  check.integer(rebalanceTimeoutMs, 'rebalanceTimeoutMs', 0, MAX_MS);
  if (opts.clientId !== undefined) check.nonEmptyString(opts.clientId, 'clientId');
  check.throwIfInvalid();
  const clientId = opts.clientId ?? config.clientId;
  const groupId = opts.groupId as string;
  return freezeOptions({
    groupId,
    topics: [...new Set(opts.topics as string[])],
    fromBeginning: opts.fromBeginning ?? true,
    maxBatchRecords,
    clientId,
    rebalanceTimeoutMs,
    logger: (opts.logger ?? config.logger).child({ system: 'kafka', client: 'group-consumer', clientId, groupId }),
  });
}

export interface ResolvedPartitionConsumerOptions {
  readonly topic: string;
  readonly partition: number;
  readonly from: number | 'earliest' | 'latest';
  readonly maxBatchRecords: number;
  readonly clientId: string;
  readonly logger: Logger;
  readonly closeTimeoutMs: number;
}

export function resolvePartitionConsumerOptions(
  options: PartitionConsumerOptions,
  config: ResolvedKafkaConfig,
): ResolvedPartitionConsumerOptions {
  const check = new ConfigCheck('kafka partition consumer');
  const opts = (options ?? {}) as Partial<PartitionConsumerOptions>;
  check.nonEmptyString(opts.topic, 'topic');
  check.integer(opts.partition, 'partition', 0, 1_000_000);
  const from: unknown = opts.from;
  check.check(
    from === 'earliest' || from === 'latest' || (typeof from === 'number' && Number.isSafeInteger(from) && from >= 0),
    'from',
    `must be an offset (integer ≥ 0), 'earliest' or 'latest' (got ${describe(from)})`,
  );
  const maxBatchRecords = opts.maxBatchRecords ?? KAFKA_DEFAULTS.maxBatchRecords;
  check.integer(maxBatchRecords, 'maxBatchRecords', 1, 1_000_000);
  // Same range as the group consumer's rebalanceTimeoutMs, which bounds its close the same way.
  const closeTimeoutMs = opts.closeTimeoutMs ?? KAFKA_DEFAULTS.closeTimeoutMs;
  check.integer(closeTimeoutMs, 'closeTimeoutMs', 0, MAX_MS);
  if (opts.clientId !== undefined) check.nonEmptyString(opts.clientId, 'clientId');
  check.throwIfInvalid();
  const clientId = opts.clientId ?? config.clientId;
  const topic = opts.topic as string;
  const partition = opts.partition as number;
  return Object.freeze({
    topic,
    partition,
    from: opts.from as number | 'earliest' | 'latest',
    maxBatchRecords,
    clientId,
    closeTimeoutMs,
    logger: (opts.logger ?? config.logger).child({ system: 'kafka', client: 'partition-consumer', clientId, topic, partition }),
  });
}

/** Checks the handlers given to `run`: `onBatch` is required, the others optional functions. */
export function checkHandlers(component: string, handlers: Partial<ConsumerHandlers> | undefined, optional: readonly (keyof ConsumerHandlers)[]): void {
  const check = new ConfigCheck(component);
  if (typeof handlers !== 'object' || handlers === null) {
    check.problem('handlers', 'must be an object with an onBatch function');
    check.throwIfInvalid();
    return;
  }
  check.fn(handlers.onBatch, 'onBatch', false);
  for (const name of optional) check.fn(handlers[name], name);
  check.throwIfInvalid();
}

/** `offset` must be an integer ≥ 0. */
export function checkOffset(check: ConfigCheck, offset: unknown, field: string): void {
  check.check(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0, field, `must be an integer ≥ 0 (got ${describe(offset)})`);
}

// ---------------------------------------------------------------------------
// librdkafka configuration of each client

function baseNativeConfig(config: ResolvedKafkaConfig, clientId: string): NativeConfig {
  const native: NativeConfig = {
    'bootstrap.servers': config.brokers.join(','),
    'client.id': clientId,
    // A connection attempt that hangs is abandoned after this long (and retried with backoff).
    'socket.connection.setup.timeout.ms': config.connectTimeoutMs,
    // Brokers close idle connections (connections.max.idle.ms); that is not worth a log line.
    'log.connection.close': false,
    // A typo in a topic name must not create a topic: topics are made through the admin client.
    'allow.auto.create.topics': false,
  };
  if (config.sasl) {
    native['security.protocol'] = config.ssl ? 'sasl_ssl' : 'sasl_plaintext';
    native['sasl.mechanisms'] = config.sasl.mechanism.toUpperCase();
    native['sasl.username'] = config.sasl.username;
    native['sasl.password'] = config.sasl.password;
  } else if (config.ssl) {
    native['security.protocol'] = 'ssl';
  }
  return Object.assign(native, config.rdkafka.global);
}

export function producerNativeConfig(config: ResolvedKafkaConfig, clientId: string): NativeConfig {
  const native = baseNativeConfig(config, clientId);
  native['dr_cb'] = true;
  native['enable.idempotence'] = config.idempotent;
  native['acks'] = 'all';
  // Java's partitioner: murmur2 of the key bytes; null keys spread randomly.
  native['partitioner'] = 'murmur2_random';
  native['linger.ms'] = config.lingerMs;
  native['message.timeout.ms'] = config.deliveryTimeoutMs;
  native['compression.type'] = config.compression;
  native['message.max.bytes'] = Math.max(1_000_000, config.maxRecordBytes + RECORD_FRAMING_ALLOWANCE);
  return Object.assign(native, config.rdkafka.producer);
}

export interface ConsumerNativeOptions {
  readonly groupId: string;
  readonly clientId: string;
  readonly fromBeginning: boolean;
}

export function consumerNativeConfig(config: ResolvedKafkaConfig, options: ConsumerNativeOptions): NativeConfig {
  const native = baseNativeConfig(config, options.clientId);
  native['group.id'] = options.groupId;
  native['enable.auto.commit'] = false;
  native['enable.auto.offset.store'] = false;
  native['enable.partition.eof'] = false;
  native['auto.offset.reset'] = options.fromBeginning ? 'earliest' : 'latest';
  native['session.timeout.ms'] = config.sessionTimeoutMs;
  native['heartbeat.interval.ms'] = config.heartbeatIntervalMs;
  // librdkafka's default (1 s) idles the fetcher for a whole second whenever its
  // local queue passes queued.min.messages, capping consume throughput
  // (docs/benchmarks.md); a short back-off keeps the queue fed.
  native['fetch.queue.backoff.ms'] = 10;
  const overrides = config.rdkafka.consumer;
  // The next-generation group protocol (KIP-848) assigns on the broker and
  // rejects a client-side assignment strategy.
  if (String(overrides['group.protocol'] ?? config.rdkafka.global['group.protocol'] ?? 'classic') !== 'consumer') {
    native['partition.assignment.strategy'] = 'cooperative-sticky';
  }
  return Object.assign(native, overrides);
}

export function adminNativeConfig(config: ResolvedKafkaConfig): NativeConfig {
  const native = baseNativeConfig(config, `${config.clientId}-admin`);
  return Object.assign(native, config.rdkafka.admin);
}
