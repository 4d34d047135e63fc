import { ConfigCheck, type Logger, silentLogger } from '@tributary/core';
import { ConsumerGroup } from './consumer-group';
import { PartitionLog } from './partition-log';
import { checkBrokerOptions, rejectUnknownKeys, requireObject, type MemoryBrokerOptions, type ResolvedBrokerOptions } from './options';

/** A topic: its partitions' logs and the configs it was created with (kept, not interpreted). */
export interface TopicState {
  readonly name: string;
  readonly partitions: readonly PartitionLog[];
  readonly config: Readonly<Record<string, string>>;
}

/**
 * The state of one broker: topics, consumer groups and their committed
 * offsets. Every transport created with the same MemoryBroker shares it.
 * Everything here is synchronous; the components make it asynchronous.
 */
export class BrokerEngine {
  readonly options: ResolvedBrokerOptions;
  readonly topics = new Map<string, TopicState>();
  readonly #groups = new Map<string, ConsumerGroup>();
  #seq = 0;

  constructor(options: ResolvedBrokerOptions) {
    this.options = options;
  }

  /** A broker-wide sequence number (member ids, default client ids). */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** Creates a topic; the caller has validated the name and checked it does not exist. */
  createTopic(name: string, partitions: number, config: Readonly<Record<string, string>> = {}): TopicState {
    const logs: PartitionLog[] = [];
    for (let p = 0; p < partitions; p++) logs.push(new PartitionLog(name, p));
    const topic: TopicState = Object.freeze({ name, partitions: Object.freeze(logs), config: Object.freeze({ ...config }) });
    this.topics.set(name, topic);
    for (const group of this.#groups.values()) group.topicsChanged(name);
    return topic;
  }

  /**
   * Deletes a topic: its readers are woken to notice, and every group forgets
   * its committed offsets for it (as Kafka does), so a re-created topic of the
   * same name starts afresh.
   */
  deleteTopic(name: string): boolean {
    const topic = this.topics.get(name);
    if (topic === undefined) return false;
    this.topics.delete(name);
    for (const log of topic.partitions) log.markDeleted();
    for (const group of this.#groups.values()) {
      group.forgetTopic(name);
      group.topicsChanged(name);
    }
    return true;
  }

  /** The consumer group `groupId`, created on first use (Kafka creates groups implicitly too). */
  group(groupId: string, logger: Logger = silentLogger): ConsumerGroup {
    let group = this.#groups.get(groupId);
    if (group === undefined) {
      group = new ConsumerGroup(groupId, this, logger);
      this.#groups.set(groupId, group);
    }
    return group;
  }

  /** The group if it exists (never creates one). */
  findGroup(groupId: string): ConsumerGroup | undefined {
    return this.#groups.get(groupId);
  }
}

const engines = new WeakMap<MemoryBroker, BrokerEngine>();

/**
 * An in-process broker. `memory()` creates a private one per transport; pass
 * one to several `memory({ broker })` calls to let them share topics, groups
 * and committed offsets, like separate processes talking to one cluster.
 *
 * It holds no timers or handles: there is nothing to close. Its state lives
 * as long as the object.
 */
export class MemoryBroker {
  /** Records larger than this many bytes (key + value + headers) are rejected. */
  readonly maxRecordBytes: number;
  /** Whether sending to a missing topic creates it. */
  readonly autoCreateTopics: boolean;
  /** Partitions of an auto-created topic. */
  readonly defaultPartitions: number;

  constructor(options: MemoryBrokerOptions = {}) {
    requireObject('memory broker', options);
    const check = new ConfigCheck('memory broker');
    rejectUnknownKeys(check, options, ['maxRecordBytes', 'autoCreateTopics', 'defaultPartitions']);
    const resolved = checkBrokerOptions(check, options);
    check.throwIfInvalid();
    this.maxRecordBytes = resolved.maxRecordBytes;
    this.autoCreateTopics = resolved.autoCreateTopics;
    this.defaultPartitions = resolved.defaultPartitions;
    engines.set(this, new BrokerEngine(resolved));
    Object.freeze(this);
  }
}

/** The state behind a MemoryBroker (package-internal). */
export function engineOf(broker: MemoryBroker): BrokerEngine {
  const engine = engines.get(broker);
  if (engine === undefined) throw new TypeError('not a MemoryBroker');
  return engine;
}
