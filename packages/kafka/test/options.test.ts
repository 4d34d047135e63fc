import { ConfigError, isTributaryError, silentLogger } from '@tributary/core';
import { kafka, KAFKA_DEFAULTS, type KafkaConfig } from '@tributary/kafka';
import {
  adminNativeConfig,
  consumerNativeConfig,
  producerNativeConfig,
  resolveGroupConsumerOptions,
  resolveKafkaConfig,
  resolvePartitionConsumerOptions,
} from '../src/options';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveKafkaConfig', () => {
  it('accepts brokers as a comma-separated string or an array, trimmed', () => {
    expect(resolveKafkaConfig({ brokers: ' 127.0.0.1:9092, kafka-2:9093 ' }).brokers).toEqual(['127.0.0.1:9092', 'kafka-2:9093']);
    expect(resolveKafkaConfig({ brokers: ['a:1', 'b'] }).brokers).toEqual(['a:1', 'b']);
    expect(kafka({ brokers: ['[::1]:9092'] }).brokers).toEqual(['[::1]:9092']);
  });

  it('fills in the documented defaults and freezes the result', () => {
    const resolved = resolveKafkaConfig({ brokers: 'x:1' });
    expect(resolved).toMatchObject({
      clientId: KAFKA_DEFAULTS.clientId,
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxRecordBytes: 1_048_576,
      idempotent: true,
      lingerMs: 1,
      deliveryTimeoutMs: 120_000,
      compression: 'none',
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 3_000,
      logger: silentLogger,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.rdkafka)).toBe(true);
  });

  it('names every bad field in one ConfigError', () => {
    const err = configError(() =>
      resolveKafkaConfig({
        brokers: ['ok:1', 'bad host:x', ''],
        connectTimeoutMs: 0,
        maxRecordBytes: 1.5,
        sasl: { mechanism: 'kerberos' as 'plain', username: 'u', password: 'p' },
        producer: { compression: 'brotli' as 'gzip', lingerMs: -1, deliveryTimeoutMs: 0 },
        consumer: { heartbeatIntervalMs: 50_000 },
        rdkafka: {
          producer: { 'no.such.property': 1, 'linger.ms': 'soon' },
          consumer: { 'enable.auto.commit': true },
          global: { 'socket.timeout.ms': { nested: true } as unknown as string },
        },
        logger: {} as KafkaConfig['logger'],
      }),
    );
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.problems.map((p) => p.field).sort()).toEqual(
      [
        'brokers[1]',
        'brokers[2]',
        'connectTimeoutMs',
        'maxRecordBytes',
        'sasl.mechanism',
        'producer.lingerMs',
        'producer.deliveryTimeoutMs',
        'producer.compression',
        'consumer.heartbeatIntervalMs',
        "rdkafka.global['socket.timeout.ms']",
        "rdkafka.producer['no.such.property']",
        "rdkafka.producer['linger.ms']",
        "rdkafka.consumer['enable.auto.commit']",
        'logger',
      ].sort(),
    );
    expect(err.problems.find((p) => p.field === "rdkafka.producer['no.such.property']")?.message).toMatch(/librdkafka: No such configuration property/);
    expect(err.problems.find((p) => p.field === "rdkafka.consumer['enable.auto.commit']")?.message).toMatch(/set by the transport/);
  });

  it('wants a delivery timeout longer than the linger', () => {
    const err = configError(() => resolveKafkaConfig({ brokers: 'x:1', producer: { lingerMs: 100, deliveryTimeoutMs: 100 } }));
    expect(err.problems).toEqual([{ field: 'producer.deliveryTimeoutMs', message: 'must be greater than producer.lingerMs (100)' }]);
    expect(resolveKafkaConfig({ brokers: 'x:1', producer: { lingerMs: 100, deliveryTimeoutMs: 101 } }).deliveryTimeoutMs).toBe(101);
  });

  it('rejects a missing config or missing brokers', () => {
    expect(configError(() => kafka(undefined as unknown as KafkaConfig)).problems[0]?.field).toBe('config');
    expect(configError(() => kafka({} as KafkaConfig)).problems.map((p) => p.field)).toEqual(['brokers']);
    expect(configError(() => kafka({ brokers: [] })).problems.map((p) => p.field)).toEqual(['brokers']);
  });
});

