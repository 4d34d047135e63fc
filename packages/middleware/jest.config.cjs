// Unit and memory-transport tests. The real-Kafka end-to-end test runs only
// under jest.kafka.config.cjs (`npm run test:kafka`), which starts or finds a
// broker first; keeping it out of here keeps `test` fast and broker-free.
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'middleware',
  rootDir: __dirname,
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e-kafka\\.test\\.ts$'],
};
