import {
  ConfigCheck,
  TributaryError,
  partitionKey,
  type Admin,
  type PartitionOffsets,
  type TopicPartitionOffset,
  type TopicSpec,
} from '@tributary/core';
import type { BrokerEngine } from './broker';
import { closedError } from '@tributary/core';
import { checkPartitionCount, topicNameProblem } from './options';

/**
 * Topic and group administration on a memory broker. Every change is visible
 * to all clients of the broker as soon as the returned promise resolves.
 *
 * Like Kafka's CreateTopics/DeleteTopics, a call that names some topics that
 * fail (already existing, missing) still applies to the others, then rejects
 * naming the failures.
 */
export class MemoryAdmin implements Admin {
  readonly #engine: BrokerEngine;
  readonly #onClosed: () => void;
  #closed = false;

  constructor(engine: BrokerEngine, onClosed: () => void) {
    this.#engine = engine;
    this.#onClosed = onClosed;
  }

  /**
   * Creates topics (partitions default to 1; replicationFactor must be ≥ 1 and
   * is otherwise ignored; configs are kept but not applied — no compaction or
   * retention). Invalid specs reject with one ConfigError naming all of them,
   * before anything is created.
   */
  async createTopics(topics: readonly TopicSpec[], options: { readonly ifNotExists?: boolean } = {}): Promise<void> {
    this.#ensureOpen('createTopics()');
    const check = new ConfigCheck('memory createTopics');
    if (!Array.isArray(topics)) {
      check.problem('topics', 'must be an array of topic specs');
      check.throwIfInvalid();
    }
    const seen = new Set<string>();
    topics.forEach((spec: TopicSpec, i) => {
      const problem = topicNameProblem(spec?.topic);
      if (problem !== undefined) check.problem(`topics[${i}].topic`, problem);
      else if (seen.has(spec.topic)) check.problem(`topics[${i}].topic`, `"${spec.topic}" is listed twice`);
      else seen.add(spec.topic);
      checkPartitionCount(check, spec?.partitions ?? 1, `topics[${i}].partitions`);
      if (spec?.replicationFactor !== undefined) check.integer(spec.replicationFactor, `topics[${i}].replicationFactor`, 1, 32767);
      const config: unknown = spec?.config;
      if (config !== undefined) {
        const ok =
          typeof config === 'object' && config !== null && Object.values(config).every((v) => typeof v === 'string');
        check.check(ok, `topics[${i}].config`, 'must map config names to string values');
      }
    });
    check.throwIfInvalid();

    const existing: string[] = [];
    for (const spec of topics) {
      if (this.#engine.topics.has(spec.topic)) existing.push(spec.topic);
      else this.#engine.createTopic(spec.topic, spec.partitions ?? 1, spec.config);
    }
    if (existing.length > 0 && options.ifNotExists !== true) {
      throw new TributaryError('ERR_TOPIC_EXISTS', `topic already exists: ${existing.map((t) => `"${t}"`).join(', ')}`, {
        context: { topic: existing[0] as string },
      });
    }
  }

  /** Deletes topics, their records and every group's committed offsets for them. */
  async deleteTopics(topics: readonly string[]): Promise<void> {
    this.#ensureOpen('deleteTopics()');
    const check = new ConfigCheck('memory deleteTopics');
    if (!Array.isArray(topics)) check.problem('topics', 'must be an array of topic names');
    else topics.forEach((t: unknown, i) => check.nonEmptyString(t, `topics[${i}]`));
    check.throwIfInvalid();
    const missing = topics.filter((t) => !this.#engine.deleteTopic(t));
    if (missing.length > 0) throw unknownTopic(missing);
  }

  /** Topic names, sorted. */
  async listTopics(): Promise<string[]> {
    this.#ensureOpen('listTopics()');
    return [...this.#engine.topics.keys()].sort();
  }

  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    this.#ensureOpen('fetchTopicOffsets()');
    const state = this.#engine.topics.get(topic);
    if (state === undefined) throw unknownTopic([topic]);
    return state.partitions.map((log) => ({ partition: log.partition, low: log.low, high: log.high }));
  }

  /** Committed offsets of the group for the topics' partitions, in the order asked, partitions ascending. */
  async fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]> {
    this.#ensureOpen('fetchCommittedOffsets()');
    const group = this.#engine.findGroup(groupId);
    if (group === undefined) return [];
    const result: TopicPartitionOffset[] = [];
    for (const topic of new Set(topics)) {
      const partitions = this.#engine.topics.get(topic)?.partitions.length ?? 0;
      for (let partition = 0; partition < partitions; partition++) {
        const offset = group.committed.get(partitionKey({ topic, partition }));
        if (offset !== undefined) result.push({ topic, partition, offset });
      }
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed();
  }

  #ensureOpen(call: string): void {
    if (this.#closed) throw closedError('admin', call);
  }
}

function unknownTopic(topics: readonly string[]): TributaryError {
  return new TributaryError('ERR_UNKNOWN_TOPIC', `unknown topic: ${topics.map((t) => `"${t}"`).join(', ')}`, {
    context: { topic: topics[0] as string },
  });
}
