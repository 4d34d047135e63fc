/**
 * Test settings for the real broker. Tuning for a single local broker lives
 * here, not in the library defaults: heartbeats every 100 ms so members
 * notice a rebalance quickly (the default 3 s suits production), and a short
 * connect timeout so failure tests stay fast.
 */
import { kafka, type KafkaConfig, type KafkaTransport } from '@tributary/kafka';

/** The bootstrap list the Jest global setup exported. */
export function brokers(): string {
  const value = process.env.KAFKA_BROKERS;
  if (!value) throw new Error('KAFKA_BROKERS is not set: run the tests through jest.config.cjs (its globalSetup finds a broker)');
  return value;
}

/** Options every test transport uses. */
export const TEST_TUNING = {
  connectTimeoutMs: 5_000,
  consumer: { heartbeatIntervalMs: 100, sessionTimeoutMs: 6_000 },
  rdkafka: {
    // Producers learn quickly that a topic does not exist (default 30 s).
    producer: { 'topic.metadata.propagation.max.ms': 1_000 },
  },
} as const satisfies Partial<KafkaConfig>;

/** A transport on the test broker with the test tuning (plus `overrides`). */
export function testTransport(overrides: Partial<KafkaConfig> = {}): KafkaTransport {
  return kafka({ brokers: brokers(), ...TEST_TUNING, ...overrides });
}
