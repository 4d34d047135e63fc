// `npm test`: every target of every project through Nx, then one closing line
// with the totals of every test runner (Jest in each package, node:test in tools).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const resultDirs = [
  ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, '.test-results')),
  join(root, 'tools', '.test-results'),
];
for (const dir of resultDirs) rmSync(dir, { recursive: true, force: true });

// test:cluster (packages/kafka's fault tests on a 3-broker cluster) runs alone: Nx
// starts no other task beside it (`parallelism: false` in nx.json).
const targets = process.env.TRIBUTARY_TEST_TARGETS ?? 'lint,typecheck,test,test:kafka,test:cluster,exports';
const nx = spawnSync(
  'npx',
  ['nx', 'run-many', '-t', ...targets.split(','), '--parallel=2', '--output-style=stream', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { NX_DAEMON: 'false', NX_TUI: 'false', ...process.env } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of resultDirs) {
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.json') && !file.endsWith('.txt')) continue;
    const text = readFileSync(join(dir, file), 'utf8');
    if (file.endsWith('.json')) {
      const r = JSON.parse(text);
      passed += r.passed;
      failed += r.failed;
      skipped += r.skipped;
    } else {
      passed += Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
      failed += Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(text)?.[1] ?? 0);
      skipped += Number(/^# skipped (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# todo (\d+)/m.exec(text)?.[1] ?? 0);
    }
  }
}
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(nx.status ?? 1);
