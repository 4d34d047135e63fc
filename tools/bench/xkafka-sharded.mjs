#!/usr/bin/env node
// Key-sharded throughput of @tributary/xkafka-sharded on ONE partition, with
// handlers sleeping 0–5 ms at random, against serial processing of that
// partition — in one run. Prints records/s, the mean handler time actually
// measured, and the target: ≥ 0.8 × (shards ÷ mean handler time) and
// ≥ 10 000 records/s with 64 shards. Confluent Parallel Consumer's published
// key-ordered figure is shown beside it for reference.
//
//   node tools/bench/xkafka-sharded.mjs [--records 20000] [--keys 20000] [--shards 64]
//        [--serial-records 1000] [--max-sleep-ms 5] [--no-build]
//
// Runs on the memory transport by default; on Kafka when KAFKA_BROKERS is set
// (e.g. KAFKA_BROKERS=$(node tools/kafka/broker.mjs start)).
//
// It loads the *built* packages (packages/*/dist). Unless --no-build is given
// it first builds them with Nx. Not a test: nothing here fails a CI run.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    keys: { type: 'string', default: '20000' },
    shards: { type: 'string', default: '64' },
    'serial-records': { type: 'string', default: '1000' },
    'max-sleep-ms': { type: 'string', default: '5' },
    'no-build': { type: 'boolean', default: false },
  },
});
const RECORDS = Number(args.records);
const KEYS = Number(args.keys);
const SHARDS = Number(args.shards);
const SERIAL_RECORDS = Number(args['serial-records']);
const MAX_SLEEP_MS = Number(args['max-sleep-ms']);
const BROKERS = process.env.KAFKA_BROKERS?.trim();

/** Confluent Parallel Consumer, README "Performance": key ordering, 10 000 records, 0–5 ms work, concurrency 100. */
const CONFLUENT_PC_KEY_ORDERED = 4_600;

const projects = ['@tributary/xkafka-sharded', '@tributary/memory', ...(BROKERS ? ['@tributary/kafka'] : [])];
if (!args['no-build']) {
  process.stderr.write(`building ${projects.join(', ')} …\n`);
  execFileSync('npx', ['nx', 'run-many', '-t', 'build', `--projects=${projects.join(',')}`, '--output-style=stream-without-prefixes'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const requireFrom = (pkg) => createRequire(join(root, 'packages', pkg, 'package.json'));
const { createShardedGroupConsumer } = requireFrom('xkafka-sharded')('@tributary/xkafka-sharded');
const transportFactory = BROKERS
  ? () => requireFrom('kafka')('@tributary/kafka').kafka({ brokers: BROKERS.split(',') })
  : (() => {
      const { memory } = requireFrom('memory')('@tributary/memory');
      const t = memory();
      return () => t;
    })();

const run = randomBytes(3).toString('hex');
let seq = 0;
const unique = (prefix) => `${prefix}-${run}-${++seq}`;
const rate = (n, ms) => Math.round((n / ms) * 1000);
const fmt = (n) => n.toLocaleString('en-US');

/** A handler that sleeps 0–MAX_SLEEP_MS ms and measures how long it really took. */
function sleepyHandler(stats) {
  return () =>
    new Promise((resolve) => {
      const started = performance.now();
      setTimeout(() => {
        stats.handled++;
        stats.handlerMs += performance.now() - started;
        resolve();
      }, Math.random() * MAX_SLEEP_MS);
    });
}

async function topicWith(transport, count, keys) {
  const topic = unique('bench-xks');
  const admin = transport.admin();
  await admin.createTopics([{ topic, partitions: 1 }]);
  await admin.close();
  const producer = transport.producer();
  for (let i = 0; i < count; i += 1_000) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 1_000); j++) batch.push({ topic, key: `key-${j % keys}`, value: `{"n":${j}}`, partition: 0 });
    const results = await producer.send(batch);
    if (results.some((r) => !r.ok)) throw new Error('produce failed');
  }
  await producer.close();
  return topic;
}

