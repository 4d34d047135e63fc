#!/usr/bin/env node
// Queue throughput of @tributary/mq-markers against plain consumption of the
// same topic, in one run (kmq published about 0.82× plain; our target ≥ 0.85×).
//
//   node tools/bench/mq-markers.mjs [--records N] [--partitions 4] [--per-commit 500] [--ahead 2]
//                                   [--rounds 5] [--redeliverer] [--no-build]
//
// Memory transport by default; Kafka when KAFKA_BROKERS is set (needs a built
// @tributary/kafka). It loads the *built* packages (packages/*/dist): unless
// --no-build is given it first runs the nx builds.
//
// Each round produces the records once, then consumes them with three fresh
// groups, in rotating order:
//   plain-push   a core GroupConsumer; onBatch touches every record, commits the batch
//   plain-pull   the same records pulled one at a time through an equivalent
//                buffered pull loop (a promise per message, a commit every
//                --per-commit messages) — plain consumption behind the same
//                one-message-at-a-time API the queue client has
//   markers      createMqClient: nextMessage() per message (start markers, commit),
//                then processed() per message (end marker); timed until every
//                end marker is acknowledged
// and prints records/s for each and the ratios. Each is timed from its first
// message to its last (steady state: the group join and the first fetch are
// left out). The median of the per-round ratios counts.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    records: { type: 'string' },
    partitions: { type: 'string', default: '4' },
    'per-commit': { type: 'string', default: '500' },
    rounds: { type: 'string', default: '5' },
    ahead: { type: 'string', default: '2' },
    redeliverer: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});
const brokers = process.env.KAFKA_BROKERS?.trim();
const onKafka = Boolean(brokers);
const N = Number(args.records ?? (onKafka ? 200_000 : 500_000));
const PARTITIONS = Number(args.partitions);
const PER_COMMIT = Number(args['per-commit']);
const ROUNDS = Number(args.rounds);
const AHEAD = Number(args.ahead);

if (!args['no-build']) {
  const projects = ['@tributary/mq-markers', '@tributary/memory', ...(onKafka ? ['@tributary/kafka'] : [])];
  process.stdout.write(`building ${projects.join(', ')} …\n`);
  execFileSync('npx', ['nx', 'run-many', '-t', 'build', `--projects=${projects.join(',')}`, '--output-style=stream-without-prefixes'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const require = createRequire(join(root, 'packages', 'mq-markers', 'package.json'));
const { createMqClient, createQueueTopics, createRedeliverer } = require('@tributary/mq-markers');

function makeTransport() {
  if (!onKafka) return require('@tributary/memory').memory();
  return require('@tributary/kafka').kafka({ brokers: brokers.split(',') });
}

const rate = (n, ms) => Math.round((n / ms) * 1000);
const fmt = (n) => n.toLocaleString('en-US');
const value = Buffer.from('{"n":0,"kind":"bench-record","pad":"xxxxxxxx"}');

async function produce(transport, topic) {
  const producer = transport.producer();
  const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
  const inflight = [];
  for (let i = 0; i < N; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) batch.push({ topic, key: keys[j % keys.length], value });
    inflight.push(producer.send(batch));
    if (inflight.length >= 16) for (const r of (await inflight.shift())) if (!r.ok) throw r.error;
  }
  for (const p of inflight) for (const r of await p) if (!r.ok) throw r.error;
  await producer.close();
}

async function plainPush(transport, topic, group) {
  let consumed = 0;
  let bytes = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const consumer = transport.groupConsumer({ groupId: group, topics: [topic] });
  let t0;
  await consumer.run({
    async onBatch(batch) {
      t0 ??= performance.now();
      for (const m of batch.messages) bytes += m.value.length;
      const last = batch.messages[batch.messages.length - 1];
      await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]);
      consumed += batch.messages.length;
      if (consumed >= N) done();
    },
  });
  await finished;
  const ms = performance.now() - t0;
  await consumer.close();
  return { ms, bytes };
}

