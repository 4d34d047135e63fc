/**
 * What the group and the partition consumer share through FlowConsumer,
 * checked on both without a broker (nothing here connects).
 */
import type { Logger } from '@tributary/core';
import { KafkaGroupConsumerImpl } from '../src/group-consumer';
import type { NativeError } from '../src/native';
import { resolveGroupConsumerOptions, resolveKafkaConfig, resolvePartitionConsumerOptions } from '../src/options';
import { KafkaPartitionConsumer } from '../src/partition-consumer';
import type { PollLoopHost } from '../src/poll-loop';
import { warnLogger } from './support/warn-logger';


const config = resolveKafkaConfig({ brokers: '127.0.0.1:1' });

const consumers: { readonly kind: string; create: (logger: Logger) => PollLoopHost & { close(): Promise<void> } }[] = [
  {
    kind: 'group consumer',
    create: (logger) => new KafkaGroupConsumerImpl(config, resolveGroupConsumerOptions({ groupId: 'g', topics: ['t'], logger }, config), () => undefined),
  },
  {
    kind: 'partition consumer',
    create: (logger) => new KafkaPartitionConsumer(config, resolvePartitionConsumerOptions({ topic: 't', partition: 0, from: 'earliest', logger }, config), () => undefined),
  },
];

const transportFailure: NativeError = { code: -195, message: 'Local: Broker transport failure' };
const allBrokersDown: NativeError = { code: -187, message: 'Local: All broker connections are down' };

describe.each(consumers)('$kind: poll errors', ({ create }) => {
  it('reports a poll error at most once per 10 s per error code: a new code is reported at once', async () => {
    const logger = warnLogger();
    const consumer = create(logger);
    try {
      consumer.onPollError(transportFailure);
      consumer.onPollError(transportFailure);
      consumer.onPollError(allBrokersDown);
      consumer.onPollError(transportFailure);
      consumer.onPollError(allBrokersDown);
      expect(logger.warned).toHaveLength(2);
      expect(logger.warned[0]).toMatch(/transport failure/i);
      expect(logger.warned[1]).toMatch(/all broker connections are down/i);
    } finally {
      await consumer.close();
    }
  });

  it('reports the same code again once its window has passed', async () => {
    const logger = warnLogger();
    const consumer = create(logger);
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(1_000_000);
      consumer.onPollError(transportFailure);
      now.mockReturnValue(1_000_000 + 9_999);
      consumer.onPollError(transportFailure);
      now.mockReturnValue(1_000_000 + 10_000);
      consumer.onPollError(transportFailure);
      expect(logger.warned).toHaveLength(2);
    } finally {
      now.mockRestore();
      await consumer.close();
    }
  });
});
