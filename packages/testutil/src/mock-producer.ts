/**
 * A TransportProducer without a broker: records every call and record,
 * assigns partitions like Kafka (murmur2 by key) and offsets per partition,
 * and fails chosen records — for testing code that produces (batch producer,
 * event publisher, dead-letter middleware) without a transport.
 */
import {
  partitionKey,
  recordSize,
  TributaryError,
  type ErrorCode,
  type Message,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';
import { deferred, type Deferred } from './deferred';
import { partitionForKey as kafkaPartition } from '@tributary/core';
import { messageOf, textOf } from './records';


/** Decides whether a record fails: an error (or a code to build one from) fails it; undefined lets it through. */
export type RecordFailure = (record: ProducerRecord, index: number) => TributaryError | ErrorCode | undefined;

export interface MockProducerOptions {
  /** Partitions of every topic (a number) or per topic (a function). Default 1. */
  readonly partitions?: number | ((topic: string) => number);
  /** When given, records for other topics fail with ERR_UNKNOWN_TOPIC. Default: every topic exists. */
  readonly topics?: readonly string[];
  /** Records larger than this (key + value + headers) fail with ERR_RECORD_TOO_LARGE. Default: no limit. */
  readonly maxRecordBytes?: number;
  /** A standing failure rule, checked for every record (see also `failWhen`, `failNext`). */
  readonly failRecord?: RecordFailure;
}

/** A record the mock acknowledged, with where it landed. */
export interface ProducedRecord {
  readonly record: ProducerRecord;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

/** A record the mock failed, with the error its result carried. */
export interface FailedProduce {
  readonly record: ProducerRecord;
  readonly error: TributaryError;
}

/**
 * Implements the TransportProducer contract: one result per record in input
 * order, per-record failures never fail the call, `flush` waits for every
 * pending send, `close` flushes and is idempotent, later calls reject with
 * ERR_CLOSED.
 */
export class MockProducer implements TransportProducer {
  /** The records of every `send` call, one array per call, in call order. */
  readonly calls: (readonly ProducerRecord[])[] = [];
  /** Every record handed to `send`, in order (acknowledged or failed). */
  readonly records: ProducerRecord[] = [];
  /** Acknowledged records, in acknowledgement order. */
  readonly produced: ProducedRecord[] = [];
  /** Failed records, in order. */
  readonly failures: FailedProduce[] = [];
  /** How many times `connect` / `flush` were called. */
  connectCalls = 0;
  flushCalls = 0;

  readonly #options: MockProducerOptions;
  readonly #rules: RecordFailure[] = [];
  readonly #failNext: (TributaryError | ErrorCode)[] = [];
  readonly #rejectNext: TributaryError[] = [];
  readonly #offsets = new Map<string, number>();
  readonly #roundRobin = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  #hold: Deferred<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(options: MockProducerOptions = {}) {
    this.#options = options;
    if (options.failRecord) this.#rules.push(options.failRecord);
  }

  /** True once `close` has resolved. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Records handed to `send` whose results are not out yet. */
  get pendingSends(): number {
    return this.#pending.size;
  }

  /** Fails every record for which `predicate` is true, with `error` (default ERR_PRODUCE). */
  failWhen(predicate: (record: ProducerRecord, index: number) => boolean, error: TributaryError | ErrorCode = 'ERR_PRODUCE'): this {
    this.#rules.push((record, index) => (predicate(record, index) ? error : undefined));
    return this;
  }

  /** Fails the next `count` records, with `error` (default ERR_PRODUCE). */
  failNext(count = 1, error: TributaryError | ErrorCode = 'ERR_PRODUCE'): this {
    for (let i = 0; i < count; i++) this.#failNext.push(error);
    return this;
  }

  /** Rejects the next `send` call as a whole (a call-level failure such as a lost connection). */
  rejectNextSend(error: TributaryError | ErrorCode = 'ERR_CONNECTION'): this {
    this.#rejectNext.push(typeof error === 'string' ? new TributaryError(error, 'mock producer: send rejected') : error);
    return this;
  }

  /** Holds every result until `releaseAcks` (to test code that must wait for acknowledgements). */
  holdAcks(): this {
    this.#hold ??= deferred<void>();
    return this;
  }

  /** Releases results held since `holdAcks`. */
  releaseAcks(): void {
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.resolve();
  }

  /** Acknowledged records as the messages a consumer would read, optionally of one topic. */
  messages(topic?: string): Message[] {
    return this.produced
      .filter((p) => topic === undefined || p.topic === topic)
      .map((p) => messageOf(p.record, { partition: p.partition, offset: p.offset, timestamp: p.timestamp }));
  }

  /** Values (UTF-8 decoded; null for tombstones) of acknowledged records, optionally of one topic. */
  values(topic?: string): (string | null)[] {
    return this.produced.filter((p) => topic === undefined || p.topic === topic).map((p) => textOf(p.record.value));
  }

  /** Forgets recorded calls, records and results (rules, holds and offsets stay). */
  clear(): void {
    this.calls.length = 0;
    this.records.length = 0;
    this.produced.length = 0;
    this.failures.length = 0;
  }

  async connect(): Promise<void> {
    this.#assertOpen();
    this.connectCalls += 1;
  }

  send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    if (this.#closed || this.#closing) return Promise.reject(closedError());
    this.calls.push([...records]);
    const rejection = this.#rejectNext.shift();
    if (rejection) return Promise.reject(rejection);
    const startIndex = this.records.length;
    this.records.push(...records);
    const hold = this.#hold?.promise;
    const sent = (async () => {
      if (hold) await hold;
      return records.map((record, i) => this.#produceOne(record, startIndex + i));
    })();
    this.#pending.add(sent);
    const settle = (): void => void this.#pending.delete(sent);
    void sent.then(settle, settle);
    return sent;
  }

  async flush(): Promise<void> {
    this.flushCalls += 1;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
      this.#closed = true;
    })();
    return this.#closing;
  }

  #produceOne(record: ProducerRecord, index: number): SendResult {
    const error = this.#failureFor(record, index);
    if (error) {
      this.failures.push({ record, error });
      return { ok: false, topic: record.topic, error };
    }
    const partitions = this.#partitionsOf(record.topic);
    const partition = record.partition ?? this.#partitionFor(record, partitions);
    const key = partitionKey({ topic: record.topic, partition });
    const offset = this.#offsets.get(key) ?? 0;
    this.#offsets.set(key, offset + 1);
    const produced = { record, topic: record.topic, partition, offset, timestamp: record.timestamp ?? Date.now() };
    this.produced.push(produced);
    return { ok: true, topic: record.topic, partition, offset };
  }

  #failureFor(record: ProducerRecord, index: number): TributaryError | undefined {
    const context = { topic: record.topic, key: record.key ?? null };
    const forced = this.#failNext.shift();
    if (forced !== undefined) return toError(forced, record, context);
    for (const rule of this.#rules) {
      const outcome = rule(record, index);
      if (outcome !== undefined) return toError(outcome, record, context);
    }
    const { topics, maxRecordBytes } = this.#options;
    if (topics && !topics.includes(record.topic)) {
      return new TributaryError('ERR_UNKNOWN_TOPIC', `mock producer: unknown topic ${record.topic}`, { context });
    }
    const partitions = this.#partitionsOf(record.topic);
    if (record.partition !== undefined && (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= partitions)) {
      return new TributaryError('ERR_UNKNOWN_TOPIC', `mock producer: ${record.topic} has no partition ${record.partition}`, { context });
    }
    if (maxRecordBytes !== undefined && recordSize(record) > maxRecordBytes) {
      return new TributaryError('ERR_RECORD_TOO_LARGE', `mock producer: record of ${recordSize(record)} bytes exceeds ${maxRecordBytes}`, { context });
    }
    return undefined;
  }

  #partitionsOf(topic: string): number {
    const p = this.#options.partitions ?? 1;
    return typeof p === 'number' ? p : p(topic);
  }

  #partitionFor(record: ProducerRecord, partitions: number): number {
    if (record.key !== undefined && record.key !== null) return kafkaPartition(record.key, partitions);
    const next = this.#roundRobin.get(record.topic) ?? 0;
    this.#roundRobin.set(record.topic, next + 1);
    return next % partitions;
  }

  #assertOpen(): void {
    if (this.#closed || this.#closing) throw closedError();
  }
}

function toError(error: TributaryError | ErrorCode, record: ProducerRecord, context: { topic: string; key: string | null }): TributaryError {
  return typeof error === 'string' ? new TributaryError(error, `mock producer: record for ${record.topic} failed (${error})`, { context }) : error;
}

function closedError(): TributaryError {
  return new TributaryError('ERR_CLOSED', 'mock producer is closed');
}
