#!/usr/bin/env node
// What Tributary's producer costs on top of the raw ckjs callback API it is
// built on, one ingredient at a time, each variant in its own process and
// alternated over several rounds (the full bench's run-to-run spread is
// larger than the difference measured here):
//
//   shared   raw ckjs: produce() per record, one opaque per send() chunk, headers pre-built
//   slot     + one opaque object per record (as Tributary's DeliverySlot)
//   slothdr  + the { name: value } headers object converted to [{ name: value }] per record
//   trib     Tributary: kafka({ brokers }).producer().send(chunk), per-record results
//
//   node tools/bench/kafka/producer-overhead.mjs [--records 200000] [--size 100] [--rounds 3] [--brokers 127.0.0.1:9092]
//
// Loads the built @tributary/kafka (build it first: npx nx run @tributary/kafka:build).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './paths.mjs';
import { median } from './stats.mjs';
import { PRODUCER, DRIVER, TIMESTAMP_HEADER } from './settings.mjs';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    size: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
    variant: { type: 'string' },
  },
});
const VARIANTS = ['shared', 'slot', 'slothdr', 'trib'];
const require = createRequire(`${REPO_ROOT}/package.json`);
const N = Number(args.records);
const brokers = args.brokers;

async function windowed(chunks, send) {
  let next = 0;
  await Promise.all(
    Array.from({ length: DRIVER.inflightChunks }, async () => {
      while (next < chunks.length) await send(chunks[next++]);
    }),
  );
}

/** One variant, in this (child) process: returns { rps, cpuUs } for N records. */
async function measure(variant, topic) {
  const value = Buffer.alloc(Number(args.size), 0x61);
  const ts = '0000000000.000';
  let send;
  let close;
  let make;
  if (variant === 'trib') {
    const { kafka } = require('@tributary/kafka');
    const transport = kafka({ brokers: brokers.split(',') });
    const producer = transport.producer();
    await producer.connect();
    make = () => ({ topic, value, headers: { [TIMESTAMP_HEADER]: ts } });
    send = async (records) => {
      for (const r of await producer.send(records)) if (!r.ok) throw r.error;
    };
    close = async () => {
      await producer.close();
      await transport.close();
    };
  } else {
    const Kafka = require('@confluentinc/kafka-javascript');
    const perRecord = variant !== 'shared';
    const convert = variant === 'slothdr';
    const producer = new Kafka.Producer({
      'bootstrap.servers': brokers,
      acks: 'all',
      'enable.idempotence': PRODUCER.idempotent,
      'linger.ms': PRODUCER.lingerMs,
      dr_cb: true,
    });
    producer.on('delivery-report', (err, report) => {
      const pending = perRecord ? report.opaque.call : report.opaque;
      if (err) pending.fail(err);
      else if (--pending.remaining === 0) pending.done();
    });
    await new Promise((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
    producer.setPollInBackground(true);
    make = () => ({ topic, value, headers: convert ? { [TIMESTAMP_HEADER]: ts } : [{ [TIMESTAMP_HEADER]: ts }] });
    send = (records) =>
      new Promise((resolve, reject) => {
        const pending = { remaining: records.length, done: resolve, fail: reject };
        for (let i = 0; i < records.length; i++) {
          const r = records[i];
          let headers = r.headers;
          if (convert) {
            headers = [];
            for (const name in r.headers) headers.push({ [name]: r.headers[name] });
          }
          producer.produce(topic, -1, r.value, null, null, perRecord ? { call: pending, index: i } : pending, headers);
        }
      });
    close = () => new Promise((resolve) => producer.disconnect(() => resolve()));
  }
  const chunks = [];
  for (let i = 0; i < N; i += DRIVER.chunkRecords) chunks.push(Array.from({ length: Math.min(DRIVER.chunkRecords, N - i) }, make));
  await send([make()]); // connection and metadata outside the clock
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await windowed(chunks, send);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await close();
  return { rps: (N / ms) * 1000, cpuUs: (cpu.user + cpu.system) / N };
}

if (args.variant) {
  // Child: one variant on the topic named in argv.
  const result = await measure(args.variant, process.env.BENCH_TOPIC);
  process.send(result, () => process.exit(0));
} else {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({ brokers: brokers.split(','), clientId: 'bench-admin', logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  const results = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  try {
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
        const topic = `bench-overhead-${Date.now().toString(36)}-${variant}`;
        await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
        const result = await new Promise((resolve, reject) => {
          const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), '--variant', variant], {
            env: { ...process.env, BENCH_TOPIC: topic },
          });
          let got;
          child.on('message', (m) => (got = m));
          child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`${variant} exited ${code}`))));
        });
        await admin.deleteTopics({ topics: [topic] });
        results[variant].push(result);
        process.stderr.write(`round ${round + 1} ${variant.padEnd(8)} ${Math.round(result.rps).toLocaleString('en-US')} rec/s, ${result.cpuUs.toFixed(2)} µs CPU/record\n`);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const range = (xs, f) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  process.stdout.write(
    `\n${N.toLocaleString('en-US')} records of ${args.size} B, ${args.rounds} rounds (median, then min–max)\n` +
      `variant   records/s                  CPU µs/record\n`,
  );
  for (const v of VARIANTS) {
    const rps = results[v].map((r) => r.rps);
    const cpu = results[v].map((r) => r.cpuUs);
    const k = (x) => `${Math.round(x / 1000)}k`;
    process.stdout.write(
      `${v.padEnd(8)}  ${`${k(median(rps))} (${range(rps, k)})`.padEnd(25)}  ${median(cpu).toFixed(2)} (${range(cpu, (x) => x.toFixed(2))})\n`,
    );
  }
}
