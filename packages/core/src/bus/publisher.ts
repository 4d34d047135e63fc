import type { SentRecord } from '../batch-producer';
import type { Codec } from '../codec';
import { ConfigCheck } from '../config';
import { TributaryError, errorMessage, isTributaryError } from '../errors';
import type { IdFactory } from '../ids';
import type { ProducerRecord } from '../message';
import { buildEventRecord, resolvePublisherOptions, sendOne } from '../publisher';
import type { SendResult, TransportProducer } from '../transport';
import type { EventRegistry } from './registry';

/** One event for {@link Publisher.publishBatch}. */
export interface BusEvent<T = unknown> {
  /** A registered event type; its topic comes from the registry. */
  readonly type: string;
  readonly data: T;
  /** Partition key; becomes the event `subject` too. */
  readonly key?: string;
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
  /** Publishes one event; rejects with a TributaryError on any failure. */
  publish<T>(type: string, data: T, key?: string): Promise<SentRecord>;
  /**
   * Publishes many events in one batch (one transport `send`) and resolves
   * with one result per event, in order: a refused record does not fail the
   * others, so check `ok` on each. Rejects — with nothing sent — when a type
   * is not registered (ERR_EVENT_NOT_FOUND) or an event cannot be built
   * (ERR_CONFIG, ERR_ENCODE), and with a TributaryError when the send call
   * itself fails.
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

  async publish<T>(type: string, data: T, key?: string): Promise<SentRecord> {
    return sendOne(this.#producer, this.#record({ type, data, ...(key === undefined ? {} : { key }) }));
  }

  async publishBatch(events: readonly BusEvent[]): Promise<SendResult[]> {
    const given: unknown = events; // checked untyped, so `events` keeps its element type
    if (!Array.isArray(given)) throw new TributaryError('ERR_CONFIG', 'publishBatch takes an array of events');
    if (events.length === 0) return [];
    const records = events.map((e) => this.#record(e));
    try {
      return await this.#producer.send(records);
    } catch (err) {
      throw isTributaryError(err) ? err : new TributaryError('ERR_PRODUCE', `send failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  #record(event: BusEvent): ProducerRecord {
    if (event.key !== undefined && (typeof event.key !== 'string' || event.key.length === 0)) {
      throw new TributaryError('ERR_CONFIG', `event key must be a non-empty string (got ${JSON.stringify(event.key)})`);
    }
    const topic = this.#registry.topicOf(event.type);
    return buildEventRecord(this.#options, topic, event.type, event.data, event.key);
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
