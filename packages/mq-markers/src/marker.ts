/**
 * The marker wire format: one record on the markers topic per protocol event
 * of one queue message.
 *
 * Key (UTF-8 string): `<queue partition>:<queue offset>`, e.g. `3:1042` —
 * the message the marker is about (kmq keys markers by partition and offset
 * too). A markers topic belongs to one queue.
 *
 * Value (bytes, big-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 0 | format version, `1` |
 * | 1 | kind: `1` start, `2` keep-alive, `3` end |
 * | 2–9 | start and keep-alive only: redelivery deadline, epoch ms, unsigned 64-bit |
 *
 * So a start or keep-alive marker is 10 bytes and an end marker 2. The record
 * timestamp is the writer's clock at the time of writing; the redeliverer
 * uses it to judge time while it catches up on a backlog of markers.
 *
 * Partitioning: a marker is always written to the markers partition with the
 * same number as the queue partition of its message, so every marker of one
 * message lands in one markers partition, in the order it was written.
 */
import type { Message } from '@tributary/core';

/** Current format version (byte 0 of every marker value). */
export const MARKER_FORMAT_VERSION = 1;

/** Marker kinds and their byte codes. */
export const MarkerKinds = {
  start: 1,
  'keep-alive': 2,
  end: 3,
} as const;

export type MarkerKind = keyof typeof MarkerKinds;

/** A decoded marker value. */
export type Marker =
  | {
      /** Processing began (`start`) or goes on (`keep-alive`); redeliver unless ended by `deadline`. */
      readonly kind: 'start' | 'keep-alive';
      /** Epoch ms after which the message is redelivered unless an end marker came first. */
      readonly deadline: number;
    }
  | { readonly kind: 'end' };

/** The queue message a marker is about: its partition and offset (a core Message fits). */
export type MarkerTarget = Pick<Message, 'partition' | 'offset'>;

const TWO_POW_32 = 0x1_0000_0000;

/** `<partition>:<offset>` of the message. */
export function encodeMarkerKey(target: MarkerTarget): string {
  return `${target.partition}:${target.offset}`;
}

/** Parses a marker key; undefined when it is not one. */
export function decodeMarkerKey(key: string | null): MarkerTarget | undefined {
  if (key === null) return undefined;
  const colon = key.indexOf(':');
  if (colon <= 0) return undefined;
  const partition = parseNonNegativeInteger(key.slice(0, colon));
  const offset = parseNonNegativeInteger(key.slice(colon + 1));
  if (partition === undefined || offset === undefined) return undefined;
  return { partition, offset };
}

/** Encodes a marker value (10 bytes for start and keep-alive, 2 for end). */
export function encodeMarkerValue(marker: Marker): Uint8Array {
  if (marker.kind === 'end') return new Uint8Array([MARKER_FORMAT_VERSION, MarkerKinds.end]);
  const deadline = marker.deadline;
  if (!Number.isSafeInteger(deadline) || deadline < 0) {
    throw new RangeError(`marker deadline must be a non-negative safe integer (got ${deadline})`);
  }
  const bytes = new Uint8Array(10);
  const view = new DataView(bytes.buffer);
  bytes[0] = MARKER_FORMAT_VERSION;
  bytes[1] = MarkerKinds[marker.kind];
  view.setUint32(2, Math.floor(deadline / TWO_POW_32));
  view.setUint32(6, deadline % TWO_POW_32);
  return bytes;
}

/**
 * Decodes a marker value; undefined for anything this version does not
 * understand (another format version, an unknown kind, a short value), which
 * readers skip.
 */
export function decodeMarkerValue(value: Uint8Array | null): Marker | undefined {
  if (value === null || value.length < 2 || value[0] !== MARKER_FORMAT_VERSION) return undefined;
  const kind = value[1];
  if (kind === MarkerKinds.end) return END;
  if (kind !== MarkerKinds.start && kind !== MarkerKinds['keep-alive']) return undefined;
  if (value.length < 10) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const deadline = view.getUint32(2) * TWO_POW_32 + view.getUint32(6);
  return { kind: kind === MarkerKinds.start ? 'start' : 'keep-alive', deadline };
}

const END: Marker = Object.freeze({ kind: 'end' });

function parseNonNegativeInteger(text: string): number | undefined {
  if (text.length === 0 || text.length > 16 || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
