// Fault tests on a real 3-broker Kafka cluster (`npm run test:cluster`): they
// stop and restart broker nodes, so the global setup (`faults: true`) only
// ever uses the cluster tools/kafka/broker.mjs starts on 127.0.0.1:19092-19094
// (RF 3, min.insync.replicas 2) — never KAFKA_BROKERS, and a set
// KAFKA_CLUSTER_BROKERS is an error. It reuses a running tools cluster and
// stops it afterwards only if this run started it. See tools/kafka/README.md.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'kafka:cluster',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  globalSetup: '<rootDir>/../../tools/kafka/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/../../tools/kafka/jest-global-teardown.mjs',
  globals: { tributaryKafka: { brokers: 3, faults: true } },
  // Node restarts and leader failover on a 2-core machine take seconds each.
  testTimeout: 120_000,
  // The tests share one cluster and stop its nodes: never two files at once.
  maxWorkers: 1,
};
