// End-to-end tests against a real Kafka broker (`npm run test:kafka`). The
// global setup uses KAFKA_BROKERS when set, else starts one (Docker or the
// tools/kafka broker) and stops it afterwards; see tools/kafka/README.md.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'middleware:kafka',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/e2e-kafka.test.ts'],
  globalSetup: '<rootDir>/../../tools/kafka/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/../../tools/kafka/jest-global-teardown.mjs',
  // Group joins and topic creation on a real broker take seconds.
  testTimeout: 120_000,
  maxWorkers: 1,
};