describe('librdkafka configuration', () => {
  const config = resolveKafkaConfig({
    brokers: 'b1:9092,b2:9092',
    maxRecordBytes: 2_000_000,
    producer: { lingerMs: 20, compression: 'zstd' },
    rdkafka: { global: { 'socket.keepalive.enable': true }, producer: { 'linger.ms': 50 }, consumer: { 'fetch.wait.max.ms': 100 }, admin: { 'retries': 2 } },
  });

  it('producer: idempotent, acks=all, Java murmur2 partitioning, room for maxRecordBytes; rdkafka overrides last', () => {
    expect(producerNativeConfig(config, 'me')).toMatchObject({
      'bootstrap.servers': 'b1:9092,b2:9092',
      'client.id': 'me',
      'enable.idempotence': true,
      acks: 'all',
      partitioner: 'murmur2_random',
      'compression.type': 'zstd',
      'linger.ms': 50,
      'message.timeout.ms': 120_000,
      'allow.auto.create.topics': false,
      'socket.keepalive.enable': true,
      dr_cb: true,
    });
    expect(producerNativeConfig(config, 'me')['message.max.bytes']).toBeGreaterThan(2_000_000);
  });

  it('consumer: manual commits, cooperative-sticky, start per fromBeginning', () => {
    const native = consumerNativeConfig(config, { groupId: 'g', clientId: 'c', fromBeginning: false });
    expect(native).toMatchObject({
      'group.id': 'g',
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'partition.assignment.strategy': 'cooperative-sticky',
      'auto.offset.reset': 'latest',
      'session.timeout.ms': 45_000,
      'heartbeat.interval.ms': 3_000,
      'fetch.queue.backoff.ms': 10,
      'fetch.wait.max.ms': 100,
    });
    expect(consumerNativeConfig(config, { groupId: 'g', clientId: 'c', fromBeginning: true })['auto.offset.reset']).toBe('earliest');
  });

  it('consumer: no client-side assignor with the KIP-848 group protocol', () => {
    const next = resolveKafkaConfig({ brokers: 'b:1', rdkafka: { consumer: { 'group.protocol': 'consumer' } } });
    const native = consumerNativeConfig(next, { groupId: 'g', clientId: 'c', fromBeginning: true });
    expect(native['partition.assignment.strategy']).toBeUndefined();
    expect(native['group.protocol']).toBe('consumer');
  });

  it('SASL and TLS map to security.protocol and sasl.*', () => {
    const secured = resolveKafkaConfig({ brokers: 'b:1', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
    expect(adminNativeConfig(secured)).toMatchObject({
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'u',
      'sasl.password': 'p',
    });
    expect(adminNativeConfig(resolveKafkaConfig({ brokers: 'b:1', ssl: true }))['security.protocol']).toBe('ssl');
    expect(adminNativeConfig(config)).toMatchObject({ retries: 2, 'client.id': 'tributary-admin' });
  });
});

describe('client options', () => {
  const config = resolveKafkaConfig({ brokers: 'b:1' });

  it('group consumer options default as core documents, and list every bad field', () => {
    const resolved = resolveGroupConsumerOptions({ groupId: 'g', topics: ['a', 'a', 'b'] }, config);
    expect(resolved).toMatchObject({ groupId: 'g', topics: ['a', 'b'], fromBeginning: true, maxBatchRecords: 500, rebalanceTimeoutMs: 30_000 });
    const err = configError(() => resolveGroupConsumerOptions({ groupId: '', topics: [], maxBatchRecords: 0, rebalanceTimeoutMs: -1 }, config));
    expect(err.problems.map((p) => p.field).sort()).toEqual(['groupId', 'maxBatchRecords', 'rebalanceTimeoutMs', 'topics']);
  });

  it('partition consumer options accept an offset, earliest or latest', () => {
    expect(resolvePartitionConsumerOptions({ topic: 't', partition: 0, from: 5 }, config).from).toBe(5);
    expect(resolvePartitionConsumerOptions({ topic: 't', partition: 0, from: 'latest' }, config).from).toBe('latest');
    const err = configError(() => resolvePartitionConsumerOptions({ topic: 't', partition: -1, from: 'middle' as 'latest' }, config));
    expect(err.problems.map((p) => p.field).sort()).toEqual(['from', 'partition']);
  });

  it("partition consumer closeTimeoutMs defaults to 30 s, like the group consumer's rebalanceTimeoutMs, and is checked with the other fields", () => {
    expect(resolvePartitionConsumerOptions({ topic: 't', partition: 0, from: 'earliest' }, config).closeTimeoutMs).toBe(30_000);
    expect(KAFKA_DEFAULTS.closeTimeoutMs).toBe(KAFKA_DEFAULTS.rebalanceTimeoutMs);
    expect(resolvePartitionConsumerOptions({ topic: 't', partition: 0, from: 'earliest', closeTimeoutMs: 0 }, config).closeTimeoutMs).toBe(0);
    for (const bad of [-1, 1.5, 3_600_001, '100' as unknown as number]) {
      const err = configError(() => resolvePartitionConsumerOptions({ topic: '', partition: 0, from: 'earliest', closeTimeoutMs: bad }, config));
      expect(err.problems.map((p) => p.field).sort()).toEqual(['closeTimeoutMs', 'topic']);
    }
  });

  it('the transport validates client options when the client is created, without connecting', async () => {
    const transport = kafka({ brokers: '127.0.0.1:1' });
    expect(() => transport.groupConsumer({ groupId: 'g', topics: [] })).toThrow(ConfigError);
    expect(() => transport.partitionConsumer({ topic: '', partition: 0, from: 'earliest' })).toThrow(ConfigError);
    expect(() => transport.producer({ clientId: '' })).toThrow(ConfigError);
    await transport.close();
    const closed = (() => {
      try {
        transport.producer();
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(isTributaryError(closed) && closed.code).toBe('ERR_CLOSED');
  });

  it('features declare what the conformance suite runs, with maxRecordBytes from the config', async () => {
    const transport = kafka({ brokers: 'b:1', maxRecordBytes: 4096 });
    expect(transport.system).toBe('kafka');
    expect(transport.features).toEqual({ consumerGroups: true, partitionConsumer: true, maxRecordBytes: 4096, rebalanceOnLeave: true, persistent: true });
    await transport.close();
  });
});
