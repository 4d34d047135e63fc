#!/usr/bin/env node
// Summarises V8 CPU profiles written by `run.mjs --cpu-prof DIR`: self time
// by function and by origin (Tributary's dist, a client package, Node
// internals, GC, idle), so "where does the time go" needs no DevTools.
//
//   node tools/bench/kafka/profile-summary.mjs DIR/tributary-100-produce-r0.cpuprofile [--top 25]
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(args.top);

function origin(url, name) {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'native / program';
  if (!url) return 'native / builtin';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.includes('/packages/')) return `@tributary/${/\/packages\/([^/]+)/.exec(url)[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/tools/bench/')) return 'bench harness';
  return url;
}

for (const file of positionals) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i] is the time before samples[i]: attribute it to that sample's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnTime = new Map();
  const originTime = new Map();
  for (const [id, us] of self) {
    const { callFrame: f } = byId.get(id);
    const name = f.functionName || '(anonymous)';
    const short = f.url ? `${f.url.replace(/^.*\/(node_modules|packages|tools)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${name} ${short}`;
    fnTime.set(key, (fnTime.get(key) ?? 0) + us);
    const o = origin(f.url, f.functionName);
    originTime.set(o, (originTime.get(o) ?? 0) + us);
  }
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  process.stdout.write(`\n${file} — ${(total / 1000).toFixed(0)} ms sampled\n\nby origin\n`);
  for (const [o, us] of [...originTime].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${pct(us)}  ${o}\n`);
  process.stdout.write(`\ntop ${top} functions (self time)\n`);
  for (const [k, us] of [...fnTime].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
}
