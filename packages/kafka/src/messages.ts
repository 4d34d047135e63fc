/**
 * Records between Tributary's shapes and the binding's: keys and header
 * values as UTF-8 strings, values as bytes, tombstones as null.
 */
import type { Headers, Message } from '@tributary/core';
import type { NativeMessage } from './native';

const EMPTY_HEADERS: Headers = Object.freeze({});

/**
 * A zero-length value that still has a data pointer. The binding hands
 * librdkafka a NULL payload for a plain empty Buffer, which Kafka stores as a
 * tombstone; a zero-length view into a non-empty buffer is sent as an empty
 * value. (The binding copies the payload, so sharing it is safe.)
 */
const EMPTY_VALUE: Buffer = Buffer.alloc(1).subarray(0, 0);

/** A consumed record as a Tributary message (header values decoded as UTF-8; a repeated header: last wins). */
export function toMessage(m: NativeMessage): Message {
  const rawKey = m.key;
  const key = rawKey === null || rawKey === undefined ? null : typeof rawKey === 'string' ? rawKey : rawKey.toString('utf8');
  let headers = EMPTY_HEADERS;
  const raw = m.headers;
  if (raw !== undefined && raw.length > 0) {
    const decoded: Record<string, string> = {};
    for (const header of raw) {
      for (const name in header) {
        const value = header[name];
        decoded[name] = typeof value === 'string' ? value : value === undefined || value === null ? '' : value.toString('utf8');
      }
    }
    headers = decoded;
  }
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key,
    value: m.value,
    timestamp: m.timestamp ?? 0,
    headers,
  };
}

/** A producer value as the binding wants it: bytes, or null for a tombstone. Undefined for an invalid value. */
export function toNativeValue(value: unknown): Buffer | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string') return value.length === 0 ? EMPTY_VALUE : Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) {
    if (value.byteLength === 0) return EMPTY_VALUE;
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return undefined;
}

/** Header names whose binding objects a {@link NativeHeaderList} keeps for reuse; past it, objects are made per record. */
const MAX_CACHED_HEADER_NAMES = 256;

/**
 * Builds the header list the binding wants (`[{ name: value }, …]`) from a
 * record's `{ name: value }` headers, reusing one array and one object per
 * header name from record to record. That is safe because the binding copies
 * headers into librdkafka synchronously inside `produce()`, and it matters:
 * a fresh array and object per header per record was the largest cost the
 * producer added on top of raw ckjs (≈ 1.3 µs per 100 B record with one
 * header, tools/bench/kafka/producer-overhead.mjs). A list is only valid
 * until the next {@link fill}.
 */
export class NativeHeaderList {
  readonly #list: Record<string, string>[] = [];
  readonly #objects = new Map<string, Record<string, string>>();
  /** After a fill: an upper bound of the UTF-8 bytes the headers add (a UTF-16 unit is at most 3 bytes). */
  bound = 0;
  /** After a fill that returned null: the header whose value is not a string, or `(headers)` when headers is not an object. */
  invalid = '';

  /** The binding's list for `headers`, undefined for none, or null when a value is not a string (see {@link invalid}). */
  fill(headers: unknown): Record<string, string>[] | undefined | null {
    this.bound = 0;
    if (headers === undefined || headers === null) return undefined;
    if (typeof headers !== 'object') {
      this.invalid = '(headers)';
      return null;
    }
    const list = this.#list;
    let n = 0;
    let bound = 0;
    for (const name in headers as Record<string, unknown>) {
      const value = (headers as Record<string, unknown>)[name];
      if (typeof value !== 'string') {
        this.invalid = name;
        list.length = 0;
        return null;
      }
      let object = this.#objects.get(name);
      if (object === undefined) {
        object = { [name]: value };
        // `object.__proto__ = value` would not set an own property: never reuse that one.
        if (this.#objects.size < MAX_CACHED_HEADER_NAMES && name !== '__proto__') this.#objects.set(name, object);
      } else {
        object[name] = value;
      }
      list[n++] = object;
      bound += name.length + value.length;
    }
    if (list.length !== n) list.length = n; // a builtin call: skip it when the count is unchanged
    this.bound = bound * 3;
    return n === 0 ? undefined : list;
  }
}

/** Bytes a header list adds to a record (names and values, UTF-8). */
export function headerBytes(headers: readonly Record<string, string>[]): number {
  let size = 0;
  for (const header of headers) {
    for (const name in header) size += Buffer.byteLength(name) + Buffer.byteLength(header[name] as string);
  }
  return size;
}
