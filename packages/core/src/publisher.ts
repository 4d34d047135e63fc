import type { SentRecord } from './batch-producer';
import { jsonCodec, type Codec } from './codec';
import { ConfigCheck, freezeOptions } from './config';
import { TributaryError, errorMessage, isTributaryError } from './errors';
import { createEvent, eventToRecord, isEnvelopeHeader, type Event } from './event';
import { uuidv4, type IdFactory } from './ids';
import type { Headers, ProducerRecord } from './message';
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
 * Per-event envelope fields and headers for one publish call (EventPublisher,
 * the Bus Publisher, and each BusEvent). The names are the {@link Event}
 * fields {@link createEvent} takes, plus the record-level `key` and
 * `headers` of {@link eventToRecord}; validation is theirs too, and every
 * problem is reported in one ConfigError (ERR_CONFIG) naming the field, e.g.
 * `extensions.TenantId` or `headers.ce_type`.
 *
 * ```ts
 * await bus.publish('order.created', order, {
 *   key: order.id,
 *   extensions: { tenantid: 'acme' },      // ce_tenantid (seed 000's TenantID)
 *   headers: { traceparent },              // plain record headers (seed 004's GetHeaders)
 *   schemaVersion: '2',
 * });
 * ```
 */
export interface PublishOptions {
  /**
   * Record (partition) key. A string is also the event `subject` unless
   * `subject` is given; `null` sends no key even when the event has a
   * subject. Default: the `subject`, or no key.
   */
  readonly key?: string | null;
  /** What the event is about; the record key too when `key` is not given. */
  readonly subject?: string;
  /**
   * CloudEvents extension attributes, written as `ce_<name>` headers, e.g.
   * `{ tenantid: 'acme' }`. Names are lowercase a–z and 0–9, at most 20
   * characters, not a core attribute name (see {@link isValidExtensionName}).
   */
  readonly extensions?: Readonly<Record<string, string>>;
  /**
   * Extra record headers (trace context, routing hints). Names the envelope
   * owns — any `ce_` prefix, any case, and `content-type` — are refused
   * (ERR_CONFIG): set those through the envelope fields and `extensions`.
   * Consumers read them from `message.headers`; they are not part of the event.
   */
  readonly headers?: Headers;
  /** Version of the data's schema (`ce_schemaversion`; seed 000's SchemaVersion, seed 001's Version). */
  readonly schemaVersion?: string;
  /** URI of the schema `data` adheres to (`ce_dataschema`). */
  readonly dataSchema?: string;
  /** The `content-type` header; default the codec's. Only declares the type: the codec still encodes `data`. */
  readonly dataContentType?: string;
  /** A given event id (e.g. one already stored in an outbox); default a fresh one from the publisher's `idFactory`. */
  readonly id?: string;
  /** When it happened, if not now: a Date or an RFC 3339 string, written in UTC. Default: the publisher's clock. */
  readonly time?: Date | string;
}

/**
 * Publishes domain events without building envelopes by hand (seed 001's
 * EventPublisher): each call makes a CloudEvent with a fresh id, the current
 * time in UTC and the configured source, encodes `data` with the codec, and
 * sends it as one record (CloudEvents Kafka binding, binary mode).
 *
 * Per-call {@link PublishOptions} set the key, subject, extensions (e.g. a
 * tenant id), extra headers and the other envelope fields.
 *
 * Every failure rejects with a TributaryError: an invalid type or option
 * (ERR_CONFIG, one ConfigError naming every bad field), data the codec cannot
 * encode (ERR_ENCODE), the record's own send failure (its transport error,
 * e.g. ERR_RECORD_TOO_LARGE), or a failed send call (the transport's error,
 * or ERR_PRODUCE wrapping a foreign one). Nothing is sent when the event
 * cannot be built.
 *
 * The publisher does not own the producer: closing it is the caller's job.
 */
