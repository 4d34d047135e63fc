/**
 * The per-test harness of the conformance suite: one fresh transport per
 * test, topics created through its admin client, unique names, and every
 * client closed at teardown — so the same tests run against an in-process
 * transport and a shared real broker.
 */
import { AssertionError } from 'node:assert';
import {
  errorMessage,
  isTributaryError,
  partitionKey,
  type Admin,
  type GroupConsumer,
  type GroupConsumerOptions,
  type PartitionConsumer,
  type PartitionConsumerOptions,
  type ProducerRecord,
  type RecordBatch,
  type SendResult,
  type TopicPartition,
  type Transport,
  type TransportFeatures,
  type TransportProducer,
} from '@tributary/core';
import { ConsumerRecorder } from '../consumer-recorder';
import { uniqueGroup, uniqueTopic } from '../names';
import { textOf } from '../records';
import { assertNoViolations } from '../violations';
import { waitFor, withTimeout } from '../wait';
import type { ResolvedConformanceOptions } from './options';

/** A record the harness produced, with where it landed. */
export interface Produced {
  /** Position in the `produce` call. */
  readonly index: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** The value as sent (text). */
  readonly value: string;
}

export type OkSendResult = Extract<SendResult, { ok: true }>;

/** Hooks of a group member started by the harness; each gets the member's consumer. */
export interface MemberHooks {
  readonly onBatch?: (batch: RecordBatch, consumer: GroupConsumer) => void | Promise<void>;
  readonly onAssigned?: (partitions: readonly TopicPartition[], consumer: GroupConsumer) => void | Promise<void>;
  readonly onRevoked?: (partitions: readonly TopicPartition[], consumer: GroupConsumer) => void | Promise<void>;
}

export interface MemberOptions extends MemberHooks {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Default true (the suite never relies on the transport's default). */
  readonly fromBeginning?: boolean;
  readonly maxBatchRecords?: number;
  /** Names the member in failure messages. */
  readonly label?: string;
  /** Create the consumer from this transport instead of the test's. */
  readonly transport?: Transport;
}

/** A running group member and what it received. */
export interface Member {
  readonly consumer: GroupConsumer;
  readonly recorder: ConsumerRecorder;
  readonly label: string;
}

/** Options for `produce`: each a function of the record's index. */
export interface ProduceSpec {
  readonly key?: (index: number) => string | null;
  readonly partition?: (index: number) => number | undefined;
  readonly value?: (index: number) => string;
  /** Records per `send` call; calls are issued without awaiting each other. Default: one call. */
  readonly perCall?: number;
  readonly producer?: TransportProducer;
}

interface Closable {
  close(): Promise<void>;
}

/** Base budgets before `timeoutScale`. */
const WAIT_MS = 15_000;
const REBALANCE_WAIT_MS = 60_000;
const CLOSE_MS = 30_000;

export class ConformanceContext {
  readonly transport: Transport;
  readonly features: TransportFeatures;
  readonly admin: Admin;
  /** How long to wait for deliveries, commits and metadata. */
  readonly waitMs: number;
  /** How long to wait for group membership to settle (seconds on Kafka). */
  readonly rebalanceWaitMs: number;
  /** How long a close may take. */
  readonly closeMs: number;

  readonly #options: ResolvedConformanceOptions;
  readonly #consumers: Closable[] = [];
  readonly #producers: Closable[] = [];
  readonly #admins: Closable[] = [];
  readonly #transports: Transport[] = [];
  readonly #topics: string[] = [];
  readonly #recorders: ConsumerRecorder[] = [];
  #producer: TransportProducer | undefined;
  #members = 0;

  private constructor(transport: Transport, options: ResolvedConformanceOptions) {
    this.#options = options;
    this.transport = transport;
    this.#transports.push(transport);
    this.features = options.features;
    this.admin = this.track(transport.admin(), 'admin');
    this.waitMs = WAIT_MS * options.timeoutScale;
    this.rebalanceWaitMs = REBALANCE_WAIT_MS * options.timeoutScale;
    this.closeMs = CLOSE_MS * options.timeoutScale;
  }

  static async create(options: ResolvedConformanceOptions): Promise<ConformanceContext> {
    const transport = await options.createTransport();
    try {
      return new ConformanceContext(transport, options);
    } catch (err: unknown) {
      await transport.close().catch(() => undefined);
      throw err;
    }
  }

  /** Another transport from the factory (a second "process"); closed at teardown. */
  async newTransport(): Promise<Transport> {
    const t = await this.#options.createTransport();
    this.#transports.push(t);
    return t;
  }

