import {
  ClientRegistry,
  ConfigCheck,
  type Admin,
  type GroupConsumer,
  type GroupConsumerOptions,
  type Logger,
  type PartitionConsumer,
  type PartitionConsumerOptions,
  type ProducerOptions,
  type Transport,
  type TransportFeatures,
  type TransportProducer,
} from '@tributary/core';
import { MemoryAdmin } from './admin';
import { MemoryBroker, engineOf, type BrokerEngine } from './broker';
import { MemoryGroupConsumer } from './group-consumer';
import {
  checkTransportOptions,
  requireObject,
  resolveGroupConsumerOptions,
  resolvePartitionConsumerOptions,
  resolveProducerOptions,
  type MemoryTransportOptions,
} from './options';
import { MemoryPartitionConsumer } from './partition-consumer';
import { MemoryProducer } from './producer';


/**
 * The in-process transport. Everything it creates shares its broker;
 * `close()` closes every producer, consumer and admin client it created (the
 * broker and its data stay, for other transports sharing it).
 */
export class MemoryTransport implements Transport {
  readonly system = 'memory';
  readonly features: TransportFeatures;
  /** The broker this transport talks to; pass it to `memory({ broker })` to share it. */
  readonly broker: MemoryBroker;
  readonly #engine: BrokerEngine;
  readonly #logger: Logger;
  readonly #clients = new ClientRegistry('memory transport');

  constructor(broker: MemoryBroker, logger: Logger) {
    this.broker = broker;
    this.#engine = engineOf(broker);
    this.#logger = logger;
    this.features = Object.freeze({
      consumerGroups: true,
      partitionConsumer: true,
      maxRecordBytes: broker.maxRecordBytes,
      rebalanceOnLeave: true,
      persistent: false,
    });
  }

  producer(options: ProducerOptions = {}): TransportProducer {
    const resolved = resolveProducerOptions(options, this.#logger, this.#engine.nextSeq());
    return this.#clients.track('producer()', (onClosed) => new MemoryProducer(this.#engine, resolved, onClosed));
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    const resolved = resolveGroupConsumerOptions(options, this.#logger, this.#engine.nextSeq());
    return this.#clients.track('groupConsumer()', (onClosed) => new MemoryGroupConsumer(this.#engine, resolved, onClosed));
  }

  partitionConsumer(options: PartitionConsumerOptions): PartitionConsumer {
    const resolved = resolvePartitionConsumerOptions(options, this.#logger, this.#engine.nextSeq());
    return this.#clients.track('partitionConsumer()', (onClosed) => new MemoryPartitionConsumer(this.#engine, resolved, onClosed));
  }

  admin(): Admin {
    return this.#clients.track('admin()', (onClosed) => new MemoryAdmin(this.#engine, onClosed));
  }

  /** Closes everything this transport created, concurrently (group members drain and leave). Idempotent. */
  close(): Promise<void> {
    return this.#clients.closeAll();
  }


}

/**
 * Creates an in-process transport: topics with partitions, offsets, consumer
 * groups with rebalancing, committed offsets — in memory, in this process.
 * Each call makes a new, empty broker unless `options.broker` is given.
 * Invalid options throw one ConfigError listing every problem.
 */
export function memory(options: MemoryTransportOptions = {}): MemoryTransport {
  requireObject('memory transport', options);
  const check = new ConfigCheck('memory transport');
  const resolved = checkTransportOptions(check, options);
  if (options.broker !== undefined) check.check(options.broker instanceof MemoryBroker, 'broker', 'must be a MemoryBroker');
  check.throwIfInvalid();
  const broker = options.broker ?? new MemoryBroker(resolved.broker);
  return new MemoryTransport(broker, resolved.logger);
}
