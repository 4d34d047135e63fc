import type {
  Admin,
  GroupConsumerOptions,
  PartitionConsumer,
  PartitionConsumerOptions,
  ProducerOptions,
  Transport,
  TransportFeatures,
} from '@tributary/core';
import { KafkaAdmin } from './admin';
import { closedError } from './errors';
import { KafkaGroupConsumerImpl, type KafkaGroupConsumer } from './group-consumer';
import {
  resolveGroupConsumerOptions,
  resolveKafkaConfig,
  resolvePartitionConsumerOptions,
  resolveProducerOptions,
  type KafkaConfig,
  type ResolvedKafkaConfig,
} from './options';
import { KafkaPartitionConsumer } from './partition-consumer';
import { KafkaProducer, type KafkaTransportProducer } from './producer';

interface Closable {
  close(): Promise<void>;
}

/** The Kafka transport: `producer()` and `groupConsumer()` return Kafka's richer types (with metrics). */
export interface KafkaTransport extends Transport {
  readonly system: 'kafka';
  /** The bootstrap brokers, as parsed from the config. */
  readonly brokers: readonly string[];
  producer(options?: ProducerOptions): KafkaTransportProducer;
  groupConsumer(options: GroupConsumerOptions): KafkaGroupConsumer;
}

class KafkaTransportImpl implements KafkaTransport {
  readonly system = 'kafka' as const;
  readonly features: TransportFeatures;
  readonly brokers: readonly string[];
  readonly #config: ResolvedKafkaConfig;
  readonly #open = new Set<Closable>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(config: ResolvedKafkaConfig) {
    this.#config = config;
    this.brokers = config.brokers;
    this.features = Object.freeze({
      consumerGroups: true,
      partitionConsumer: true,
      maxRecordBytes: config.maxRecordBytes,
      rebalanceOnLeave: true,
      persistent: true,
    });
  }

  producer(options?: ProducerOptions): KafkaTransportProducer {
    this.#ensureOpen('producer()');
    const resolved = resolveProducerOptions(options, this.#config);
    return this.#track((onClosed) => new KafkaProducer(this.#config, resolved, onClosed));
  }

  groupConsumer(options: GroupConsumerOptions): KafkaGroupConsumer {
    this.#ensureOpen('groupConsumer()');
    const resolved = resolveGroupConsumerOptions(options, this.#config);
    return this.#track((onClosed) => new KafkaGroupConsumerImpl(this.#config, resolved, onClosed));
  }

  partitionConsumer(options: PartitionConsumerOptions): PartitionConsumer {
    this.#ensureOpen('partitionConsumer()');
    const resolved = resolvePartitionConsumerOptions(options, this.#config);
    return this.#track((onClosed) => new KafkaPartitionConsumer(this.#config, resolved, onClosed));
  }

  admin(): Admin {
    this.#ensureOpen('admin()');
    return this.#track((onClosed) => new KafkaAdmin(this.#config, onClosed));
  }

  /** Closes everything this transport created, concurrently (consumers drain and leave their groups). Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= Promise.all([...this.#open].map((c) => c.close())).then(() => undefined);
    return this.#closing;
  }

  #track<C extends Closable>(create: (onClosed: () => void) => C): C {
    const component: C = create(() => this.#open.delete(component));
    this.#open.add(component);
    return component;
  }

  #ensureOpen(call: string): void {
    if (this.#closed) throw closedError('transport', call);
  }
}

/**
 * Creates the Kafka transport on `@confluentinc/kafka-javascript`
 * (librdkafka). Nothing connects until a client is used: producers connect
 * on `connect()` or their first `send`, consumers in `run`, admin clients on
 * their first request.
 *
 * ```ts
 * const transport = kafka({ brokers: '127.0.0.1:9092' });
 * ```
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid field, including
 *   librdkafka properties in `rdkafka` that librdkafka rejects.
 */
export function kafka(config: KafkaConfig): KafkaTransport {
  return new KafkaTransportImpl(resolveKafkaConfig(config));
}
