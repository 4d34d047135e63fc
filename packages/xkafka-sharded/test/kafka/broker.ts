import { kafka } from '@tributary/kafka';
import type { Transport } from '@tributary/core';

/** A Kafka transport on the broker jest-global-setup found or started (KAFKA_BROKERS). */
export function kafkaTransport(): Transport {
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers === undefined || brokers === '') throw new Error('KAFKA_BROKERS is not set: run these tests with jest.kafka.config.cjs');
  return kafka({ brokers: brokers.split(',') });
}
