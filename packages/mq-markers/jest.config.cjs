// Default run: memory transport only. Broker tests live in test/kafka and run
// with jest.kafka.config.cjs (`npm run test:kafka`).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'mq-markers',
  rootDir: __dirname,
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/kafka/'],
};
