import type { SentRecord } from '../batch-producer';
import type { Codec } from '../codec';
import { ConfigCheck } from '../config';
import { TributaryError, errorMessage, isTributaryError } from '../errors';
import type { IdFactory } from '../ids';
import type { ProducerRecord } from '../message';
import { buildEventRecord, resolvePublisherOptions, sendOne, type PublishOptions } from '../publisher';
import type { SendResult, TransportProducer } from '../transport';
import type { EventRegistry } from './registry';

/**
 * One event for {@link Publisher.publishBatch}: type and data, plus the same
 * optional per-event fields as {@link PublishOptions} (`key` — the partition
 * key, also the `subject` unless one is given — `subject`, `extensions`,
 * `headers`, `schemaVersion`, `dataSchema`, `dataContentType`, `id`, `time`).
 */
export interface BusEvent<T = unknown> extends PublishOptions {
  /** A registered event type; its topic comes from the registry. */
  readonly type: string;
  readonly data: T;
}

export interface PublisherOptions {
  readonly producer: TransportProducer;
  readonly registry: EventRegistry;
  /** CloudEvents `source` of every event. */
  readonly source: string;
  /** Encodes `data` (seed 004's WithPublisherCodec). Default `jsonCodec()`. */
  readonly codec?: Codec<unknown>;
  /** Makes event ids (seed 004's WithIdentifierFactory). Default `uuidv4`. */
  readonly idFactory?: IdFactory;
  /** Clock for the event `time`. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/**
 * Publishes registered events to their topics (seed 004's Publisher). The
 * envelope is the same as EventPublisher's: fresh id, UTC time, the
 * configured source, data encoded with the codec.
 *
 * Unregistered types fail with ERR_EVENT_NOT_FOUND before anything is sent.
 * The publisher does not own the producer.
 */
export interface Publisher {
  /**
   * Publishes one event; rejects with a TributaryError on any failure
   * (ERR_CONFIG naming every invalid option, before anything is sent). The
   * third argument is the partition key (which is the `subject` too), or
   * {@link PublishOptions} for the key and the other per-event fields:
   * `publish(type, data, 'o-1')` is `publish(type, data, { key: 'o-1' })`.
   */
  publish<T>(type: string, data: T, keyOrOptions?: string | PublishOptions): Promise<SentRecord>;
  /**
   * Publishes many events in one batch (one transport `send`) and resolves
   * with one result per event, in order: a refused record does not fail the
   * others, so check `ok` on each. Rejects — with nothing sent — when a type
   * is not registered (ERR_EVENT_NOT_FOUND) or an event cannot be built
   * (ERR_ENCODE, or ERR_CONFIG: one ConfigError naming every bad field of
   * every event as `events[i].<field>`), and with a TributaryError when the
   * send call itself fails.
   */
  publishBatch(events: readonly BusEvent[]): Promise<SendResult[]>;
}

class RegistryPublisher implements Publisher {
  readonly #producer: TransportProducer;
  readonly #registry: EventRegistry;
  readonly #options: ReturnType<typeof resolvePublisherOptions>;

  constructor(options: PublisherOptions, resolved: ReturnType<typeof resolvePublisherOptions>) {
    this.#producer = options.producer;
    this.#registry = options.registry;
    this.#options = resolved;
  }

  async publish<T>(type: string, data: T, keyOrOptions?: string | PublishOptions): Promise<SentRecord> {
    // A string (even an empty one, refused as an invalid key) is the key of the original signature.
    const options = typeof keyOrOptions === 'string' ? { key: keyOrOptions } : keyOrOptions;
    return sendOne(this.#producer, this.#record('Publisher.publish', type, data, options));
  }

  async publishBatch(events: readonly BusEvent[]): Promise<SendResult[]> {
    const given: unknown = events; // checked untyped, so `events` keeps its element type
    if (!Array.isArray(given)) throw new TributaryError('ERR_CONFIG', 'publishBatch takes an array of events');
    if (events.length === 0) return [];
    const check = new ConfigCheck('Publisher.publishBatch');
    const records: ProducerRecord[] = [];
    events.forEach((event: unknown, i) => {
      if (typeof event !== 'object' || event === null) {
        check.problem(`events[${i}]`, 'must be an event object ({ type, data, ...options })');
        return;
      }
      const { type, data, ...options } = event as BusEvent;
      const record = check.nested(`events[${i}]`, () => this.#record('Publisher.publishBatch', type, data, options));
      if (record) records.push(record);
    });
    check.throwIfInvalid();
    try {
      return await this.#producer.send(records);
    } catch (err) {
      throw isTributaryError(err) ? err : new TributaryError('ERR_PRODUCE', `send failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  #record(component: string, type: string, data: unknown, options: PublishOptions | undefined): ProducerRecord {
    const topic = this.#registry.topicOf(type);
    return buildEventRecord(this.#options, component, topic, type, data, options);
  }
}

/** Creates a Publisher; options are validated once (every problem in one ConfigError). */
export function createPublisher(options: PublisherOptions): Publisher {
  const opts = options ?? ({} as PublisherOptions);
  const check = new ConfigCheck('Publisher')
    .check(typeof opts.producer?.send === 'function', 'producer', 'must be a TransportProducer')
    .check(typeof opts.registry?.topicOf === 'function', 'registry', 'must be an EventRegistry');
  return new RegistryPublisher(opts, resolvePublisherOptions('Publisher', opts, check));
}
