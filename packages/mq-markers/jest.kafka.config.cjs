// The proofs on a real Kafka broker: KAFKA_BROKERS, else a Docker container
// (testcontainers), else tools/kafka's broker (see tools/kafka/README.md).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'mq-markers:kafka',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/kafka/**/*.test.ts'],
  globalSetup: '<rootDir>/../../tools/kafka/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/../../tools/kafka/jest-global-teardown.mjs',
  // Group joins and rebalances on a real broker take seconds.
  testTimeout: 120_000,
  maxWorkers: 1,
};
