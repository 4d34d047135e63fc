#!/usr/bin/env node
// Kafka client benchmark: Tributary's kafka transport side by side with the
// Node clients it competes with and Kafka's own Java perf tools, on the same
// broker, in one run.
//
//   node tools/bench/kafka/run.mjs [--records 200000] [--reps 3] [--sizes 100,1024]
//        [--clients tributary,ckjs-cb,ckjs-kjs,kafkajs,platformatic,java] [--docs]
//
// Per repetition, size and client it runs the phases produce → consume →
// e2e → single, each in a fresh child process (phase.mjs; Java: its own JVM)
// on fresh topics. The first --warmup-reps repetitions (smaller) only warm the
// broker and are excluded; the client order rotates and alternates between
// repetitions. It prints medians, ratios and the issue's targets; --docs also
// rewrites the generated section of docs/benchmarks.md and the chart
// docs/benchmarks-kafka.svg. Raw results: tools/bench/kafka/results/.
//
// Not a test: never run by `npm test`. See tools/bench/kafka/README.md.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { startBroker, kafkaVersion } from '../../kafka/broker.mjs';
import { BENCH_DIR, REPO_ROOT } from './paths.mjs';
import { PRODUCER, CONSUMER, DRIVER } from './settings.mjs';
import { aggregate, formatConsole, formatMarkdown, svgChart } from './report.mjs';

const ALL_CLIENTS = ['tributary', 'ckjs-cb', 'ckjs-kjs', 'kafkajs', 'platformatic', 'java'];
const MODULES = {
  tributary: 'tributary.mjs',
  'ckjs-cb': 'ckjs-callback.mjs',
  'ckjs-kjs': 'ckjs-kafkajs.mjs',
  kafkajs: 'kafkajs.mjs',
  platformatic: 'platformatic.mjs',
};
const ALL_PHASES = ['produce', 'consume', 'e2e', 'single'];

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    'max-mb': { type: 'string', default: '64' },
    reps: { type: 'string', default: '3' },
    'warmup-reps': { type: 'string', default: '1' },
    sizes: { type: 'string', default: '100,1024' },
    clients: { type: 'string', default: ALL_CLIENTS.join(',') },
    phases: { type: 'string', default: ALL_PHASES.join(',') },
    brokers: { type: 'string' },
    partitions: { type: 'string', default: '1' },
    chunk: { type: 'string', default: String(DRIVER.chunkRecords) },
    inflight: { type: 'string', default: String(DRIVER.inflightChunks) },
    'e2e-rate': { type: 'string', default: '1000' },
    'e2e-ms': { type: 'string', default: '2000' },
    'e2e-warm-ms': { type: 'string', default: '500' },
    single: { type: 'string', default: '300' },
    'timeout-ms': { type: 'string', default: '60000' },
    'rdkafka-producer': { type: 'string' },
    'rdkafka-consumer': { type: 'string' },
    tributary: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'from-json': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  // The header comment of this file is the help text.
  const lines = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
  process.stdout.write(`${header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const int = (name) => {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer, got ${args[name]}`);
  return v;
};

/** 'a.b=1,c=x' -> { 'a.b': 1, c: 'x' } (numbers and booleans converted). */
function parseProps(text) {
  if (!text) return undefined;
  const out = {};
  for (const pair of text.split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`expected key=value, got ${pair}`);
    const raw = pair.slice(i + 1).trim();
    out[pair.slice(0, i).trim()] = /^-?\d+$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  return out;
}

/**
 * Experiments, off by default (the published table uses none): librdkafka properties for the
 * librdkafka-based clients (ckjs-cb, ckjs-kjs, and Tributary through its `rdkafka` passthrough),
 * and extra kafka() config for Tributary.
 */
const overrides = {
  rdkafkaProducer: parseProps(args['rdkafka-producer']),
  rdkafkaConsumer: parseProps(args['rdkafka-consumer']),
  tributary: args.tributary ? JSON.parse(args.tributary) : undefined,
};

