/**
 * Builders for the records tests pass around: sensible defaults, any field
 * overridable, values as strings for readability (encoded as UTF-8 like
 * ProducerRecord values).
 */
import { toBytes, type Headers, type Message, type ProducerRecord, type RecordBatch } from '@tributary/core';

/** Topic the builders use when none is given. */
export const DEFAULT_TEST_TOPIC = 'test-topic';

/** Fields of a {@link Message} to override; `value` may be a string (encoded as UTF-8). */
export type MessageOverrides = Partial<Omit<Message, 'value'>> & { readonly value?: Uint8Array | string | null };

/**
 * A consumed record: topic `test-topic`, partition 0, offset 0, no key, value
 * `"value"`, timestamp now, no headers — unless overridden. Frozen, like the
 * messages a transport delivers.
 */
export function buildMessage(overrides: MessageOverrides = {}): Message {
  const value = overrides.value === undefined ? toBytes('value') : toBytes(overrides.value);
  return Object.freeze({
    topic: overrides.topic ?? DEFAULT_TEST_TOPIC,
    partition: overrides.partition ?? 0,
    offset: overrides.offset ?? 0,
    key: overrides.key ?? null,
    value,
    timestamp: overrides.timestamp ?? Date.now(),
    headers: Object.freeze({ ...(overrides.headers ?? {}) }),
  });
}

/**
 * `count` messages with consecutive offsets starting at `overrides.offset`
 * (default 0) and values `value-0`, `value-1`, … unless overridden.
 * `overrides` may be a function of the index (then each message's offset is
 * its own `offset`, or the index).
 */
export function buildMessages(count: number, overrides: MessageOverrides | ((index: number) => MessageOverrides) = {}): Message[] {
  return Array.from({ length: count }, (_, i) => {
    const o = typeof overrides === 'function' ? overrides(i) : overrides;
    // A function gives each message its own offset (default: the index); a
    // plain object's offset is where the run starts.
    const offset = typeof overrides === 'function' ? (o.offset ?? i) : (o.offset ?? 0) + i;
    return buildMessage({ value: `value-${i}`, ...o, offset });
  });
}

/** A record to send: topic `test-topic`, value `"value"` unless overridden. */
export function buildRecord(overrides: Partial<ProducerRecord> = {}): ProducerRecord {
  return { topic: DEFAULT_TEST_TOPIC, value: 'value', ...overrides };
}

/** `count` records with values `value-0`, `value-1`, … unless overridden (`overrides` may be a function of the index). */
export function buildRecords(count: number, overrides: Partial<ProducerRecord> | ((index: number) => Partial<ProducerRecord>) = {}): ProducerRecord[] {
  return Array.from({ length: count }, (_, i) => buildRecord({ value: `value-${i}`, ...(typeof overrides === 'function' ? overrides(i) : overrides) }));
}

export interface BatchOverrides {
  readonly topic?: string;
  readonly partition?: number;
  /** Offset of the first message. Default 0. */
  readonly offset?: number;
  /** Number of messages when `messages` is not given. Default 1. */
  readonly count?: number;
  /** Per-message overrides; topic, partition and offsets come from the batch. */
  readonly messages?: readonly MessageOverrides[];
  readonly highWatermark?: number;
}

/** A batch of one partition with consecutive offsets, as a consumer delivers it. */
export function buildBatch(overrides: BatchOverrides = {}): RecordBatch {
  const topic = overrides.topic ?? DEFAULT_TEST_TOPIC;
  const partition = overrides.partition ?? 0;
  const offset = overrides.offset ?? 0;
  const specs = overrides.messages ?? Array.from({ length: overrides.count ?? 1 }, () => ({}));
  const messages = specs.map((m, i) => buildMessage({ value: `value-${offset + i}`, ...m, topic, partition, offset: offset + i }));
  return Object.freeze({
    topic,
    partition,
    messages: Object.freeze(messages),
    ...(overrides.highWatermark === undefined ? {} : { highWatermark: overrides.highWatermark }),
  });
}

/** The message a consumer would read for `record` once it sits at `partition`/`offset`. */
export function messageOf(record: ProducerRecord, at: { partition: number; offset: number; timestamp?: number }): Message {
  const headers: Headers = record.headers ?? {};
  return buildMessage({
    topic: record.topic,
    partition: at.partition,
    offset: at.offset,
    key: record.key ?? null,
    value: record.value,
    timestamp: record.timestamp ?? at.timestamp ?? Date.now(),
    headers,
  });
}

const decoder = new TextDecoder();

/** A record or message value as text: UTF-8 decoded bytes, the string itself, or null for a tombstone. */
export function textOf(value: Uint8Array | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : decoder.decode(value);
}
