// Proofs against a real Kafka broker: `npm run test:kafka` (KAFKA_BROKERS, or a
// broker found/started by tools/kafka/jest-global-setup.mjs).
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'xkafka-sharded-kafka',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/kafka/**/*.test.ts'],
  globalSetup: '<rootDir>/../../tools/kafka/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/../../tools/kafka/jest-global-teardown.mjs',
  // One broker, rebalances measured in seconds: one suite at a time.
  maxWorkers: 1,
  testTimeout: 180_000,
};
