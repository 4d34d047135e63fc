// Tests run against a real broker: KAFKA_BROKERS, else a Docker container
// (testcontainers), else tools/kafka's broker (see tools/kafka/README.md).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'kafka',
  rootDir: __dirname,
  globalSetup: '<rootDir>/../../tools/kafka/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/../../tools/kafka/jest-global-teardown.mjs',
  // Rebalances on a real broker take seconds; the conformance tests set their own, longer timeouts.
  testTimeout: 60_000,
  // Fault tests that stop nodes of a 3-broker cluster run under jest.cluster.config.cjs (`test:cluster`).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
};
