#!/usr/bin/env node
// Throughput of @tributary/memory: produce N small keyed records in batches,
// then consume them all with one group consumer; prints records/s for each.
//
//   node tools/bench/memory-throughput.mjs [--records 2000000] [--batch 1000] [--partitions 8] [--no-build]
//
// It loads the *built* packages (packages/*/dist). Unless --no-build is given it
// first runs `npx nx run @tributary/memory:build` (which builds core too); with
// --no-build, build them yourself first. No dependencies beyond the workspace.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    batch: { type: 'string', default: '1000' },
    partitions: { type: 'string', default: '8' },
    'max-batch-records': { type: 'string', default: '500' },
    'no-build': { type: 'boolean', default: false },
  },
});
const N = Number(args.records);
const SEND_BATCH = Number(args.batch);
const PARTITIONS = Number(args.partitions);
const MAX_BATCH_RECORDS = Number(args['max-batch-records']);

if (!args['no-build']) {
  process.stdout.write('building @tributary/memory (npx nx run @tributary/memory:build) …\n');
  execFileSync('npx', ['nx', 'run', '@tributary/memory:build', '--output-style=stream-without-prefixes'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const require = createRequire(join(root, 'packages', 'memory', 'package.json'));
const { memory } = require('@tributary/memory');

const rate = (n, ms) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} records/s`;

async function main() {
  const transport = memory();
  const admin = transport.admin();
  await admin.createTopics([{ topic: 'bench', partitions: PARTITIONS }]);

  // Records are built up front so the timing measures the transport, not the benchmark.
  const value = Buffer.from('{"n":0,"kind":"bench-record"}');
  const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
  const batches = [];
  for (let i = 0; i < N; i += SEND_BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + SEND_BATCH); j++) batch.push({ topic: 'bench', key: keys[j % keys.length], value });
    batches.push(batch);
  }

  const producer = transport.producer();
  await producer.connect();
  let t0 = performance.now();
  let failed = 0;
  for (const batch of batches) {
    const results = await producer.send(batch);
    for (const r of results) if (!r.ok) failed++;
  }
  const produceMs = performance.now() - t0;
  if (failed > 0) throw new Error(`${failed} records failed`);

  // Handlers touch every record (sum the value bytes) so the consume side is not just counting batches.
  let bytes = 0;
  let consumed = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const consumer = transport.groupConsumer({ groupId: 'bench', topics: ['bench'], maxBatchRecords: MAX_BATCH_RECORDS });
  t0 = performance.now();
  await consumer.run({
    async onBatch(batch) {
      for (const m of batch.messages) bytes += m.value.length;
      consumed += batch.messages.length;
      if (consumed >= N) done();
    },
  });
  await finished;
  const consumeMs = performance.now() - t0;
  await consumer.close();

  // Both at once: a consumer keeps up while a producer sends.
  const live = transport.groupConsumer({ groupId: 'bench-live', topics: ['bench'], fromBeginning: false, maxBatchRecords: MAX_BATCH_RECORDS });
  let liveCount = 0;
  let liveDone;
  const liveFinished = new Promise((resolve) => (liveDone = resolve));
  await live.run({
    async onBatch(batch) {
      for (const m of batch.messages) bytes += m.value.length;
      liveCount += batch.messages.length;
      if (liveCount >= N) liveDone();
    },
  });
  t0 = performance.now();
  for (const batch of batches) await producer.send(batch);
  await liveFinished;
  const bothMs = performance.now() - t0;

  await transport.close();
  if (bytes !== 2 * N * value.length) throw new Error(`consumed ${bytes} value bytes, expected ${2 * N * value.length}`);
  const mem = process.memoryUsage();
  process.stdout.write(
    [
      `records: ${N.toLocaleString('en-US')} (send batches of ${SEND_BATCH}, ${PARTITIONS} partitions, maxBatchRecords ${MAX_BATCH_RECORDS}, node ${process.version})`,
      `produce:             ${rate(N, produceMs)} (${produceMs.toFixed(0)} ms)`,
      `consume (group):     ${rate(N, consumeMs)} (${consumeMs.toFixed(0)} ms)`,
      `produce+consume:     ${rate(N, bothMs)} end to end (${bothMs.toFixed(0)} ms)`,
      `heap used at end:    ${(mem.heapUsed / 1024 / 1024).toFixed(0)} MiB`,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
