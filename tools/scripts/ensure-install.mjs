// Runs before `npm test` and `npm start`: installs the workspace when a fresh
// clone has no node_modules yet (or the lockfile changed since the last install).
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  process.stdout.write('tributary: installing dependencies (npm install)…\n');
  // Not `npm ci`: see .ci/run (the lockfile cannot list other platforms' optional binaries here).
  execSync('npm install --no-audit --no-fund', {
    cwd: root,
    stdio: 'inherit',
    // The Kafka client builds librdkafka from source, against the Node headers installed with this node.
    env: { CKJS_LINKING: 'dynamic', ...nodedir(), ...process.env },
  });
}

function nodedir() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node')) ? { npm_config_nodedir: prefix } : {};
}
