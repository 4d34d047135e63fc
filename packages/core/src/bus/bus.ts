import type { SentRecord } from '../batch-producer';
import type { Codec } from '../codec';
import { ConfigCheck } from '../config';
import { TributaryError } from '../errors';
import type { MessageHandler } from '../handler';
import type { IdFactory } from '../ids';
import { silentLogger, type Logger } from '../logger';
import type { PublishOptions } from '../publisher';
import { stopOptionsError } from '../runtime/consumer';
import type { StopOptions } from '../runtime/types';
import type { SendResult, Transport, TransportProducer } from '../transport';
import { createPublisher, type BusEvent, type Publisher } from './publisher';
import type { ReadTask } from './read-task';
import { createEventRegistry, type EventRegistry } from './registry';
import { createSubscriberScheduler, type SubscribeResult, type SubscriberScheduler, type WorkerDefaults, type WorkerMetrics } from './scheduler';

export interface BusOptions {
  readonly transport: Transport;
  /** CloudEvents `source` of every published event (a service name or URI reference). */
  readonly source: string;
  /** Names derived consumer groups (see SubscriberSchedulerOptions.service). Default: `source`. */
  readonly service?: string;
  /** Default: a new, empty registry. */
  readonly registry?: EventRegistry;
  /** Encodes event data. Default `jsonCodec()`. */
  readonly codec?: Codec<unknown>;
  /** Makes event ids. Default `uuidv4`. */
  readonly idFactory?: IdFactory;
  /** Producer to publish with. Default: one the bus creates from the transport and closes on shutdown. */
  readonly producer?: TransportProducer;
  /** Settings for every subscriber worker (retry, deadLetter, batch, …). */
  readonly consumer?: WorkerDefaults;
  readonly logger?: Logger;
  /** Errors of a subscriber worker, with its task. */
  readonly onError?: (error: unknown, task: ReadTask) => void;
}

/**
 * The top-level component (seed 004's Bus): an EventRegistry, a Publisher and
 * a SubscriberScheduler over one transport, reachable as properties and
 * through the delegating methods below.
 *
 * `shutdown()` drains every subscriber, then closes the producer the bus
 * created (not one passed in, and never the transport); after it, publishing
 * and subscribing fail with ERR_CLOSED (seed's ErrBusIsShutdown).
 */
export interface Bus {
  readonly registry: EventRegistry;
  readonly publisher: Publisher;
  readonly scheduler: SubscriberScheduler;
  /** Registers `eventType` on `topic` (see EventRegistry.register). */
  register(eventType: string, topic: string): this;
  topicOf(eventType: string): string;
  /**
   * Publishes one event (see Publisher.publish): the third argument is the
   * partition key, or PublishOptions (key, subject, extensions such as
   * `tenantid`, extra headers, schemaVersion, …).
   */
  publish<T>(type: string, data: T, keyOrOptions?: string | PublishOptions): Promise<SentRecord>;
  publishBatch(events: readonly BusEvent[]): Promise<SendResult[]>;
  subscribe(topic: string, eventType: string, handler: MessageHandler): ReadTask;
  subscribeTopic(topic: string, handler: MessageHandler): ReadTask;
  subscribeEvent(eventType: string, handler: MessageHandler): ReadTask;
  subscribeEventSafe(eventType: string, handler: MessageHandler): SubscribeResult;
  start(): Promise<void>;
  /**
   * Drains every subscriber (see SubscriberScheduler.shutdown: `options`
   * bounds the drain, `timeoutMs` instead of drainTimeoutMs, `signal` ends it
   * at once), then closes the producer the bus created. Idempotent; a later
   * call with options can shorten a drain in progress. Invalid options reject
   * with a ConfigError naming each bad field, and the bus stays open.
   */
  shutdown(options?: StopOptions): Promise<void>;
  wait(): Promise<void>;
  isRunning(): boolean;
  metrics(): WorkerMetrics[];
}

class TransportBus implements Bus {
  readonly registry: EventRegistry;
  readonly publisher: Publisher;
  readonly scheduler: SubscriberScheduler;
  readonly #producer: TransportProducer;
  readonly #ownsProducer: boolean;
  readonly #logger: Logger;
  #shutdown: Promise<void> | undefined;