  /** Registers a client to close at teardown and returns it. */
  track<T extends Closable>(client: T, kind: 'consumer' | 'producer' | 'admin'): T {
    (kind === 'consumer' ? this.#consumers : kind === 'producer' ? this.#producers : this.#admins).push(client);
    return client;
  }

  /**
   * Creates a topic with a unique name through an admin client (default the
   * test's); it is deleted at teardown on persistent transports.
   */
  async createTopic(partitions = 1, prefix = 'conformance', admin: Admin = this.admin): Promise<string> {
    const topic = this.topicName(prefix);
    await withTimeout(admin.createTopics([{ topic, partitions }]), this.waitMs, `createTopics(${topic})`);
    return topic;
  }

  /** A unique topic name, remembered for deletion at teardown (the topic is not created). */
  topicName(prefix = 'conformance'): string {
    const topic = uniqueTopic(`${this.#options.topicPrefix}${prefix}`);
    this.#topics.push(topic);
    return topic;
  }

  group(prefix = 'conformance'): string {
    return uniqueGroup(`${this.#options.topicPrefix}${prefix}`);
  }

  /** A tracked producer from the test's transport (or `transport`). */
  producer(transport: Transport = this.transport): TransportProducer {
    return this.track(transport.producer({ clientId: 'conformance' }), 'producer');
  }

  /** The test's shared producer. */
  get defaultProducer(): TransportProducer {
    this.#producer ??= this.producer();
    return this.#producer;
  }

  groupConsumer(options: GroupConsumerOptions, transport: Transport = this.transport): GroupConsumer {
    return this.track(transport.groupConsumer(options), 'consumer');
  }

  partitionConsumer(options: PartitionConsumerOptions, transport: Transport = this.transport): PartitionConsumer {
    return this.track(transport.partitionConsumer(options), 'consumer');
  }

  /** A recorder whose contract violations fail the test at teardown. */
  recorder(options: ConstructorParameters<typeof ConsumerRecorder>[0] = {}): ConsumerRecorder {
    const r = new ConsumerRecorder(options);
    this.#recorders.push(r);
    return r;
  }

  /**
   * Starts a group member with a recorder. With features.consumerGroups the
   * recorder also checks batches against onAssigned/onRevoked.
   */
  async member(options: MemberOptions): Promise<Member> {
    this.#members += 1;
    const label = options.label ?? `member ${this.#members}`;
    const consumer = this.groupConsumer(
      {
        groupId: options.groupId,
        topics: options.topics,
        fromBeginning: options.fromBeginning ?? true,
        clientId: label.replace(/[^a-zA-Z0-9._-]+/g, '-'),
        ...(options.maxBatchRecords === undefined ? {} : { maxBatchRecords: options.maxBatchRecords }),
      },
      options.transport,
    );
    const { onBatch, onAssigned, onRevoked } = options;
    const recorder = this.recorder({
      label,
      checkAssignment: this.features.consumerGroups,
      ...(options.maxBatchRecords === undefined ? {} : { maxBatchRecords: options.maxBatchRecords }),
      ...(onBatch ? { onBatch: (b: RecordBatch) => onBatch(b, consumer) } : {}),
      ...(onAssigned ? { onAssigned: (p: readonly TopicPartition[]) => onAssigned(p, consumer) } : {}),
      ...(onRevoked ? { onRevoked: (p: readonly TopicPartition[]) => onRevoked(p, consumer) } : {}),
    });
    await withTimeout(consumer.run(recorder.handlers), this.rebalanceWaitMs, `${label}: run()`);
    return { consumer, recorder, label };
  }

  /**
   * Reads `topics` with a member of a fresh group from the beginning until
   * `count` distinct records arrived; returns the member (still running).
   */
  async readAll(topics: readonly string[], count: number, label = 'reader'): Promise<Member> {
    const m = await this.member({ groupId: this.group('reader'), topics, label });
    await m.recorder.waitForDistinct(count, { timeoutMs: this.waitMs, intervalMs: 5 });
    return m;
  }

  /** Sends records and expects every one to succeed. */
  async send(records: readonly ProducerRecord[], producer: TransportProducer = this.defaultProducer): Promise<OkSendResult[]> {
    const results = await withTimeout(producer.send(records), this.waitMs, 'send()');
    return results.map((r, i) => expectOk(r, i));
  }

  /**
   * Produces `count` records to `topic` (values `v<index>` unless given) and
   * returns where each landed, in input order. With `perCall`, several send
   * calls are issued without awaiting each other (they keep their order).
   */
  async produce(topic: string, count: number, spec: ProduceSpec = {}): Promise<Produced[]> {
    const records: ProducerRecord[] = [];
    for (let i = 0; i < count; i++) {
      const partition = spec.partition?.(i);
      records.push({
        topic,
        key: spec.key ? spec.key(i) : `k${i % 16}`,
        value: spec.value ? spec.value(i) : `v${i}`,
        ...(partition === undefined ? {} : { partition }),
      });
    }
    const producer = spec.producer ?? this.defaultProducer;
    const perCall = spec.perCall ?? Math.max(1, count);
    const calls: Promise<OkSendResult[]>[] = [];
    for (let i = 0; i < records.length; i += perCall) calls.push(this.send(records.slice(i, i + perCall), producer));
    const results = (await Promise.all(calls)).flat();
    return results.map((r, index) => ({
      index,
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      key: records[index]!.key ?? null,
      value: textOf(records[index]!.value) ?? '',
    }));
  }

  /**
   * Lets the event loop run `turns` times: gives a wrong implementation the
   * chance to do what it must not (resolve early) before the test checks
   * that it did not. Not a wait for a condition — there is none to wait for.
   */
  async yieldTurns(turns = 20): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Polls `condition` until it holds, within `timeoutMs` (default waitMs).
   * Checks of recorded state are cheap, so the default interval is short;
   * pass a longer one for conditions that ask the broker.
   */
  waitFor<T>(condition: () => T | PromiseLike<T>, message: string, timeoutMs = this.waitMs, intervalMs = 5): Promise<T> {
    return waitFor(condition, { message, timeoutMs, intervalMs });
  }

  /** Committed offsets of a group for one topic, by partition. */
  async committed(groupId: string, topic: string): Promise<Map<number, number>> {
    const offsets = await this.admin.fetchCommittedOffsets(groupId, [topic]);
    return new Map(offsets.filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
  }

  /** High watermarks of a topic, by partition. */
  async highWatermarks(topic: string): Promise<Map<number, number>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  /**
   * Waits until the members own disjoint, non-empty parts of the topic's
   * partitions that together cover all of them, and each member's
   * `assignment()` agrees with what onAssigned/onRevoked announced.
   */
  async waitForSplit(members: readonly Member[], topic: string, partitions: number): Promise<void> {
    await this.waitFor(
      () => {
        const owned = members.map((m) => sortedPartitions(m.consumer.assignment().filter((tp) => tp.topic === topic)));
        const all = owned.flat();
        const distinct = new Set(all);
        const announced = members.map((m) => sortedPartitions(m.recorder.assignment().filter((tp) => tp.topic === topic)));
        const agree = !this.features.consumerGroups || owned.every((o, i) => o.join() === announced[i]!.join());
        return owned.every((o) => o.length > 0) && all.length === partitions && distinct.size === partitions && agree;
      },
      `members ${members.map((m) => m.label).join(', ')} to split the ${partitions} partitions of ${topic} ` +
        `(assignment(): ${JSON.stringify(members.map((m) => sortedPartitions(m.consumer.assignment())))})`,
      this.rebalanceWaitMs,
    );
  }

  /**
   * Closes every client (consumers, then producers, then admin clients, then
   * the transports), deleting the test's topics first on persistent
   * transports. Resolves with the errors met; never rejects.
   */
  async teardown(): Promise<unknown[]> {
    const errors: unknown[] = [];
    const closeAll = async (clients: readonly Closable[], what: string): Promise<void> => {
      // Through a then: a close() that throws instead of rejecting is an error too, not a crash of the teardown.
      const results = await Promise.allSettled(clients.map((c) => withTimeout(Promise.resolve().then(() => c.close()), this.closeMs, `${what}.close()`)));
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    };
    await closeAll(this.#consumers, 'consumer');
    await closeAll(this.#producers, 'producer');
    if (this.features.persistent && this.#topics.length > 0) {
      // Best effort: leftover topics on a shared broker are untidy, not wrong.
      const topics = [...new Set(this.#topics)];
      await withTimeout(Promise.resolve().then(() => this.admin.deleteTopics(topics)), this.closeMs, 'deleteTopics()').catch(() => undefined);
    }
    await closeAll(this.#admins, 'admin');
    await closeAll(this.#transports, 'transport');
    return errors;
  }

  /** Errors consumers reported to onError, labelled (shown when a test fails). */
  consumerErrors(): string[] {
    return this.#recorders.flatMap((r) => r.errors.map((e) => `${r.label}: ${e.code} ${e.message}`));
  }

  /** Fails the test if any recorder saw a contract violation. */
  assertNoViolations(): void {
    const all = this.#recorders.flatMap((r) => r.violations.map((v) => `${v}`));
    assertNoViolations('consumer contract (transport.ts ConsumerHandlers)', all);
  }
}

/** `topic/partition` strings, sorted. */
export function sortedPartitions(tps: readonly TopicPartition[]): string[] {
  return tps.map((tp) => partitionKey(tp)).sort();
}

function expectOk(result: SendResult | undefined, index: number): OkSendResult {
  if (!result) throw new AssertionError({ message: `send(): no result for record ${index}` });
  if (!result.ok) throw new AssertionError({ message: `send(): record ${index} failed with ${result.error.code}: ${result.error.message}` });
  return result;
}

/** Fails the test with `message` (an AssertionError, as `expect` would). */
export function fail(message: string): never {
  throw new AssertionError({ message });
}

/** The `code` of a TributaryError, or a description of what was thrown instead. */
export function codeOf(err: unknown): string {
  if (isTributaryError(err)) return err.code;
  if (err === undefined) return 'no error';
  return `not a TributaryError: ${errorMessage(err)}`;
}

/** Resolves once `signal` aborts (at once when it already has). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Calls `fn` and returns the code of what it threw or rejected with ('no error' when it succeeded). */
export async function codeOfFailure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err: unknown) {
    return codeOf(err);
  }
  return 'no error';
}
