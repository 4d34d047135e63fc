import type {
  Admin,
  GroupConsumerOptions,
  PartitionConsumer,
  PartitionConsumerOptions,
  ProducerOptions,
  Transport,
  TransportFeatures,
} from '@tributary/core';
import { ClientRegistry } from '@tributary/core';
import { KafkaAdmin } from './admin';
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
  readonly #clients = new ClientRegistry('kafka transport');

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
    const resolved = resolveProducerOptions(options, this.#config);
    return this.#clients.track('producer()', (onClosed) => new KafkaProducer(this.#config, resolved, onClosed));
  }

  groupConsumer(options: GroupConsumerOptions): KafkaGroupConsumer {
    const resolved = resolveGroupConsumerOptions(options, this.#config);
    return this.#clients.track('groupConsumer()', (onClosed) => new KafkaGroupConsumerImpl(this.#config, resolved, onClosed));
  }

  partitionConsumer(options: PartitionConsumerOptions): PartitionConsumer {
    const resolved = resolvePartitionConsumerOptions(options, this.#config);
    return this.#clients.track('partitionConsumer()', (onClosed) => new KafkaPartitionConsumer(this.#config, resolved, onClosed));
  }

  admin(): Admin {
    return this.#clients.track('admin()', (onClosed) => new KafkaAdmin(this.#config, onClosed));
  }

  /** Closes everything this transport created, concurrently (consumers drain and leave their groups). Idempotent. */
  close(): Promise<void> {
    return this.#clients.closeAll();
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