  constructor(options: BusOptions) {
    this.registry = options.registry ?? createEventRegistry();
    this.#logger = options.logger ?? silentLogger;
    this.#ownsProducer = options.producer === undefined;
    this.#producer = options.producer ?? options.transport.producer({ clientId: `${options.service ?? options.source}-bus`, logger: this.#logger });
    this.publisher = createPublisher({
      producer: this.#producer,
      registry: this.registry,
      source: options.source,
      ...(options.codec === undefined ? {} : { codec: options.codec }),
      ...(options.idFactory === undefined ? {} : { idFactory: options.idFactory }),
    });
    this.scheduler = createSubscriberScheduler({
      transport: options.transport,
      registry: this.registry,
      service: options.service ?? options.source,
      logger: this.#logger,
      ...(options.consumer === undefined ? {} : { consumer: options.consumer }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
  }

  register(eventType: string, topic: string): this {
    this.registry.register(eventType, topic);
    return this;
  }

  topicOf(eventType: string): string {
    return this.registry.topicOf(eventType);
  }

  async publish<T>(type: string, data: T, keyOrOptions?: string | PublishOptions): Promise<SentRecord> {
    this.#assertOpen('publish');
    return this.publisher.publish(type, data, keyOrOptions);
  }

  async publishBatch(events: readonly BusEvent[]): Promise<SendResult[]> {
    this.#assertOpen('publishBatch');
    return this.publisher.publishBatch(events);
  }

  subscribe(topic: string, eventType: string, handler: MessageHandler): ReadTask {
    return this.scheduler.subscribe(topic, eventType, handler);
  }

  subscribeTopic(topic: string, handler: MessageHandler): ReadTask {
    return this.scheduler.subscribeTopic(topic, handler);
  }

  subscribeEvent(eventType: string, handler: MessageHandler): ReadTask {
    return this.scheduler.subscribeEvent(eventType, handler);
  }

  subscribeEventSafe(eventType: string, handler: MessageHandler): SubscribeResult {
    return this.scheduler.subscribeEventSafe(eventType, handler);
  }

  start(): Promise<void> {
    return this.scheduler.start();
  }

  shutdown(options?: StopOptions): Promise<void> {
    const invalid = stopOptionsError(options, 'Bus.shutdown');
    if (invalid) return Promise.reject(invalid);
    if (this.#shutdown === undefined) this.#shutdown = this.#close(options);
    // Shortens the subscribers' drain in progress; #close awaits (and reports) that same shutdown.
    else if (options?.timeoutMs !== undefined || options?.signal !== undefined) this.scheduler.shutdown(options).catch(() => undefined);
    return this.#shutdown;
  }

  wait(): Promise<void> {
    return this.scheduler.wait();
  }

  isRunning(): boolean {
    return this.scheduler.isRunning();
  }

  metrics(): WorkerMetrics[] {
    return this.scheduler.metrics();
  }

  async #close(options: StopOptions | undefined): Promise<void> {
    try {
      await this.scheduler.shutdown(options);
    } finally {
      if (this.#ownsProducer) await this.#producer.close();
    }
  }

  #assertOpen(what: string): void {
    if (this.#shutdown !== undefined) throw new TributaryError('ERR_CLOSED', `${what}: the bus has been shut down`);
  }
}

/**
 * Creates a Bus over `transport`; options are validated up front (every
 * problem in one ConfigError) before the bus creates its producer.
 */
export function createBus(options: BusOptions): Bus {
  const opts = options ?? ({} as BusOptions);
  new ConfigCheck('Bus')
    .check(typeof opts.transport?.producer === 'function' && typeof opts.transport?.groupConsumer === 'function', 'transport', 'must be a Transport')
    .nonEmptyString(opts.source, 'source')
    .check(opts.producer === undefined || typeof opts.producer?.send === 'function', 'producer', 'must be a TransportProducer')
    .check(opts.service === undefined || (typeof opts.service === 'string' && opts.service.length > 0), 'service', 'must be a non-empty string when set')
    .check(opts.registry === undefined || typeof opts.registry?.topicOf === 'function', 'registry', 'must be an EventRegistry')
    .check(opts.codec === undefined || typeof opts.codec?.encode === 'function', 'codec', 'must be a Codec')
    .fn(opts.idFactory, 'idFactory')
    .check(opts.consumer === undefined || (typeof opts.consumer === 'object' && opts.consumer !== null), 'consumer', 'must be an object of consumer options')
    .fn(opts.onError, 'onError')
    .throwIfInvalid();
  return new TransportBus(opts);
}
