import {
  ConfigCheck,
  ConfigError,
  TributaryError,
  type Admin,
  type PartitionOffsets,
  type TopicPartitionOffset,
  type TopicSpec,
} from '@tributary/core';
import { setTimeout as delay } from 'node:timers/promises';
import { ClientDiagnostics } from './connection';
import { RdKafkaCode, closedError, fromNativeError, nativeCodeOf } from './errors';
import { OFFSET_SPEC, createNativeAdmin, type NativeAdmin, type NativeError, type NativeTopicDescription } from './native';
import { adminNativeConfig, type ResolvedKafkaConfig } from './options';

/** Kafka's topic name rule. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** How often createTopics looks at the metadata while waiting for leaders. */
const USABLE_POLL_MS = 25;

/**
 * Topic and group administration on librdkafka's admin API.
 *
 * `createTopics` resolves when the topics are usable: the broker's metadata
 * lists a leader for every partition. Like Kafka's CreateTopics, a call that
 * names some existing topics still creates the others, then rejects with
 * ERR_TOPIC_EXISTS (unless `ifNotExists`). `listTopics` leaves out Kafka's
 * internal topics (names starting with `__`).
 */
export class KafkaAdmin implements Admin {
  readonly #config: ResolvedKafkaConfig;
  readonly #onClosed: () => void;
  #native: NativeAdmin | undefined;
  #diagnostics: ClientDiagnostics | undefined;
  #closed = false;

  constructor(config: ResolvedKafkaConfig, onClosed: () => void) {
    this.#config = config;
    this.#onClosed = onClosed;
  }

