// The proofs on a real Kafka broker (jest.kafka.config.cjs sets KAFKA_BROKERS).
import type { Transport } from '@tributary/core';
import { kafka } from '@tributary/kafka';
import { describeProofs } from '../support/proof-scenarios';

let transport: Transport;
beforeAll(() => {
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers === undefined || brokers === '') throw new Error('KAFKA_BROKERS is not set: run with jest.kafka.config.cjs');
  transport = kafka({ brokers });
});
afterAll(async () => {
  await transport.close();
});

describeProofs('kafka', () => transport, { checkIntervalMs: 100, waitMs: 60_000, quietMs: 1_000 });
