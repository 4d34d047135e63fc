// Jest reporter that writes the run's totals to <rootDir>/.test-results/<script>/jest.json,
// an output of the Nx test target (so a cached run restores it), for the
// one-line summary `npm test` prints at the end (tools/scripts/test.mjs).
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    // One directory per npm script (test, test:kafka), each its own Nx output.
    const script = (process.env.npm_lifecycle_event ?? 'test').replace(/[^a-z0-9-]/gi, '-');
    this.file = path.join(this.rootDir, '.test-results', script, 'jest.json');
  }

  onRunComplete(_contexts, results) {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    fs.writeFileSync(this.file, JSON.stringify(summary) + '\n');
  }
}

module.exports = SummaryReporter;
