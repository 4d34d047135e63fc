import {
  ConfigError,
  TributaryError,
  type ErrorCode,
  type Headers,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';
import type { BrokerEngine, TopicState } from './broker';
import { closedError } from '@tributary/core';
import { KeyHasher, toPositive } from '@tributary/core';
import { topicNameProblem, type ResolvedProducerOptions } from './options';
import type { PartitionLog } from './partition-log';

const EMPTY_HEADERS: Headers = Object.freeze({});

/** Round-robin position for null-key records of one topic. */
interface NullKeyCursor {
  next: number;
}

/**
 * A producer on a memory broker. `send` appends synchronously, in input
 * order, before it returns its (already settled) promise: there is no queue,
 * so no backpressure wait and nothing to flush, and successive calls are
 * appended in call order.
 *
 * Partition choice, as Kafka's Java clients: an explicit `partition` wins;
 * otherwise a non-null key goes to `toPositive(murmur2(UTF-8 key)) % partitions`;
 * null-key records are dealt round-robin over the partitions, one record at a
 * time, per producer and topic (Kafka's RoundRobinPartitioner — not the
 * sticky default — so a single small `send` still spreads; the memory broker
 * gains nothing from sticky batches).
 *
 * Record size is key + value + header bytes (core's `recordSize`); a larger
 * record than `maxRecordBytes` fails alone with ERR_RECORD_TOO_LARGE.
 */
export class MemoryProducer implements TransportProducer {
  readonly #engine: BrokerEngine;
  readonly #options: ResolvedProducerOptions;
  readonly #onClosed: () => void;
  readonly #hasher = new KeyHasher();
  readonly #cursors = new Map<string, NullKeyCursor>();
  #closed = false;

  constructor(engine: BrokerEngine, options: ResolvedProducerOptions, onClosed: () => void) {
    this.#engine = engine;
    this.#options = options;
    this.#onClosed = onClosed;
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  async connect(): Promise<void> {
    if (this.#closed) throw closedError('producer', 'connect()');
  }

  async send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    if (this.#closed) throw closedError('producer', 'send()');
    if (!Array.isArray(records)) {
      throw new ConfigError('memory send', [{ field: 'records', message: 'must be an array of records' }]);
    }
    return this.#append(records);
  }

  /** Nothing is ever buffered: resolves at once. */
  async flush(): Promise<void> {
    if (this.#closed) throw closedError('producer', 'flush()');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed();
  }

  #append(records: readonly ProducerRecord[]): SendResult[] {
    const maxRecordBytes = this.#engine.options.maxRecordBytes;
    const hasher = this.#hasher;
    const now = Date.now();
    const results = new Array<SendResult>(records.length);
    const touched: PartitionLog[] = [];
    let topicName: string | undefined;
    let topic: TopicState | undefined;
    let topicError: TributaryError | undefined;
    let cursor: NullKeyCursor | undefined;

    for (let i = 0; i < records.length; i++) {
      const record = records[i] as ProducerRecord;
      if (typeof record !== 'object' || record === null) {
        results[i] = {
          ok: false,
          topic: '',
          error: new TributaryError('ERR_PRODUCE', `records[${i}] is not a record`, { retriable: false }),
        };
        continue;
      }
      if (record.topic !== topicName || i === 0) {
        topicName = record.topic;
        topic = undefined;
        topicError = undefined;
        cursor = undefined;
        const found = this.#topicForProduce(topicName);
        if (found instanceof TributaryError) topicError = found;
        else topic = found;
      }
      if (topic === undefined) {
        const err = topicError as TributaryError;
        results[i] = failure(err.code, err.message, String(topicName), record);
        continue;
      }
      const name = topic.name;
      const partitions = topic.partitions;

      // Key: hashed (and measured) through the reusable scratch buffer.
      const key = record.key ?? null;
      let size = 0;
      let keyHash = 0;
      if (key !== null) {
        if (typeof key !== 'string') {
          results[i] = failure('ERR_PRODUCE', `record key must be a string or null (got ${typeof key})`, name, record);
          continue;
        }
        keyHash = hasher.hash(key);
        size = hasher.byteLength;
      }

      // Value: strings are encoded once here; bytes are stored as given (not copied).
      const raw = record.value;
      let value: Uint8Array | null;
      if (raw === null) value = null;
      else if (typeof raw === 'string') value = Buffer.from(raw, 'utf8');
      else if (raw instanceof Uint8Array) value = raw;
      else {
        results[i] = failure('ERR_PRODUCE', 'record value must be a Uint8Array, a string or null', name, record);
        continue;
      }
      if (value !== null) size += value.byteLength;

      // Headers: copied (so later changes by the caller do not reach consumers) and measured.
      let headers = EMPTY_HEADERS;
      const given = record.headers;
      if (given !== undefined && given !== null) {
        let copy: Record<string, string> | undefined;
        let bad: string | undefined;
        for (const h in given) {
          const hv = given[h];
          if (typeof hv !== 'string') {
            bad = h;
            break;
          }
          size += Buffer.byteLength(h) + Buffer.byteLength(hv);
          (copy ??= {})[h] = hv;
        }
        if (bad !== undefined) {
          results[i] = failure('ERR_PRODUCE', `header "${bad}" must have a string value`, name, record);
          continue;
        }
        if (copy !== undefined) headers = Object.freeze(copy);
      }

      if (size > maxRecordBytes) {
        results[i] = failure(
          'ERR_RECORD_TOO_LARGE',
          `record of ${size} bytes exceeds maxRecordBytes (${maxRecordBytes})`,
          name,
          record,
        );
        continue;
      }

      let timestamp = now;
      if (record.timestamp !== undefined) {
        timestamp = record.timestamp;
        if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
          results[i] = failure('ERR_PRODUCE', `record timestamp must be a non-negative integer (got ${String(timestamp)})`, name, record);
          continue;
        }
      }

      let partition: number;
      const explicit = record.partition;
      if (explicit !== undefined && explicit !== null) {
        if (!Number.isInteger(explicit) || explicit < 0 || explicit >= partitions.length) {
          results[i] = failure(
            'ERR_UNKNOWN_TOPIC',
            `partition ${String(explicit)} of topic "${name}" does not exist (${partitions.length} partitions)`,
            name,
            record,
          );
          continue;
        }
        partition = explicit;
      } else if (key !== null) {
        partition = toPositive(keyHash) % partitions.length;
      } else {
        cursor ??= this.#cursor(name);
        partition = cursor.next % partitions.length;
        cursor.next = (cursor.next + 1) % 0x40000000;
      }

      const log = partitions[partition] as PartitionLog;
      const offset = log.append(key, value, timestamp, headers);
      if (!log.pendingNotify) {
        log.pendingNotify = true;
        touched.push(log);
      }
      results[i] = { ok: true, topic: name, partition, offset };
    }

    // One wake-up per partition per call, after every record of the call is in.
    for (const log of touched) {
      log.pendingNotify = false;
      log.notify();
    }
    return results;
  }

  /** The topic, auto-created if the broker allows it, or the error every record to it gets. */
  #topicForProduce(name: string): TopicState | TributaryError {
    const engine = this.#engine;
    const existing = engine.topics.get(name);
    if (existing !== undefined) return existing;
    const context = { topic: name };
    if (!engine.options.autoCreateTopics) {
      return new TributaryError('ERR_UNKNOWN_TOPIC', `topic "${name}" does not exist (autoCreateTopics is off)`, { context });
    }
    const problem = topicNameProblem(name);
    if (problem !== undefined) {
      return new TributaryError('ERR_PRODUCE', `cannot create topic: name ${problem}`, { context, retriable: false });
    }
    this.#options.logger.debug({ topic: name, partitions: engine.options.defaultPartitions }, 'auto-creating topic');
    return engine.createTopic(name, engine.options.defaultPartitions);
  }

  #cursor(topic: string): NullKeyCursor {
    let cursor = this.#cursors.get(topic);
    if (cursor === undefined) this.#cursors.set(topic, (cursor = { next: 0 }));
    return cursor;
  }
}

function failure(code: ErrorCode, message: string, topic: string, record: ProducerRecord): SendResult {
  const key = typeof record.key === 'string' ? record.key : null;
  const partition = record.partition;
  return {
    ok: false,
    topic,
    error: new TributaryError(code, message, {
      retriable: false,
      context: { topic, key, ...(typeof partition === 'number' ? { partition } : {}) },
    }),
  };
}