  async createTopics(topics: readonly TopicSpec[], options: { readonly ifNotExists?: boolean } = {}): Promise<void> {
    this.#ensureOpen('createTopics()');
    const specs = checkTopicSpecs(topics);
    if (specs.length === 0) return;
    const native = this.#client();
    const timeout = this.#config.requestTimeoutMs;
    const outcomes = await this.#guard(Promise.all(
      specs.map(
        (spec, i) =>
          new Promise<NativeError | null>((resolve) => {
            native.createTopic(
              {
                topic: spec.topic,
                num_partitions: spec.partitions ?? 1,
                // -1: the broker's default.replication.factor.
                replication_factor: spec.replicationFactor ?? -1,
                ...(spec.config ? { config: { ...spec.config } } : {}),
              },
              timeout,
              (err) => resolve(err ?? null),
            );
          }).then((err) => ({ spec, index: i, err })),
      ),
    ), `create topics ${specs.map((s) => s.topic).join(', ')}`);
    const existing: string[] = [];
    const failures: TributaryError[] = [];
    for (const { spec, index, err } of outcomes) {
      if (!err) continue;
      const code = nativeCodeOf(err);
      if (code === RdKafkaCode.ERR_TOPIC_ALREADY_EXISTS) existing.push(spec.topic);
      else failures.push(this.#createError(err, spec, index));
    }
    const usable = outcomes.filter((o) => !o.err || existing.includes(o.spec.topic)).map((o) => o.spec);
    await this.#waitUsable(usable);
    if (failures.length > 0) throw failures[0] as TributaryError;
    if (existing.length > 0 && options.ifNotExists !== true) {
      throw new TributaryError('ERR_TOPIC_EXISTS', `topic already exists: ${existing.map((t) => `"${t}"`).join(', ')}`, {
        context: { topic: existing[0] as string },
      });
    }
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    this.#ensureOpen('deleteTopics()');
    const check = new ConfigCheck('kafka deleteTopics');
    if (!Array.isArray(topics)) check.problem('topics', 'must be an array of topic names');
    else topics.forEach((t: unknown, i) => check.nonEmptyString(t, `topics[${i}]`));
    check.throwIfInvalid();
    const native = this.#client();
    const errors = await this.#guard(Promise.all(
      [...new Set(topics)].map(
        (topic) =>
          new Promise<TributaryError | undefined>((resolve) => {
            native.deleteTopic(topic, this.#config.requestTimeoutMs, (err) =>
              resolve(err ? this.#error(err, `delete topic ${topic}`, { topic }) : undefined),
            );
          }),
      ),
    ), `delete topics ${topics.join(', ')}`);
    const failed = errors.filter((e): e is TributaryError => e !== undefined);
    if (failed.length > 0) throw failed[0] as TributaryError;
  }

  async listTopics(): Promise<string[]> {
    this.#ensureOpen('listTopics()');
    const native = this.#client();
    const topics = await this.#guard(
      new Promise<string[]>((resolve, reject) => {
        native.listTopics({ timeout: this.#config.requestTimeoutMs }, (err, names) => {
          if (err) reject(this.#error(err, 'list topics'));
          else resolve(names);
        });
      }),
      'list topics',
    );
    return topics.filter((t) => !t.startsWith('__')).sort();
  }

  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    this.#ensureOpen('fetchTopicOffsets()');
    const check = new ConfigCheck('kafka fetchTopicOffsets');
    check.nonEmptyString(topic, 'topic');
    check.throwIfInvalid();
    const [description] = await this.#describe([topic]);
    if (description?.error) throw this.#error(description.error, `offsets of ${topic}`, { topic });
    const partitions = (description?.partitions ?? []).map((p) => p.partition).sort((a, b) => a - b);
    if (partitions.length === 0) throw new TributaryError('ERR_UNKNOWN_TOPIC', `offsets of ${topic}: unknown topic`, { context: { topic } });
    const [low, high] = await Promise.all([
      this.#retrying(() => this.#listOffsets(topic, partitions, OFFSET_SPEC.earliest)),
      this.#retrying(() => this.#listOffsets(topic, partitions, OFFSET_SPEC.latest)),
    ]);
    return partitions.map((partition) => ({ partition, low: low.get(partition) ?? 0, high: high.get(partition) ?? 0 }));
  }

  async fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]> {
    this.#ensureOpen('fetchCommittedOffsets()');
    const check = new ConfigCheck('kafka fetchCommittedOffsets');
    check.nonEmptyString(groupId, 'groupId');
    check.check(Array.isArray(topics) && topics.every((t) => typeof t === 'string' && t.length > 0), 'topics', 'must be an array of topic names');
    check.throwIfInvalid();
    const native = this.#client();
    const results = await this.#guard(new Promise<{ partitions: readonly { topic: string; partition: number; offset?: number; error?: NativeError | null }[] }[]>(
      (resolve, reject) => {
        native.listConsumerGroupOffsets([{ groupId }], { timeout: this.#config.requestTimeoutMs }, (err, res) => {
          if (err) reject(this.#error(err, `committed offsets of group ${groupId}`));
          else resolve(res);
        });
      },
    ), `committed offsets of group ${groupId}`);
    const group = results[0];
    const order = new Map([...new Set(topics)].map((t, i) => [t, i]));
    return (group?.partitions ?? [])
      .filter((p) => order.has(p.topic) && typeof p.offset === 'number' && p.offset >= 0 && !p.error)
      .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset as number }))
      .sort((a, b) => (order.get(a.topic) as number) - (order.get(b.topic) as number) || a.partition - b.partition);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const native = this.#native;
    this.#native = undefined;
    try {
      native?.disconnect();
    } catch {
      // Already disconnected.
    }
    this.#onClosed();
  }

  /**
   * Settles with `request`, or rejects with ERR_AUTHENTICATION as soon as the
   * broker refuses the credentials (librdkafka would only time out).
   */
  #guard<T>(request: Promise<T>, what: string): Promise<T> {
    const diagnostics = this.#diagnostics;
    if (diagnostics === undefined) return request;
    const refused = diagnostics.authFailed().then((text): never => {
      throw new TributaryError('ERR_AUTHENTICATION', `${what}: the broker rejected the connection: ${text}`);
    });
    return Promise.race([request, refused]);
  }

  #client(): NativeAdmin {
    if (this.#native === undefined) {
      const native = createNativeAdmin(adminNativeConfig(this.#config));
      this.#diagnostics = new ClientDiagnostics(native, this.#config.logger.child({ system: 'kafka', client: 'admin' }));
      this.#native = native;
    }
    return this.#native;
  }

  #describe(topics: string[]): Promise<NativeTopicDescription[]> {
    const native = this.#client();
    return this.#guard(new Promise((resolve, reject) => {
      native.describeTopics(topics, { timeout: this.#config.requestTimeoutMs }, (err, descriptions) => {
        if (err) reject(this.#error(err, `describe ${topics.join(', ')}`));
        else resolve(descriptions);
      });
    }), `describe ${topics.join(', ')}`);
  }

  #listOffsets(topic: string, partitions: readonly number[], spec: unknown): Promise<Map<number, number>> {
    const native = this.#client();
    return this.#guard(new Promise((resolve, reject) => {
      native.listOffsets(
        partitions.map((partition) => ({ topic, partition, offset: spec })),
        { timeout: this.#config.requestTimeoutMs },
        (err, results) => {
          if (err) {
            // librdkafka answers a topic deleted meanwhile with "no such entry".
            if (nativeCodeOf(err) === RdKafkaCode.ERR__NOENT) {
              reject(new TributaryError('ERR_UNKNOWN_TOPIC', `offsets of ${topic}: unknown topic`, { cause: err, context: { topic } }));
            } else reject(this.#error(err, `offsets of ${topic}`, { topic }));
            return;
          }
          const failed = results.find((r) => r.error);
          if (failed?.error) {
            reject(this.#error(failed.error, `offsets of ${topic}/${failed.partition}`, { topic, partition: failed.partition }));
            return;
          }
          resolve(new Map(results.map((r) => [r.partition, r.offset])));
        },
      );
    }), `offsets of ${topic}`);
  }

  /**
   * Runs `request` again while it fails with a retriable error (a partition
   * whose leader is still being elected answers NOT_LEADER for a moment),
   * within requestTimeoutMs.
   */
  async #retrying<T>(request: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#config.requestTimeoutMs;
    for (;;) {
      try {
        return await request();
      } catch (err) {
        if (!(err instanceof TributaryError) || !err.retriable || err.code === 'ERR_CONNECTION' || Date.now() > deadline) throw err;
      }
      await delay(USABLE_POLL_MS);
    }
  }

  /**
   * Waits until every partition of `specs` has a leader in the metadata and
   * that leader answers an offsets request — what a producer or consumer
   * needs (bounded by requestTimeoutMs).
   */
  async #waitUsable(specs: readonly TopicSpec[]): Promise<void> {
    if (specs.length === 0) return;
    const deadline = Date.now() + this.#config.requestTimeoutMs;
    let waiting = specs.map((s) => s.topic);
    for (;;) {
      const descriptions = await this.#describe(waiting).catch(() => [] as NativeTopicDescription[]);
      const led = descriptions.filter(
        (d) => !d.error && d.partitions.length > 0 && d.partitions.every((p) => p.leader !== null && p.leader.id >= 0),
      );
      const serving = await Promise.all(
        led.map((d) =>
          this.#listOffsets(d.name, d.partitions.map((p) => p.partition), OFFSET_SPEC.latest).then(
            () => d.name,
            () => undefined,
          ),
        ),
      );
      const ready = new Set(serving.filter((t): t is string => t !== undefined));
      waiting = waiting.filter((t) => !ready.has(t));
      if (waiting.length === 0) return;
      if (Date.now() > deadline) {
        throw new TributaryError('ERR_TIMEOUT', `created topics have no leader yet after ${this.#config.requestTimeoutMs} ms: ${waiting.join(', ')}`);
      }
      await delay(USABLE_POLL_MS);
    }
  }

  /** A broker refusal of a topic spec names the spec's field. */
  #createError(err: NativeError, spec: TopicSpec, index: number): TributaryError {
    const code = nativeCodeOf(err);
    const field =
      code === RdKafkaCode.ERR_INVALID_REPLICATION_FACTOR
        ? 'replicationFactor'
        : code === RdKafkaCode.ERR_INVALID_PARTITIONS
          ? 'partitions'
          : code === RdKafkaCode.ERR_INVALID_CONFIG
            ? 'config'
            : undefined;
    if (field !== undefined) return new ConfigError('kafka createTopics', [{ field: `topics[${index}].${field}`, message: `rejected by the broker: ${err.message}` }]);
    return this.#error(err, `create topic ${spec.topic}`, { topic: spec.topic });
  }

  #error(err: NativeError, what: string, context?: { topic: string; partition?: number }): TributaryError {
    const mapped = fromNativeError(err, 'admin', what, context);
    const auth = this.#diagnostics?.authFailure;
    if ((mapped.code === 'ERR_TIMEOUT' || mapped.code === 'ERR_CONNECTION') && auth !== undefined) {
      return new TributaryError('ERR_AUTHENTICATION', `${what}: the broker rejected the connection: ${auth}`, {
        cause: err,
        ...(context ? { context } : {}),
      });
    }
    if (mapped.code === 'ERR_TIMEOUT' && this.#diagnostics?.connectionTrouble()) {
      return new TributaryError('ERR_CONNECTION', `${what}: the brokers did not answer (${this.#diagnostics.recent.at(-1) ?? 'no connection'})`, {
        cause: err,
        ...(context ? { context } : {}),
      });
    }
    return mapped;
  }

  #ensureOpen(call: string): void {
    if (this.#closed) throw closedError('admin', call);
  }
}

