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

/**
 * Headers as the binding wants them (one object per header), or undefined
 * for none. Returns the name of the first header whose value is not a
 * string when there is one.
 */
export function toNativeHeaders(headers: unknown): Record<string, string>[] | undefined | { readonly invalid: string } {
  if (headers === undefined || headers === null) return undefined;
  if (typeof headers !== 'object') return { invalid: '(headers)' };
  let list: Record<string, string>[] | undefined;
  for (const name in headers as Record<string, unknown>) {
    const value = (headers as Record<string, unknown>)[name];
    if (typeof value !== 'string') return { invalid: name };
    (list ??= []).push({ [name]: value });
  }
  return list;
}

/** Bytes a header list adds to a record (names and values, UTF-8). */
export function headerBytes(headers: readonly Record<string, string>[]): number {
  let size = 0;
  for (const header of headers) {
    for (const name in header) size += Buffer.byteLength(name) + Buffer.byteLength(header[name] as string);
  }
  return size;
}
