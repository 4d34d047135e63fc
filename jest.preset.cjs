// Shared Jest settings. Tests run against package sources (not dist) so a
// change in core is seen by every package's tests without a rebuild; the
// built output is checked separately by each package's `exports` target.
const path = require('node:path');

const root = __dirname;
const packages = ['core', 'memory', 'testutil', 'kafka', 'middleware', 'mq-markers', 'xkafka-sharded'];

const moduleNameMapper = {};
for (const name of packages) {
  moduleNameMapper[`^@tributary/${name}$`] = path.join(root, 'packages', name, 'src', 'index.ts');
  moduleNameMapper[`^@tributary/${name}/experimental$`] = path.join(root, 'packages', name, 'src', 'experimental.ts');
}

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', path.join(root, 'tools', 'scripts', 'jest-summary-reporter.cjs')],
  // Two cores: keep parallelism modest.
  maxWorkers: 2,
  testTimeout: 30_000,
};