const cfg = {
  records: int('records'),
  maxMb: int('max-mb'),
  reps: int('reps'),
  warmupReps: int('warmup-reps'),
  sizes: args.sizes.split(',').map(Number),
  clients: args.clients.split(',').map((s) => s.trim()).filter(Boolean),
  phases: args.phases.split(',').map((s) => s.trim()).filter(Boolean),
  partitions: int('partitions'),
  chunkRecords: int('chunk'),
  inflightChunks: int('inflight'),
  e2eRate: int('e2e-rate'),
  e2eMs: int('e2e-ms'),
  e2eWarmMs: int('e2e-warm-ms'),
  singleSends: int('single'),
  timeoutMs: int('timeout-ms'),
  warmFraction: 0.1,
};
for (const c of cfg.clients) if (!ALL_CLIENTS.includes(c)) throw new Error(`unknown client ${c}; known: ${ALL_CLIENTS.join(', ')}`);
for (const p of cfg.phases) if (!ALL_PHASES.includes(p)) throw new Error(`unknown phase ${p}; known: ${ALL_PHASES.join(', ')}`);
if (cfg.phases.includes('consume') && !cfg.phases.includes('produce')) throw new Error('the consume phase reads what the produce phase wrote: add produce');
if (cfg.sizes.some((s) => !Number.isInteger(s) || s <= 0)) throw new Error(`--sizes must be positive integers, got ${args.sizes}`);

/** Records per measured repetition: --records, capped at --max-mb of payload for big records. */
const recordsFor = (size) => Math.max(1, Math.min(cfg.records, Math.floor((cfg.maxMb * 1024 * 1024) / size)));

// ---------------------------------------------------------------------------
// Set-up: broker, Tributary build, admin client, Java tools

const require = createRequire(path.join(REPO_ROOT, 'package.json'));

async function resolveBrokers() {
  if (args.brokers) return args.brokers;
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
  // Reuses a running broker (tests' or a person's); if it starts one, it is left running like `broker.mjs start`.
  const { bootstrap } = await startBroker({ log });
  return bootstrap;
}

function buildTributary() {
  if (args['no-build']) return;
  log('building @tributary/kafka (npx nx run @tributary/kafka:build) …');
  execFileSync('npx', ['nx', 'run', '@tributary/kafka:build', '--output-style=stream-without-prefixes'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function openAdmin(brokers) {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({ brokers: brokers.split(','), clientId: 'bench-admin', logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  return {
    async create(topics) {
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: cfg.partitions, replicationFactor: 1 })), waitForLeaders: true });
    },
    async remove(topics) {
      try {
        await admin.deleteTopics({ topics });
      } catch (e) {
        log(`could not delete ${topics.join(', ')}: ${e.message}`);
      }
    },
    close: () => admin.disconnect(),
  };
}

// ---------------------------------------------------------------------------
// Running one phase

function runNodePhase(spec) {
  return new Promise((resolve) => {
    const child = fork(path.join(BENCH_DIR, 'phase.mjs'), [JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // --cpu-prof DIR: a V8 CPU profile per phase process (open in Chrome DevTools, or summarise with profile-summary.mjs).
      execArgv: args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof']), '--cpu-prof-name', `${spec.client}-${spec.size}-${spec.phase}-r${spec.rep}.cpuprofile`] : [],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    });
    let output = '';
    let message;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('message', (m) => (message = m));
    const killer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs * 3 + 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (message?.ok) resolve({ result: message.result });
      else resolve({ error: message?.error ?? `exited ${code ?? signal} without a result\n${output.slice(-2000)}` });
    });
  });
}