/** Validates topic specs (every problem in one ConfigError). */
function checkTopicSpecs(topics: unknown): TopicSpec[] {
  const check = new ConfigCheck('kafka createTopics');
  if (!Array.isArray(topics)) {
    check.problem('topics', 'must be an array of topic specs');
    check.throwIfInvalid();
    return [];
  }
  const seen = new Set<string>();
  (topics as TopicSpec[]).forEach((spec, i) => {
    const name: unknown = spec?.topic;
    if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
      check.problem(`topics[${i}].topic`, `must be 1-249 characters of [a-zA-Z0-9._-] (got ${JSON.stringify(name)})`);
    } else if (seen.has(name)) check.problem(`topics[${i}].topic`, `"${name}" is listed twice`);
    else seen.add(name);
    if (spec?.partitions !== undefined) check.integer(spec.partitions, `topics[${i}].partitions`, 1, 1_000_000);
    if (spec?.replicationFactor !== undefined) check.integer(spec.replicationFactor, `topics[${i}].replicationFactor`, 1, 32_767);
    const config: unknown = spec?.config;
    if (config !== undefined) {
      const ok = typeof config === 'object' && config !== null && Object.values(config).every((v) => typeof v === 'string');
      check.check(ok, `topics[${i}].config`, 'must map config names to string values');
    }
  });
  check.throwIfInvalid();
  return topics as TopicSpec[];
}
