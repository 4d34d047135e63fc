// Where things are: the repository root (to resolve the root devDependencies
// and the built @tributary/* packages) and the cache outside git for the Java
// perf-tool jars (next to the broker jars of tools/kafka/broker.mjs).
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(BENCH_DIR, '..', '..', '..');

/** ~/.cache/tributary (or $XDG_CACHE_HOME/tributary), as tools/kafka/broker.mjs. */
export function cacheRoot() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tributary');
}
