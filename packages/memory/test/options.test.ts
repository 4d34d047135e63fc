import { ConfigError, type GroupConsumerOptions, type Logger, type PartitionConsumerOptions } from '@tributary/core';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_BATCH_RECORDS,
  DEFAULT_MAX_RECORD_BYTES,
  DEFAULT_REBALANCE_TIMEOUT_MS,
  memory,
  MemoryBroker,
  type MemoryTransport,
  type MemoryTransportOptions,
} from '@tributary/memory';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const fields = (err: ConfigError): string[] => err.problems.map((p) => p.field);

describe('memory() options', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_MAX_RECORD_BYTES).toBe(2 * 1024 * 1024);
    expect(DEFAULT_MAX_BATCH_RECORDS).toBe(500);
    expect(DEFAULT_REBALANCE_TIMEOUT_MS).toBe(30_000);
    expect(DEFAULT_CLOSE_TIMEOUT_MS).toBe(30_000);
    const broker = new MemoryBroker();
    expect({ ...broker }).toEqual({ maxRecordBytes: DEFAULT_MAX_RECORD_BYTES, autoCreateTopics: false, defaultPartitions: 1 });
  });

  it('reports every bad field in one ConfigError', () => {
    const err = configError(() =>
      memory({
        maxRecordBytes: 0,
        autoCreateTopics: 'yes',
        defaultPartitions: 1.5,
        logger: { info: () => undefined },
        autoCreateTopic: true,
      } as unknown as MemoryTransportOptions),
    );
    expect(err.code).toBe('ERR_CONFIG');
    expect(fields(err).sort()).toEqual(['autoCreateTopic', 'autoCreateTopics', 'defaultPartitions', 'logger', 'maxRecordBytes']);
    expect(err.message).toContain('memory transport');
  });

  it('rejects broker settings next to a shared broker, and a broker that is not a MemoryBroker', () => {
    const err = configError(() => memory({ broker: new MemoryBroker(), maxRecordBytes: 10, defaultPartitions: 2 }));
    expect(fields(err).sort()).toEqual(['defaultPartitions', 'maxRecordBytes']);
    expect(fields(configError(() => memory({ broker: {} as MemoryBroker })))).toEqual(['broker']);
  });

  it('rejects options that are not an object', () => {
    expect(fields(configError(() => memory(null as unknown as MemoryTransportOptions)))).toEqual(['options']);
  });

  it('validates MemoryBroker options the same way', () => {
    const err = configError(() => new MemoryBroker({ maxRecordBytes: -1, defaultPartitions: 0, extra: 1 } as never));
    expect(fields(err).sort()).toEqual(['defaultPartitions', 'extra', 'maxRecordBytes']);
  });

  it('freezes the broker', () => {
    expect(Object.isFrozen(new MemoryBroker({ autoCreateTopics: true }))).toBe(true);
  });
});

describe('component options', () => {
  let transport: MemoryTransport;

  beforeEach(() => {
    transport = memory();
  });

  afterEach(async () => {
    await transport.close();
  });

  it('group consumer: every bad field at once', () => {
    const err = configError(() =>
      transport.groupConsumer({
        groupId: '',
        topics: ['ok', ''],
        fromBeginning: 'no',
        maxBatchRecords: 0,
        rebalanceTimeoutMs: -5,
        clientId: '',
        logger: 'console',
      } as unknown as GroupConsumerOptions),
    );
    expect(fields(err)).toEqual([
      'groupId',
      'topics[1]',
      'fromBeginning',
      'maxBatchRecords',
      'rebalanceTimeoutMs',
      'clientId',
      'logger',
    ]);
    expect(fields(configError(() => transport.groupConsumer({ groupId: 'g', topics: [] })))).toEqual(['topics']);
  });

  it('partition consumer: every bad field at once', () => {
    const err = configError(() =>
      transport.partitionConsumer({ topic: '', partition: -1, from: 'newest', maxBatchRecords: 2_000_000, closeTimeoutMs: -1 } as unknown as PartitionConsumerOptions),
    );
    expect(fields(err)).toEqual(['topic', 'partition', 'from', 'maxBatchRecords', 'closeTimeoutMs']);
    // closeTimeoutMs takes the kafka transport's range: 0 (do not wait) to one hour.
    expect(fields(configError(() => transport.partitionConsumer({ topic: 't', partition: 0, from: 'earliest', closeTimeoutMs: 3_600_001 })))).toEqual(['closeTimeoutMs']);
    return Promise.all(
      [0, 3_600_000].map((closeTimeoutMs) => transport.partitionConsumer({ topic: 't', partition: 0, from: 'earliest', closeTimeoutMs }).close()),
    );
  });

  it('producer: unknown keys and a bad logger', () => {
    const err = configError(() => transport.producer({ clientId: 'p', logger: {} as Logger, acks: 'all' } as never));
    expect(fields(err)).toEqual(['acks', 'logger']);
  });

  it('accepts a pino-compatible logger and passes it on', async () => {
    const lines: string[] = [];
    const log = (obj: unknown, msg?: string): void => void lines.push(typeof obj === 'string' ? obj : (msg ?? ''));
    const logger: Logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger };
    const t = memory({ logger });
    try {
      await t.admin().createTopics([{ topic: 'logged' }]);
      const consumer = t.groupConsumer({ groupId: 'g', topics: ['logged'] });
      await consumer.run({ onBatch: async () => undefined });
      expect(lines).toContain('rebalance');
    } finally {
      await t.close();
    }
  });
});