let java;
async function runJavaPhase(spec) {
  java ??= await import('./java-perf.mjs');
  try {
    if (spec.phase === 'produce') return { result: await java.produce(spec) };
    if (spec.phase === 'consume') return { result: await java.consume(spec) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
  return null; // no e2e / single-send equivalent
}

// ---------------------------------------------------------------------------

function machine(brokers, javaVersion) {
  const cpus = os.cpus();
  let kernel = os.release();
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux
  }
  return {
    CPU: `${cpus[0]?.model ?? 'unknown'} × ${cpus.length} (os.availableParallelism() = ${os.availableParallelism()})`,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
    OS: `${distro} (${os.platform()} ${kernel}, ${os.arch()})`,
    Node: process.version,
    Java: javaVersion,
    broker: `Apache Kafka ${kafkaVersion()}, single KRaft node from tools/kafka (heap 512 MiB) at ${brokers}, same machine, loopback`,
  };
}

function javaVersionString() {
  // `java -version` writes to stderr.
  const r = spawnSync(process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java', ['-version'], { encoding: 'utf8' });
  const lines = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n');
  return lines.length >= 2 ? `${lines[0]}; ${lines[1]}` : lines[0] || 'unknown';
}

function commandLine() {
  const rel = path.relative(REPO_ROOT, path.join(BENCH_DIR, 'run.mjs'));
  const passed = process.argv.slice(2).filter((a) => a !== '--no-build');
  return ['node', rel, ...passed].join(' ');
}

/** Client order of a repetition: rotated by one each rep, reversed on odd reps. */
function orderFor(rep, clients) {
  const k = rep % clients.length;
  const rotated = [...clients.slice(k), ...clients.slice(0, k)];
  return rep % 2 === 1 ? rotated.reverse() : rotated;
}

/** --from-json FILE: no measuring; print (and with --docs, write) the report of a saved run. */
function reportOnly(file) {
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  const summary = aggregate(data);
  process.stdout.write(`${formatConsole(summary, data.meta)}\n`);
  if (args.docs) writeDocs(summary, data);
}

async function main() {
  if (args['from-json']) return reportOnly(args['from-json']);
  const started = new Date();
  const brokers = await resolveBrokers();
  log(`broker ${brokers}`);
  if (cfg.clients.includes('tributary')) buildTributary();
  if (cfg.clients.includes('java')) {
    const { fetchTools } = await import('./java-perf.mjs');
    await fetchTools({ log });
  }
  const adapters = {};
  for (const c of cfg.clients) {
    adapters[c] = c === 'java' ? await import('./java-perf.mjs') : await import(`./clients/${MODULES[c]}`);
  }
  const clients = cfg.clients.map((c) => ({
    id: c,
    label: adapters[c].label,
    family: adapters[c].family,
    version: adapters[c].version(),
    notes: adapters[c].notes,
  }));
  const admin = await openAdmin(brokers);
  const runId = Date.now().toString(36);
  const runs = [];
  const totalReps = cfg.warmupReps + cfg.reps;
  const loads = [];
  try {
    for (let rep = 0; rep < totalReps; rep++) {
      const warmup = rep < cfg.warmupReps;
      // Warm-up repetitions only warm the broker (JIT, page cache, log segments; the clients warm up
      // inside each phase process): a quarter of the records, produce and consume only.
      const scale = warmup ? 0.25 : 1;
      const phases = warmup ? cfg.phases.filter((p) => p === 'produce' || p === 'consume') : cfg.phases;
      const order = orderFor(rep, cfg.clients);
      log(`rep ${rep + 1}/${totalReps}${warmup ? ' (warm-up, excluded)' : ''}: ${order.join(' → ')}`);
      for (const size of cfg.sizes) {
        for (const client of order) {
          const base = `bench-${runId}-${client}-${size}-r${rep}`;
          const records = Math.max(1, Math.round(recordsFor(size) * scale));
          const common = {
            client,
            module: MODULES[client],
            brokers,
            size,
            records,
            warmRecords: Math.max(1, Math.round(records * cfg.warmFraction)),
            chunkRecords: cfg.chunkRecords,
            inflightChunks: cfg.inflightChunks,
            timeoutMs: cfg.timeoutMs,
            e2eRate: cfg.e2eRate,
            e2eMs: Math.round(cfg.e2eMs * scale),
            e2eWarmMs: cfg.e2eWarmMs,
            singleSends: Math.max(1, Math.round(cfg.singleSends * scale)),
            singleWarm: 50,
            overrides,
          };
          const topics = [];
          for (const phase of phases) {
            if (client === 'java' && (phase === 'e2e' || phase === 'single')) continue;
            // consume reads what produce wrote; Java writes its warm-up records into the measured topic itself.
            const topic = phase === 'consume' ? `${base}-produce` : `${base}-${phase}`;
            const warmTopic = `${base}-warm`;
            if (phase !== 'consume') {
              const create = phase === 'produce' && client !== 'java' ? [topic, warmTopic] : [topic];
              await admin.create(create);
              topics.push(...create);
            }
            const spec = { ...common, rep, phase, topic, warmTopic, groupId: `${base}-${phase}-g` };
            const load = os.loadavg()[0];
            loads.push(load);
            const t0 = Date.now();
            const out = client === 'java' ? await runJavaPhase(spec) : await runNodePhase(spec);
            if (!out) continue;
            runs.push({ rep, warmup, size, client, phase, load1: load, wallMs: Date.now() - t0, ...out });
            log(`  ${client.padEnd(12)} ${String(size).padStart(5)} B ${phase.padEnd(7)} ${out.error ? `FAILED: ${out.error.split('\n')[0]}` : brief(phase, out.result)}`);
          }
          await admin.remove(topics);
        }
      }
    }
  } finally {
    await admin.close();
  }
  const finished = new Date();
  const data = {
    meta: {
      command: commandLine(),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished - started,
      machine: { ...machine(brokers, javaVersionString()), 'load average (1 min) during phases': loadRange(loads) },
      sizes: cfg.sizes,
      records: cfg.records,
      recordsBySize: cfg.sizes.map((s) => [s, recordsFor(s)]),
      reps: cfg.reps,
      warmupReps: cfg.warmupReps,
      warmFraction: cfg.warmFraction,
      partitions: cfg.partitions,
      e2eRate: cfg.e2eRate,
      e2eMs: cfg.e2eMs,
      e2eWarmMs: cfg.e2eWarmMs,
      singleSends: cfg.singleSends,
      singleWarm: 50,
      overrides,
      settings: { PRODUCER, CONSUMER, DRIVER: { chunkRecords: cfg.chunkRecords, inflightChunks: cfg.inflightChunks } },
    },
    clients,
    runs,
  };
  const summary = aggregate(data);
  process.stdout.write(`${formatConsole(summary, data.meta)}\n`);

  const resultsDir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, args.docs ? 'latest.json' : `run-${runId}.json`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(data, null, 2)}\n`);
  log(`raw results: ${path.relative(REPO_ROOT, jsonFile)}`);
  if (args.docs) writeDocs(summary, data);
}

function brief(phase, r) {
  if (phase === 'produce' || phase === 'consume') return `${Math.round((r.records / r.ms) * 1000).toLocaleString('en-US')} rec/s (${r.records} in ${Math.round(r.ms)} ms)`;
  return `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.samples} samples)`;
}

function loadRange(loads) {
  if (!loads.length) return 'n/a';
  return `${Math.min(...loads).toFixed(2)} – ${Math.max(...loads).toFixed(2)} (mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)})`;
}

const BEGIN = '<!-- BEGIN GENERATED by tools/bench/kafka/run.mjs --docs: do not edit by hand -->';
const END = '<!-- END GENERATED -->';

function writeDocs(summary, data) {
  const docsDir = path.join(REPO_ROOT, 'docs');
  fs.mkdirSync(docsDir, { recursive: true });
  const chart = 'benchmarks-kafka.svg';
  fs.writeFileSync(path.join(docsDir, chart), svgChart(summary, data.meta));
  const file = path.join(docsDir, 'benchmarks.md');
  const generated = `${BEGIN}\n${formatMarkdown(summary, data, { chartFile: chart })}\n${END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  text = a >= 0 && b > a ? text.slice(0, a) + generated + text.slice(b + END.length) : `${text.trimEnd()}\n\n${generated}\n`;
  fs.writeFileSync(file, text);
  log(`wrote docs/benchmarks.md (generated section) and docs/${chart}`);
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