export interface EventPublisher {
  /**
   * Publishes `data` as an event of `type` on `topic`. Without a `key` (or
   * `subject`) in `options` the record has no key and the transport spreads
   * such records.
   */
  publish<T>(topic: string, type: string, data: T, options?: PublishOptions): Promise<SentRecord>;
  /**
   * Publishes with a partition key: `key` becomes both the event `subject`
   * (unless `options.subject` is given) and the record key, so an entity's
   * events stay in order on one partition. `options` may not repeat `key`.
   */
  publishKeyed<T>(topic: string, type: string, data: T, key: string, options?: Omit<PublishOptions, 'key'>): Promise<SentRecord>;
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

function isOptionsObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the fields of PublishOptions that createEvent does not check (key,
 * headers) and returns the options typed: `{}` when absent or not an object
 * (then a problem is recorded).
 */
function checkRecordOptions(check: ConfigCheck, given: unknown): PublishOptions {
  if (given === undefined) return {};
  if (!isOptionsObject(given)) {
    check.problem('options', 'must be an object of publish options');
    return {};
  }
  const o = given as PublishOptions;
  check.check(o.key === undefined || o.key === null || (typeof o.key === 'string' && o.key.length > 0), 'key', `must be a non-empty string or null when set (got ${JSON.stringify(o.key)})`);
  const headers: unknown = o.headers;
  if (headers === undefined) return o;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    check.problem('headers', 'must be an object of string values');
    return o;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.length === 0) check.problem('headers', 'must not have an empty header name');
    else if (isEnvelopeHeader(name)) {
      check.problem(`headers.${name}`, 'is a header the CloudEvents envelope owns (ce_* and content-type); set it through the event fields or extensions');
    }
    if (typeof value !== 'string') check.problem(`headers.${name}`, `must be a string (got ${typeof value})`);
  }
  return o;
}

/**
 * The record of one event. A string `key` is the record key and, unless
 * `subject` is given, the subject; otherwise the subject is the default key
 * (eventToRecord's rule). Every invalid field is named in one ConfigError
 * from `component`.
 */
export function buildEventRecord(
  options: ResolvedPublisherOptions,
  component: string,
  topic: string,
  type: string,
  data: unknown,
  publish?: PublishOptions,
): ProducerRecord {
  const check = new ConfigCheck(component).nonEmptyString(topic, 'topic');
  const o = checkRecordOptions(check, publish);
  // An invalid key is reported once, as `key`, not again as the subject derived from it.
  const subject = o.subject ?? (typeof o.key === 'string' && o.key.length > 0 ? o.key : undefined);
  const event = check.nested('', () =>
    createEvent({
      type,
      source: options.source,
      data,
      idFactory: options.idFactory,
      now: options.now,
      ...(subject === undefined ? {} : { subject }),
      ...(o.extensions === undefined ? {} : { extensions: o.extensions }),
      ...(o.schemaVersion === undefined ? {} : { schemaVersion: o.schemaVersion }),
      ...(o.dataSchema === undefined ? {} : { dataSchema: o.dataSchema }),
      ...(o.dataContentType === undefined ? {} : { dataContentType: o.dataContentType }),
      ...(o.id === undefined ? {} : { id: o.id }),
      ...(o.time === undefined ? {} : { time: o.time }),
    }),
  );
  check.throwIfInvalid();
  // nested() returns undefined only after recording a problem, so the event exists here.
  return eventToRecord(event as Event<unknown>, {
    topic,
    codec: options.codec,
    ...(o.key === undefined ? {} : { key: o.key }),
    ...(o.headers === undefined ? {} : { headers: o.headers }),
  });
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

  async publish<T>(topic: string, type: string, data: T, options?: PublishOptions): Promise<SentRecord> {
    return sendOne(this.#producer, buildEventRecord(this.#options, 'EventPublisher.publish', topic, type, data, options));
  }

  async publishKeyed<T>(topic: string, type: string, data: T, key: string, options?: Omit<PublishOptions, 'key'>): Promise<SentRecord> {
    const given: unknown = options;
    const check = new ConfigCheck('EventPublisher.publishKeyed')
      .nonEmptyString(key, 'key')
      .check(given === undefined || isOptionsObject(given), 'options', 'must be an object of publish options')
      .check(
        !isOptionsObject(given) || !('key' in given),
        'options.key',
        'must not be set: publishKeyed takes the key as its argument (use publish with options.key instead)',
      );
    check.throwIfInvalid();
    return sendOne(this.#producer, buildEventRecord(this.#options, 'EventPublisher.publishKeyed', topic, type, data, { ...options, key }));
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
