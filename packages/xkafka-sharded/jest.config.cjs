// Default run: fast tests on the memory transport. The real-broker proofs in
// test/kafka run with jest.kafka.config.cjs (`npm run test:kafka`).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'xkafka-sharded',
  rootDir: __dirname,
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/kafka/'],
};