async function until(condition, what, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Serial processing of one partition: one record at a time, straight on the transport's group consumer. */
async function serial(transport) {
  const topic = await topicWith(transport, SERIAL_RECORDS, KEYS);
  const stats = { handled: 0, handlerMs: 0 };
  const handle = sleepyHandler(stats);
  const consumer = transport.groupConsumer({ groupId: unique('bench-serial'), topics: [topic], fromBeginning: true });
  let t0;
  await consumer.run({
    async onBatch(batch) {
      t0 ??= performance.now();
      for (const m of batch.messages) await handle(m);
    },
  });
  await until(() => stats.handled >= SERIAL_RECORDS, 'serial run');
  const ms = performance.now() - t0;
  await consumer.close();
  return { records: SERIAL_RECORDS, ms, rate: rate(SERIAL_RECORDS, ms), meanMs: stats.handlerMs / stats.handled };
}

async function sharded(transport, { shards, keys, routing }) {
  const topic = await topicWith(transport, RECORDS, keys);
  const stats = { handled: 0, handlerMs: 0 };
  const handle = sleepyHandler(stats);
  const consumer = createShardedGroupConsumer(transport, {
    groupId: unique('bench-sharded'),
    topics: [topic],
    shardCount: shards,
    routing,
    loggingHandler: false,
  });
  let t0;
  await consumer.start((m) => {
    t0 ??= performance.now();
    return handle(m);
  });
  await until(() => stats.handled >= RECORDS, 'sharded run');
  const ms = performance.now() - t0;
  await consumer.close();
  return { records: RECORDS, ms, rate: rate(RECORDS, ms), meanMs: stats.handlerMs / stats.handled };
}

async function main() {
  const transport = transportFactory();
  const where = BROKERS ? `Kafka at ${BROKERS}` : 'the memory transport';
  console.log(`xkafka-sharded bench on ${where}: one partition, handlers sleeping 0–${MAX_SLEEP_MS} ms at random\n`);

  const s = await serial(transport);
  console.log(`serial (one record at a time)            ${fmt(s.records).padStart(7)} records  ${fmt(s.rate).padStart(7)} records/s  mean handler ${s.meanMs.toFixed(2)} ms`);

  const rows = [
    { label: `key-sharded, ${SHARDS} shards, balanced`, shards: SHARDS, keys: KEYS, routing: 'balanced', main: true },
    { label: `key-sharded, ${SHARDS} shards, hash`, shards: SHARDS, keys: KEYS, routing: 'hash' },
    { label: `key-sharded, ${SHARDS} shards, 200 keys`, shards: SHARDS, keys: 200, routing: 'balanced' },
    { label: `key-sharded, ${SHARDS} shards, 200 keys, hash`, shards: SHARDS, keys: 200, routing: 'hash' },
    { label: `key-sharded, 32 shards, 200 keys`, shards: 32, keys: 200, routing: 'balanced' },
  ];
  let main;
  for (const row of rows) {
    const r = await sharded(transport, row);
    const ideal = (row.shards / r.meanMs) * 1000;
    console.log(
      `${row.label.padEnd(40)} ${fmt(r.records).padStart(7)} records  ${fmt(r.rate).padStart(7)} records/s  mean handler ${r.meanMs.toFixed(2)} ms` +
        `  ${(r.rate / ideal).toFixed(2)} × shards/mean  ${(r.rate / s.rate).toFixed(1)}× serial` +
        `  (${fmt(row.keys)} keys)`,
    );
    if (row.main) main = { ...r, ideal };
  }

  const target = 0.8 * main.ideal;
  console.log(`\ntarget with ${SHARDS} shards: ≥ 0.8 × ${SHARDS} / ${main.meanMs.toFixed(2)} ms = ${fmt(Math.round(target))} records/s and ≥ 10,000 records/s`);
  console.log(`  measured ${fmt(main.rate)} records/s: ${main.rate >= target ? 'meets' : 'MISSES'} the shards/mean target, ${main.rate >= 10_000 ? 'meets' : 'MISSES'} the 10k floor`);
  console.log(
    `reference: Confluent Parallel Consumer, key ordering (published: 10k records, 0–5 ms, concurrency 100): ~${fmt(CONFLUENT_PC_KEY_ORDERED)} records/s` +
      ` — this run: ${(main.rate / CONFLUENT_PC_KEY_ORDERED).toFixed(1)}× that`,
  );
  await transport.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
