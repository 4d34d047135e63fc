// Runs before `npm test` and `npm start`: installs the workspace when a fresh
// clone has no node_modules yet (or the lockfile changed since the last install).
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  process.stdout.write('tributary: installing dependencies (npm ci)…\n');
  execSync(existsSync(lock) ? 'npm ci' : 'npm install', {
    cwd: root,
    stdio: 'inherit',
    env: { CKJS_LINKING: 'dynamic', npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr', ...process.env },
  });
}
