/**
 * Builders for events (core's CloudEvents envelope) and for the records and
 * messages that carry them, with defaults for every attribute a test does not
 * care about.
 */
import { createEvent, eventToRecord, type Codec, type Event, type Message, type ProducerRecord } from '@tributary/core';
import { DEFAULT_TEST_TOPIC, messageOf } from './records';

let eventCounter = 0;

/** Fields of an event to set; everything else gets a default. */
export type EventOverrides<T> = Partial<Event<T>>;

/**
 * An event: id `event-<n>` (unique per process), type `test.event`, source
 * `testutil`, time now (UTC), data `{}` — unless overridden. Validated and
 * frozen like one from core's createEvent (an invalid override throws
 * ConfigError).
 */
export function buildEvent<T = unknown>(overrides: EventOverrides<T> = {}): Event<T> {
  eventCounter += 1;
  const { time, data, ...rest } = overrides;
  const event = createEvent<T>({
    type: 'test.event',
    source: 'testutil',
    id: `event-${eventCounter}`,
    ...rest,
    data: (data === undefined && !('data' in overrides) ? {} : data) as T,
    ...(time === undefined ? {} : { now: () => new Date(time) }),
  });
  // createEvent normalises the clock to UTC ISO; a given time is kept as written.
  return time === undefined ? event : Object.freeze({ ...event, time });
}

export interface EventRecordOptions<T> {
  /** Default `test-topic`. */
  readonly topic?: string;
  /** Record key; default the event's subject (see core's eventToRecord). */
  readonly key?: string | null;
  /** Default core's jsonCodec(). */
  readonly codec?: Codec<T>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly partition?: number;
}

/** The record that publishes an event built from `overrides` (core's eventToRecord, binary mode). */
export function buildEventRecord<T = unknown>(overrides: EventOverrides<T> = {}, options: EventRecordOptions<T> = {}): ProducerRecord {
  return eventToRecord(buildEvent(overrides), {
    topic: options.topic ?? DEFAULT_TEST_TOPIC,
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.codec ? { codec: options.codec } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.partition === undefined ? {} : { partition: options.partition }),
  });
}

export interface EventMessageOptions<T> extends EventRecordOptions<T> {
  /** Default 0. */
  readonly offset?: number;
  /** Default: the event's time. */
  readonly timestamp?: number;
}

/** The message a consumer reads for an event built from `overrides`. */
export function buildEventMessage<T = unknown>(overrides: EventOverrides<T> = {}, options: EventMessageOptions<T> = {}): Message {
  const event = buildEvent(overrides);
  const record = eventToRecord(event, {
    topic: options.topic ?? DEFAULT_TEST_TOPIC,
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.codec ? { codec: options.codec } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  return messageOf(record, {
    partition: options.partition ?? 0,
    offset: options.offset ?? 0,
    timestamp: options.timestamp ?? Date.parse(event.time),
  });
}
