/**
 * The event envelope and its wire format: CloudEvents 1.0 in the Kafka
 * protocol binding's binary content mode (the data is the record value, the
 * attributes are `ce_`-prefixed headers), so other CloudEvents SDKs read what
 * Tributary writes and the other way round.
 */
import { ConfigCheck } from './config';
import { jsonCodec, validate, validateAsync, type Codec, type StandardSchemaV1 } from './codec';
import { TributaryError, isTributaryError, errorMessage, type RecordContext } from './errors';
import { uuidv4, type IdFactory } from './ids';
import type { Headers, Message, ProducerRecord } from './message';

/**
 * A fact that happened, with CloudEvents 1.0 attribute names. Events are
 * immutable; those from {@link createEvent} are frozen (the envelope, not
 * `data`).
 *
 * Where the seeds' envelope fields live:
 *
 * | seed field | here | CloudEvents attribute | Kafka header |
 * |---|---|---|---|
 * | 000 `event_id`, 001 `ID`, 004 `Message.ID` | `id` | `id` | `ce_id` |
 * | 000 `event_type`, 001 `Type` | `type` | `type` | `ce_type` |
 * | 001 `Source` (EventPublisher source) | `source` | `source` | `ce_source` |
 * | 000 `timestamp`, 001 `Timestamp`, 004 `Message.Time` | `time` | `time` | `ce_time` |
 * | 001 `Subject` (PublishKeyed key) | `subject` | `subject` | `ce_subject` (and the record key by default) |
 * | 001 `ContentType`, 004 `Message.ContentType` | `dataContentType` | `datacontenttype` | `content-type` |
 * | — | `dataSchema` | `dataschema` | `ce_dataschema` |
 * | 000 `schema_version`, 001 `Version` | `schemaVersion` | extension `schemaversion` | `ce_schemaversion` |
 * | 000 `tenant_id` | `extensions.tenantid` | extension `tenantid` | `ce_tenantid` |
 * | 000 `payload`, 001 `Data`, 004 `Message.Data` | `data` | `data` | the record value, encoded by a Codec |
 * | 004 `Message.Headers` | `extensions` (string-valued) | extensions | `ce_<name>` |
 * | 004 `StreamName`, `StreamKey` | — (record level) | — | the record's topic and key |
 */
export interface Event<T = unknown> {
  /** Unique per `source` (with `source`, identifies the event; consumers deduplicate on it). */
  readonly id: string;
  /** What happened, e.g. `order.created`; routers match on it. */
  readonly type: string;
  /** Who produced it: a service name or URI reference. */
  readonly source: string;
  /** When it happened, RFC 3339; UTC with millisecond precision when made by {@link createEvent}. */
  readonly time: string;
  /** What it is about, e.g. an order id; the default record key, so an entity's events stay in order. */
  readonly subject?: string;
  /** MIME type of the encoded data; defaults to the codec's `contentType` on the wire. */
  readonly dataContentType?: string;
  /** URI of the schema `data` adheres to. */
  readonly dataSchema?: string;
  /** Version of the data's schema (an extension attribute: `ce_schemaversion`). */
  readonly schemaVersion?: string;
  readonly data: T;
  /**
   * CloudEvents extension attributes, e.g. `{ tenantid: 'acme' }`. Names are
   * lowercase a–z and 0–9 (CloudEvents 1.0), at most 20 characters, and not a
   * name this envelope already uses.
   */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** The CloudEvents version Tributary writes and reads. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';

/** Kafka header names of the envelope (CloudEvents Kafka protocol binding, binary mode). */
export const EventHeaders = Object.freeze({
  specVersion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
  dataSchema: 'ce_dataschema',
  schemaVersion: 'ce_schemaversion',
  contentType: 'content-type',
} as const);

const CE_PREFIX = 'ce_';

/** Attribute names extensions may not take: the CloudEvents core attributes and `schemaversion`. */
const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
  'schemaversion',
]);

const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** True for a valid extension attribute name (lowercase a–z0–9, 1–20 characters, not reserved). */
export function isValidExtensionName(name: string): boolean {
  return EXTENSION_NAME.test(name) && !RESERVED_ATTRIBUTES.has(name);
}

