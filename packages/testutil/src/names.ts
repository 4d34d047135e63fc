/**
 * Unique topic and group names, so tests never see each other's records or
 * offsets — also across processes and runs against the same broker.
 */
import { randomBytes } from 'node:crypto';

/** Kafka accepts `[a-zA-Z0-9._-]`, at most 249 characters. */
const MAX_NAME_LENGTH = 249;
const INVALID_CHARS = /[^a-zA-Z0-9._-]+/g;

// One random part per process (two Jest workers, or two runs against one
// broker, never collide) and a counter within it (names are unique without
// relying on chance).
const runId = randomBytes(4).toString('hex');
let counter = 0;

/**
 * `<prefix>-<random>-<counter>`: unique per call, valid as a Kafka topic and
 * group name. Characters outside `[a-zA-Z0-9._-]` in `prefix` become `-` and
 * a long prefix is cut so the whole name fits Kafka's 249-character limit.
 */
export function uniqueName(prefix = 'test'): string {
  counter += 1;
  const suffix = `-${runId}-${counter}`;
  const clean = prefix.replace(INVALID_CHARS, '-').slice(0, MAX_NAME_LENGTH - suffix.length) || 'test';
  return `${clean}${suffix}`;
}

/** A unique topic name (see {@link uniqueName}). Create the topic through `transport.admin()` before use. */
export function uniqueTopic(prefix = 'topic'): string {
  return uniqueName(prefix);
}

/** A unique consumer group id (see {@link uniqueName}). */
export function uniqueGroup(prefix = 'group'): string {
  return uniqueName(prefix);
}
