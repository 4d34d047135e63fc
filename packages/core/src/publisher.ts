import type { SentRecord } from './batch-producer';
import { jsonCodec, type Codec } from './codec';
import { ConfigCheck, freezeOptions } from './config';
import { TributaryError, errorMessage, isTributaryError } from './errors';
import { createEvent, eventToRecord } from './event';
import { uuidv4, type IdFactory } from './ids';
import type { ProducerRecord } from './message';
import type { TransportProducer } from './transport';

export interface EventPublisherOptions {
  /** Who produces the events: the CloudEvents `source` of every event (a service name or URI reference). */
  readonly source: string;
  /** Encodes `data`. Default `jsonCodec()`. */
  readonly codec?: Codec<unknown>;
  /** Makes event ids. Default `uuidv4`. */
  readonly idFactory?: IdFactory;
  /** Clock for the event `time`. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/**
 * Publishes domain events without building envelopes by hand (seed 001's
 * EventPublisher): each call makes a CloudEvent with a fresh id, the current
 * time in UTC and the configured source, encodes `data` with the codec, and
 * sends it as one record (CloudEvents Kafka binding, binary mode).
 *
 * Every failure rejects with a TributaryError: invalid type (ERR_CONFIG),
 * data the codec cannot encode (ERR_ENCODE), the record's own send failure
 * (its transport error, e.g. ERR_RECORD_TOO_LARGE), or a failed send call
 * (the transport's error, or ERR_PRODUCE wrapping a foreign one).
 *
 * The publisher does not own the producer: closing it is the caller's job.
 */
export interface EventPublisher {
  /** Publishes `data` as an event of `type` on `topic`, without key (the transport spreads such records). */
  publish<T>(topic: string, type: string, data: T): Promise<SentRecord>;
  /**
   * Publishes with a partition key: `key` becomes both the event `subject`
   * and the record key, so an entity's events stay in order on one partition.
   */
  publishKeyed<T>(topic: string, type: string, data: T, key: string): Promise<SentRecord>;
  /** The producer events are sent with. */
  producer(): TransportProducer;
  /** The configured `source`. */
  source(): string;
}

interface ResolvedPublisherOptions {
  readonly source: string;
  readonly codec: Codec<unknown>;
  readonly idFactory: IdFactory;
  readonly now: () => Date;
}

/** Validates publisher options (shared with the Bus publisher); every problem in one ConfigError. */
export function resolvePublisherOptions(component: string, options: Partial<EventPublisherOptions>, check = new ConfigCheck(component)): ResolvedPublisherOptions {
  const opts = options ?? {};
  check
    .nonEmptyString(opts.source, 'source')
    .check(
      opts.codec === undefined || (typeof opts.codec?.encode === 'function' && typeof opts.codec?.contentType === 'string'),
      'codec',
      'must be a Codec (contentType, encode, decode)',
    )
    .fn(opts.idFactory, 'idFactory')
    .fn(opts.now, 'now')
    .throwIfInvalid();
  return freezeOptions({
    source: opts.source as string,
    codec: opts.codec ?? jsonCodec(),
    idFactory: opts.idFactory ?? uuidv4,
    now: opts.now ?? (() => new Date()),
  });
}

/** The record of one event; key (when given) is the subject and the record key. */
export function buildEventRecord(options: ResolvedPublisherOptions, topic: string, type: string, data: unknown, key?: string): ProducerRecord {
  const event = createEvent({
    type,
    source: options.source,
    data,
    idFactory: options.idFactory,
    now: options.now,
    ...(key === undefined ? {} : { subject: key }),
  });
  return eventToRecord(event, { topic, codec: options.codec, ...(key === undefined ? {} : { key }) });
}

/** Sends one record and resolves with where it landed; every failure is a TributaryError. */
export async function sendOne(producer: TransportProducer, record: ProducerRecord): Promise<SentRecord> {
  let result;
  try {
    [result] = await producer.send([record]);
  } catch (err) {
    throw isTributaryError(err) ? err : new TributaryError('ERR_PRODUCE', `send failed: ${errorMessage(err)}`, { cause: err, context: { topic: record.topic, key: record.key ?? null } });
  }
  if (result === undefined) throw new TributaryError('ERR_PRODUCE', 'transport returned no result for the record', { context: { topic: record.topic } });
  if (!result.ok) throw result.error;
  return result;
}

class EnvelopePublisher implements EventPublisher {
  readonly #producer: TransportProducer;
  readonly #options: ResolvedPublisherOptions;

  constructor(producer: TransportProducer, options: ResolvedPublisherOptions) {
    this.#producer = producer;
    this.#options = options;
  }

  async publish<T>(topic: string, type: string, data: T): Promise<SentRecord> {
    return sendOne(this.#producer, buildEventRecord(this.#options, topic, type, data));
  }

  async publishKeyed<T>(topic: string, type: string, data: T, key: string): Promise<SentRecord> {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TributaryError('ERR_CONFIG', `publishKeyed: key must be a non-empty string (got ${JSON.stringify(key)})`);
    }
    return sendOne(this.#producer, buildEventRecord(this.#options, topic, type, data, key));
  }

  producer(): TransportProducer {
    return this.#producer;
  }

  source(): string {
    return this.#options.source;
  }
}

/** Creates an EventPublisher over `producer`; options are validated once and frozen. */
export function createEventPublisher(producer: TransportProducer, options: EventPublisherOptions): EventPublisher {
  const check = new ConfigCheck('EventPublisher');
  check.check(typeof producer === 'object' && producer !== null && typeof producer.send === 'function', 'producer', 'must be a TransportProducer');
  return new EnvelopePublisher(producer, resolvePublisherOptions('EventPublisher', options, check));
}
