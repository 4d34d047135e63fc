/**
 * Record headers. Kafka header values are bytes; Tributary carries them as
 * UTF-8 strings (what the event envelope, trace context and dead-letter
 * metadata need). A transport decodes incoming header bytes as UTF-8; when a
 * key repeats, the last value wins.
 */
export type Headers = Readonly<Record<string, string>>;

/** A partition of a topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * A position in a partition. By Kafka's convention a committed `offset` is the
 * offset of the *next* record to read (last processed + 1).
 */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/**
 * A record read from a topic. Immutable: middleware that wants to change a
 * record passes a copy on.
 *
 * Offsets are JavaScript numbers: exact up to 2^53, far beyond any real log.
 */
export interface Message {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** UTF-8 key, or null when the record has none. */
  readonly key: string | null;
  /** Payload bytes, or null for a tombstone. */
  readonly value: Uint8Array | null;
  /** Milliseconds since the epoch (the record's create or log-append time). */
  readonly timestamp: number;
  readonly headers: Headers;
}

/** A record to publish. */
export interface ProducerRecord {
  readonly topic: string;
  /** Records with the same key land in the same partition (murmur2, as Kafka's Java clients). */
  readonly key?: string | null;
  /** Payload; null publishes a tombstone. Strings are encoded as UTF-8. */
  readonly value: Uint8Array | string | null;
  readonly headers?: Headers;
  /** Explicit partition; overrides the key-based choice. */
  readonly partition?: number;
  /** Milliseconds since the epoch; defaults to the send time. */
  readonly timestamp?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a producer value to bytes (strings as UTF-8). */
export function toBytes(value: Uint8Array | string): Uint8Array;
export function toBytes(value: Uint8Array | string | null): Uint8Array | null;
export function toBytes(value: Uint8Array | string | null): Uint8Array | null {
  if (value === null) return null;
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** Decodes a record value as UTF-8 (null stays null). */
export function valueAsString(message: Pick<Message, 'value'>): string | null {
  return message.value === null ? null : decoder.decode(message.value);
}

/** Size in bytes a record takes in a batch: key + value + headers. */
export function recordSize(record: ProducerRecord | Message): number {
  let size = 0;
  if (record.key) size += Buffer.byteLength(record.key);
  const v = record.value;
  if (v !== null && v !== undefined) size += typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
  if (record.headers) {
    for (const [k, hv] of Object.entries(record.headers)) size += Buffer.byteLength(k) + Buffer.byteLength(hv);
  }
  return size;
}

/** `topic/partition` — a stable map key for a partition. */
export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}