// RFC 3339 §5.6 date-time: date 'T' time, optional fraction, 'Z' or a numeric offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function isRfc3339(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

function isValidTime(time: unknown): boolean {
  if (time === undefined) return true;
  if (time instanceof Date) return !Number.isNaN(time.getTime());
  return typeof time === 'string' && isRfc3339(time);
}

function describeTime(time: unknown): string {
  if (time instanceof Date) return 'an invalid Date';
  return typeof time === 'string' ? JSON.stringify(time) : typeof time;
}

/**
 * True for a header name the envelope owns on the wire: any `ce_` name
 * (CloudEvents attributes and extensions; compared case-insensitively, as
 * some SDKs lowercase header names) and `content-type`. Extra headers with
 * such names would be overwritten by {@link eventToRecord} or read back as
 * extensions by {@link eventFromMessage}, so the publishers refuse them.
 */
export function isEnvelopeHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith(CE_PREFIX) || lower === EventHeaders.contentType;
}

/** What {@link createEvent} takes. */
export interface CreateEventInput<T> {
  readonly type: string;
  readonly source: string;
  readonly data: T;
  readonly subject?: string;
  readonly dataContentType?: string;
  readonly dataSchema?: string;
  readonly schemaVersion?: string;
  readonly extensions?: Readonly<Record<string, string>>;
  /** A given id; default a fresh one from `idFactory`. */
  readonly id?: string;
  /**
   * When it happened, if not now (e.g. an outbox relay publishing a stored
   * event): a Date or an RFC 3339 string, written in UTC with millisecond
   * precision like every time createEvent makes. Default: `now()`.
   */
  readonly time?: Date | string;
  /** Default {@link uuidv4}. */
  readonly idFactory?: IdFactory;
  /** Clock for `time`. Default `() => new Date()`. */
  readonly now?: () => Date;
}

function checkEnvelope(check: ConfigCheck, e: Partial<Record<keyof Event, unknown>>): void {
  check
    .nonEmptyString(e.type, 'type')
    .nonEmptyString(e.source, 'source')
    .check(e.subject === undefined || (typeof e.subject === 'string' && e.subject.length > 0), 'subject', 'must be a non-empty string when set')
    .check(e.dataContentType === undefined || (typeof e.dataContentType === 'string' && e.dataContentType.length > 0), 'dataContentType', 'must be a non-empty string when set')
    .check(e.dataSchema === undefined || (typeof e.dataSchema === 'string' && e.dataSchema.length > 0), 'dataSchema', 'must be a non-empty string when set')
    .check(e.schemaVersion === undefined || (typeof e.schemaVersion === 'string' && e.schemaVersion.length > 0), 'schemaVersion', 'must be a non-empty string when set');
  const ext = e.extensions;
  if (ext === undefined) return;
  if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) {
    check.problem('extensions', 'must be an object of string values');
    return;
  }
  for (const [name, value] of Object.entries(ext)) {
    if (!isValidExtensionName(name)) {
      check.problem(
        `extensions.${name}`,
        RESERVED_ATTRIBUTES.has(name)
          ? 'is a reserved CloudEvents attribute name'
          : 'is not a valid CloudEvents extension name (lowercase a-z and 0-9, 1 to 20 characters)',
      );
    }
    if (typeof value !== 'string') check.problem(`extensions.${name}`, `must be a string (got ${typeof value})`);
  }
}

/**
 * Creates an event with a fresh id (uuidv4 unless `idFactory` is given) and
 * the current time in UTC.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid field.
 */
export function createEvent<T>(input: CreateEventInput<T>): Event<T> {
  const check = new ConfigCheck('event');
  checkEnvelope(check, input);
  check
    .check(input.id === undefined || (typeof input.id === 'string' && input.id.length > 0), 'id', 'must be a non-empty string when set')
    .check(isValidTime(input.time), 'time', `must be a valid Date or an RFC 3339 timestamp when set (got ${describeTime(input.time)})`)
    .fn(input.idFactory, 'idFactory')
    .fn(input.now, 'now')
    .throwIfInvalid();
  const id = input.id ?? (input.idFactory ?? uuidv4)();
  const time = (input.time !== undefined ? new Date(input.time) : input.now ? input.now() : new Date()).toISOString();
  const event: { -readonly [K in keyof Event<T>]: Event<T>[K] } = { id, type: input.type, source: input.source, time, data: input.data };
  if (input.subject !== undefined) event.subject = input.subject;
  if (input.dataContentType !== undefined) event.dataContentType = input.dataContentType;
  if (input.dataSchema !== undefined) event.dataSchema = input.dataSchema;
  if (input.schemaVersion !== undefined) event.schemaVersion = input.schemaVersion;
  if (input.extensions !== undefined) event.extensions = Object.freeze({ ...input.extensions });
  return Object.freeze(event);
}