// The pull loop of the queue client without markers: buffered batches with
// backpressure, one promise per message, a commit every PER_COMMIT messages.
async function plainPull(transport, topic, group) {
  const capacity = Math.max(1000, 2 * PER_COMMIT);
  const segments = [];
  let size = 0;
  let roomWaiters = [];
  let dataWaiter;
  const consumer = transport.groupConsumer({ groupId: group, topics: [topic] });
  await consumer.run({
    async onBatch(batch) {
      segments.push({ messages: batch.messages, index: 0 });
      size += batch.messages.length;
      dataWaiter?.();
      if (size >= capacity) await new Promise((resolve) => roomWaiters.push(resolve));
    },
  });
  let ready = [];
  let head = 0;
  async function next() {
    if (head < ready.length) return ready[head++];
    while (size === 0) await new Promise((resolve) => (dataWaiter = resolve));
    dataWaiter = undefined;
    ready = [];
    head = 0;
    while (ready.length < PER_COMMIT && segments.length > 0) {
      const s = segments[0];
      const n = Math.min(PER_COMMIT - ready.length, s.messages.length - s.index);
      for (let i = 0; i < n; i++) ready.push(s.messages[s.index + i]);
      s.index += n;
      if (s.index === s.messages.length) segments.shift();
    }
    size -= ready.length;
    if (size < capacity) for (const w of roomWaiters.splice(0)) w();
    const last = new Map();
    for (const m of ready) last.set(m.partition, m.offset + 1);
    await consumer.commit([...last].map(([partition, offset]) => ({ topic, partition, offset })));
    return ready[head++];
  }
  let bytes = 0;
  let t0;
  for (let i = 0; i < N; i++) {
    const m = await next();
    t0 ??= performance.now();
    bytes += m.value.length;
  }
  const ms = performance.now() - t0;
  for (const w of roomWaiters.splice(0)) w();
  await consumer.close();
  return { ms, bytes };
}

async function withMarkers(transport, queue, group) {
  const client = createMqClient(transport, {
    queue,
    groupId: group,
    maxMessagesPerCommit: PER_COMMIT,
    maxChunksAhead: AHEAD,
    maxBufferedMessages: Math.max(1000, (AHEAD + 1) * PER_COMMIT),
  });
  await client.connect();
  let bytes = 0;
  let acked = 0;
  let failed;
  let allAcked;
  const everyEnd = new Promise((resolve) => (allAcked = resolve));
  const onEnd = () => {
    if (++acked === N) allAcked();
  };
  const onFail = (err) => (failed ??= err);
  let t0;
  for (let i = 0; i < N; i++) {
    const m = await client.nextMessage(10_000);
    if (m === null) throw new Error(`timed out after ${i} messages`);
    t0 ??= performance.now();
    bytes += m.value.length;
    // kmq's flow: the end marker is not awaited before the next message.
    client.processed(m).then(onEnd, onFail);
  }
  await everyEnd;
  const ms = performance.now() - t0;
  if (failed) throw failed;
  await client.close();
  return { ms, bytes };
}

async function round(r) {
  const transport = makeTransport();
  const queue = `bench-mq-${process.pid}-${r}-${Date.now()}`;
  await createQueueTopics(transport, { queue, partitions: PARTITIONS, deadLetterTopic: false });
  await produce(transport, queue);
  let redeliverer;
  if (args.redeliverer) {
    redeliverer = createRedeliverer(transport, { queue });
    await redeliverer.start();
  }
  const runs = {
    'plain-push': () => plainPush(transport, queue, `${queue}-push`),
    'plain-pull': () => plainPull(transport, queue, `${queue}-pull`),
    markers: () => withMarkers(transport, queue, `${queue}-markers`),
  };
  const order = Object.keys(runs);
  for (let i = 0; i < r % order.length; i++) order.push(order.shift());
  const results = {};
  for (const name of order) {
    const { ms, bytes } = await runs[name]();
    if (bytes !== N * value.length) throw new Error(`${name}: consumed ${bytes} value bytes, expected ${N * value.length}`);
    results[name] = rate(N, ms);
  }
  await redeliverer?.close();
  await transport.close();
  return results;
}

async function main() {
  process.stdout.write(
    `mq-markers bench on ${onKafka ? `kafka (${brokers})` : 'memory'}: ${fmt(N)} records, ${PARTITIONS} partitions, ` +
      `maxMessagesPerCommit ${PER_COMMIT}, maxChunksAhead ${AHEAD}, ${ROUNDS} rounds${args.redeliverer ? ', redeliverer running' : ''}, node ${process.version}\n`,
  );
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const res = await round(r);
    rounds.push(res);
    process.stdout.write(
      `  round ${r + 1}: plain-push ${fmt(res['plain-push'])}/s  plain-pull ${fmt(res['plain-pull'])}/s  markers ${fmt(res.markers)}/s  ` +
        `(markers/push ${(res.markers / res['plain-push']).toFixed(2)}×, markers/pull ${(res.markers / res['plain-pull']).toFixed(2)}×)\n`,
    );
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const of = (name) => median(rounds.map((r) => r[name]));
  // Ratios per round (each pair measured minutes apart at most), then their median: robust to a noisy machine.
  const vsPush = median(rounds.map((r) => r.markers / r['plain-push']));
  const vsPull = median(rounds.map((r) => r.markers / r['plain-pull']));
  process.stdout.write(
    [
      `median records/s: plain-push ${fmt(of('plain-push'))}, plain-pull ${fmt(of('plain-pull'))}, markers ${fmt(of('markers'))}`,
      `median of per-round ratios: markers / plain-push ${vsPush.toFixed(2)}×, markers / plain-pull ${vsPull.toFixed(2)}×   (kmq published ~0.82×; target ≥ 0.85×)`,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
