// Checks a built package the way its users meet it: the packed tarball's types
// resolve for every module system (@arethetypeswrong/cli), and the package loads
// with both `require` and `import` and exposes the same named exports.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const attw = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'attw');

execFileSync(attw, ['--pack', '.', '--format', 'table-flipped'], { cwd: dir, stdio: 'inherit' });

const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json');
const require = createRequire(join(dir, 'package.json'));
for (const entry of entries) {
  const spec = entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
  const cjs = require(spec);
  const esm = await import(spec);
  const cjsKeys = Object.keys(cjs).sort();
  const esmKeys = Object.keys(esm).filter((k) => k !== 'default' && k !== 'module.exports').sort();
  if (cjsKeys.length === 0) throw new Error(`${spec}: require() gave no exports`);
  if (cjsKeys.join() !== esmKeys.join()) {
    throw new Error(`${spec}: require() and import() disagree:\n  cjs ${cjsKeys.join()}\n  esm ${esmKeys.join()}`);
  }
  process.stdout.write(`${spec}: ${cjsKeys.length} named exports via require and import\n`);
}