/** Options of {@link eventToRecord}. */
export interface EventToRecordOptions<T> {
  readonly topic: string;
  /** Record key. Default: the event's `subject` (no key when it has none); `null` forces no key. */
  readonly key?: string | null;
  /** Encodes `data`. Default `jsonCodec()`. */
  readonly codec?: Codec<T>;
  /** More headers (e.g. trace context). The envelope's own headers win on a clash. */
  readonly headers?: Headers;
  /** Explicit partition. */
  readonly partition?: number;
}

const defaultCodec = jsonCodec();

/**
 * The record for an event: the value is `data` encoded with `codec`
 * (`null` when `data` is undefined — CloudEvents allow events without data),
 * the attributes are headers. The record timestamp is left to the producer
 * (send time): stamping it with the event time would let retention delete a
 * replayed old event at once.
 *
 * @throws ConfigError (ERR_CONFIG) when the event's attributes are invalid.
 * @throws TributaryError ERR_ENCODE when the codec cannot encode `data`.
 */
export function eventToRecord<T>(event: Event<T>, options: EventToRecordOptions<T>): ProducerRecord {
  const check = new ConfigCheck('event');
  checkEnvelope(check, event);
  check
    .nonEmptyString(event.id, 'id')
    .check(typeof event.time === 'string' && isRfc3339(event.time), 'time', `must be an RFC 3339 timestamp (got ${JSON.stringify(event.time)})`)
    .nonEmptyString(options.topic, 'topic')
    .throwIfInvalid();
  const codec = (options.codec ?? defaultCodec) as Codec<T>;
  let value: Uint8Array | null = null;
  if (event.data !== undefined) {
    try {
      value = codec.encode(event.data);
    } catch (err) {
      throw isTributaryError(err)
        ? err
        : new TributaryError('ERR_ENCODE', `cannot encode data of event ${event.id} (${event.type}): ${errorMessage(err)}`, { cause: err });
    }
  }
  const headers: Record<string, string> = { ...options.headers };
  headers[EventHeaders.specVersion] = CLOUDEVENTS_SPEC_VERSION;
  headers[EventHeaders.id] = event.id;
  headers[EventHeaders.source] = event.source;
  headers[EventHeaders.type] = event.type;
  headers[EventHeaders.time] = event.time;
  if (event.subject !== undefined) headers[EventHeaders.subject] = event.subject;
  if (event.dataSchema !== undefined) headers[EventHeaders.dataSchema] = event.dataSchema;
  if (event.schemaVersion !== undefined) headers[EventHeaders.schemaVersion] = event.schemaVersion;
  headers[EventHeaders.contentType] = event.dataContentType ?? codec.contentType;
  for (const [name, v] of Object.entries(event.extensions ?? {})) headers[CE_PREFIX + name] = v;

  const key = options.key === undefined ? event.subject : options.key;
  const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = { topic: options.topic, value, headers };
  if (key !== undefined) record.key = key;
  if (options.partition !== undefined) record.partition = options.partition;
  return record;
}

/**
 * True when a record carries a CloudEvent in binary mode: it has a
 * `ce_specversion` header (how the Kafka binding tells binary mode apart).
 */
export function isEventMessage(message: Pick<Message, 'headers'>): boolean {
  return typeof message.headers[EventHeaders.specVersion] === 'string';
}

const KNOWN_HEADERS: ReadonlySet<string> = new Set(Object.values(EventHeaders));

/**
 * Reads the event a record carries (binary mode).
 *
 * - `ce_id`, `ce_source`, `ce_type` and `ce_specversion` (= "1.0") are
 *   required; a missing or invalid one is an ERR_DECODE naming it.
 * - `ce_time` is optional in CloudEvents: when absent, `time` is the
 *   record's timestamp (UTC); when present it must be RFC 3339 and is kept
 *   as sent.
 * - Other `ce_<name>` headers with a valid extension name become
 *   `extensions`; headers that are not CloudEvents attributes are ignored
 *   (they stay on the message).
 * - `data` is the value decoded with `codec` (default `jsonCodec()`), or
 *   undefined for a record without value. Codec failures are rethrown as
 *   they are when they are TributaryErrors (ERR_DECODE, ERR_VALIDATION) and
 *   wrapped in ERR_DECODE otherwise.
 */
export function eventFromMessage<T = unknown>(message: Message, codec?: Codec<T>): Event<T> {
  const h = message.headers;
  const context: RecordContext = { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key };
  const where = `${message.topic}/${message.partition}@${message.offset}`;
  const required = (header: string): string => {
    const v = h[header];
    if (typeof v !== 'string' || v.length === 0) {
      throw new TributaryError('ERR_DECODE', `record ${where} is not a CloudEvent: missing attribute header ${header}`, { context });
    }
    return v;
  };
  const specVersion = required(EventHeaders.specVersion);
  if (specVersion !== CLOUDEVENTS_SPEC_VERSION) {
    throw new TributaryError('ERR_DECODE', `record ${where}: unsupported ${EventHeaders.specVersion} ${JSON.stringify(specVersion)} (expected "1.0")`, { context });
  }
  const id = required(EventHeaders.id);
  const source = required(EventHeaders.source);
  const type = required(EventHeaders.type);
  let time = h[EventHeaders.time];
  if (time === undefined) {
    time = new Date(message.timestamp).toISOString();
  } else if (!isRfc3339(time)) {
    throw new TributaryError('ERR_DECODE', `record ${where}: header ${EventHeaders.time} is not an RFC 3339 timestamp: ${JSON.stringify(time)}`, { context });
  }

  let data: T;
  if (message.value === null) {
    data = undefined as T;
  } else {
    const c = (codec ?? defaultCodec) as Codec<T>;
    try {
      data = c.decode(message.value);
    } catch (err) {
      if (isTributaryError(err)) throw err;
      throw new TributaryError('ERR_DECODE', `record ${where}: cannot decode data of event ${id} (${type}): ${errorMessage(err)}`, { cause: err, context });
    }
  }

  const event: { -readonly [K in keyof Event<T>]: Event<T>[K] } = { id, type, source, time, data };
  const subject = h[EventHeaders.subject];
  if (subject !== undefined) event.subject = subject;
  const contentType = h[EventHeaders.contentType];
  if (contentType !== undefined) event.dataContentType = contentType;
  const dataSchema = h[EventHeaders.dataSchema];
  if (dataSchema !== undefined) event.dataSchema = dataSchema;
  const schemaVersion = h[EventHeaders.schemaVersion];
  if (schemaVersion !== undefined) event.schemaVersion = schemaVersion;
  let extensions: Record<string, string> | undefined;
  for (const [header, v] of Object.entries(h)) {
    if (!header.startsWith(CE_PREFIX) || KNOWN_HEADERS.has(header)) continue;
    const name = header.slice(CE_PREFIX.length);
    if (!isValidExtensionName(name)) continue;
    (extensions ??= {})[name] = v;
  }
  if (extensions) event.extensions = Object.freeze(extensions);
  return Object.freeze(event);
}

/**
 * The event's data, typed. With a schema, `data` is validated (and
 * transformed) by it synchronously; without one it is returned as is, trusted
 * to be a `T` (as the codec decoded it).
 *
 * @throws ValidationError (ERR_VALIDATION) listing every issue, or
 *   ERR_VALIDATION when the schema is async (use {@link parseDataAsync}).
 */
export function parseData<T>(event: Pick<Event, 'data'>, schema?: StandardSchemaV1<unknown, T>): T {
  return schema ? validate(schema, event.data) : (event.data as T);
}

/** Like {@link parseData}, for async validators too. */
export async function parseDataAsync<T>(event: Pick<Event, 'data'>, schema?: StandardSchemaV1<unknown, T>): Promise<T> {
  return schema ? validateAsync(schema, event.data) : (event.data as T);
}
