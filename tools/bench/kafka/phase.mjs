// One measured phase of one Node client, in its own process (forked by
// run.mjs with an IPC channel): `produce`, `consume`, `e2e` or `single`.
// The spec arrives as JSON in argv[2]; the result goes back with
// process.send({ ok, result | error }) and the process exits, so no client's
// native threads, sockets or GC debt outlive its phase.
//
// Every phase warms up inside the process first (JIT, connections, metadata,
// group join) and times only what comes after.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { latencySummary } from './stats.mjs';

const spec = JSON.parse(process.argv[2]);
const adapter = await import(`./clients/${spec.module}`);

const now = () => performance.now();
/** Same width as a real timestamp, so every record of a phase has the same size. */
const FIXED_TS = '0000000000.000';
const stamp = () => now().toFixed(3).padStart(FIXED_TS.length, '0');

function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no completion within ${ms} ms`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Sends the chunks with at most `inflight` send() calls outstanding. */
async function sendWindowed(producer, chunks, inflight) {
  let next = 0;
  const lane = async () => {
    while (next < chunks.length) await producer.send(chunks[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(inflight, chunks.length) }, lane));
}

function buildChunks(producer, topic, count, value, chunkRecords) {
  const chunks = [];
  for (let i = 0; i < count; i += chunkRecords) {
    const chunk = [];
    for (let j = i; j < Math.min(count, i + chunkRecords); j++) chunk.push(producer.prepare(topic, value, FIXED_TS));
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Warm-up records go to a separate topic (spec.warmTopic), then one awaited
 * primer record to the measured topic (its metadata lookup stays out of the
 * clock), then the timed records: the measured topic holds records + 1.
 */
async function produce() {
  const producer = await adapter.openProducer({ brokers: spec.brokers, clientId: `bench-${spec.client}`, overrides: spec.overrides });
  const value = Buffer.alloc(spec.size, 0x61);
  const warm = buildChunks(producer, spec.warmTopic, spec.warmRecords, value, spec.chunkRecords);
  const measured = buildChunks(producer, spec.topic, spec.records, value, spec.chunkRecords);
  await sendWindowed(producer, warm, spec.inflightChunks);
  await producer.send([producer.prepare(spec.topic, value, FIXED_TS)]);
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await sendWindowed(producer, measured, spec.inflightChunks);
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  return { records: spec.records, bytes: spec.records * spec.size, ms, cpuUs: cpu.user + cpu.system };
}

/**
 * Reads `expected` records of a topic with a fresh group; resolves with the
 * time of the first delivery, the number of records after the first delivery
 * and the time of the last one.
 */
async function readAll(topic, groupId, expected) {
  const started = now();
  let seen = 0;
  let firstAt;
  let cpu0;
  let cpu;
  let after = 0;
  let bytes = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const consumer = await adapter.openConsumer({
    brokers: spec.brokers,
    clientId: `bench-${spec.client}`,
    topic,
    groupId,
    timestamps: false,
    overrides: spec.overrides,
    onBatch(count, batchBytes) {
      const at = now();
      seen += count;
      if (firstAt === undefined) {
        firstAt = at;
        cpu0 = process.cpuUsage();
      } else {
        after += count;
        bytes += batchBytes;
      }
      if (seen >= expected && cpu === undefined) {
        cpu = process.cpuUsage(cpu0);
        done(at);
      }
    },
  });
  const limit = deadline(spec.timeoutMs, `consume ${topic}`);
  const check = setInterval(() => {
    const e = consumer.error();
    if (e) done(Promise.reject(e));
  }, 200);
  try {
    const lastAt = await Promise.race([finished, limit.promise]);
    return { firstAt, lastAt, after, bytes, seen, firstRecordMs: firstAt - started, cpuUs: cpu.user + cpu.system };
  } finally {
    clearInterval(check);
    limit.cancel();
    await consumer.close();
  }
}

/**
 * Consume throughput: first the warm-up topic with its own consumer (JIT,
 * connections), then a fresh consumer on the measured topic, timed from its
 * first delivery to its last and counting the records after the first
 * delivery — so neither the group join nor records a client prefetched
 * before the clock started count.
 */
async function consume() {
  if (spec.warmRecords > 0) await readAll(spec.warmTopic, `${spec.groupId}-warm`, spec.warmRecords);
  const r = await readAll(spec.topic, spec.groupId, spec.records + 1);
  return {
    records: r.after,
    bytes: r.bytes,
    ms: r.lastAt - r.firstAt,
    cpuUs: r.cpuUs,
    firstRecordMs: r.firstRecordMs,
    duplicates: r.seen - (spec.records + 1),
  };
}

/**
 * End-to-end latency: records sent at a steady rate (bursts every 10 ms) with
 * the send time in a header; the consumer in the same process (same clock)
 * records arrival − send time. Records sent during the first warmMs are not counted.
 */
async function e2e() {
  const value = Buffer.alloc(spec.size, 0x61);
  const latencies = [];
  let received = 0;
  let measureFrom = Infinity;
  const consumer = await adapter.openConsumer({
    brokers: spec.brokers,
    clientId: `bench-${spec.client}-c`,
    topic: spec.topic,
    groupId: spec.groupId,
    timestamps: true,
    overrides: spec.overrides,
    onBatch(count, _bytes, ts) {
      const at = now();
      received += count;
      for (const t of ts) if (t >= measureFrom) latencies.push(at - t);
    },
  });
  const producer = await adapter.openProducer({ brokers: spec.brokers, clientId: `bench-${spec.client}-p`, overrides: spec.overrides });
  try {
    // Ready when a probe made the round trip (group joined, partitions assigned, fetch running).
    let probes = 0;
    const ready = deadline(spec.timeoutMs, 'e2e readiness');
    try {
      while (received === 0) {
        const e = consumer.error();
        if (e) throw e;
        probes++;
        await Promise.race([producer.send([producer.prepare(spec.topic, value, FIXED_TS)]), ready.promise]);
        await Promise.race([sleep(100), ready.promise]);
      }
    } finally {
      ready.cancel();
    }
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((spec.e2eRate * tickMs) / 1000));
    const ticks = Math.round((spec.e2eWarmMs + spec.e2eMs) / tickMs);
    const warmTicks = Math.round(spec.e2eWarmMs / tickMs);
    const inflight = new Set();
    let failures = 0;
    let sent = 0;
    const start = now();
    for (let i = 0; i < ticks; i++) {
      // Drift-free schedule: tick i fires at start + i * tickMs.
      const wait = start + i * tickMs - now();
      if (wait > 0) await sleep(wait);
      if (i === warmTicks) measureFrom = now();
      const chunk = [];
      for (let j = 0; j < perTick; j++) chunk.push(producer.prepare(spec.topic, value, stamp()));
      sent += chunk.length;
      const p = producer.send(chunk).then(
        () => inflight.delete(p),
        () => {
          failures++;
          inflight.delete(p);
        },
      );
      inflight.add(p);
    }
    await Promise.all(inflight);
    const expected = probes + sent;
    const waitUntil = now() + spec.timeoutMs;
    while (received < expected && now() < waitUntil) await sleep(20);
    const e = consumer.error();
    if (e) throw e;
    if (received < expected) throw new Error(`e2e: received ${received} of ${expected} records`);
    if (failures > 0) throw new Error(`e2e: ${failures} send() calls failed`);
    return { ...latencySummary(latencies), rate: spec.e2eRate };
  } finally {
    await producer.close();
    await consumer.close();
  }
}

/** Awaited single-record send: send one record, await its result, repeat. */
async function single() {
  const producer = await adapter.openProducer({ brokers: spec.brokers, clientId: `bench-${spec.client}`, overrides: spec.overrides });
  const value = Buffer.alloc(spec.size, 0x61);
  try {
    for (let i = 0; i < spec.singleWarm; i++) await producer.send([producer.prepare(spec.topic, value, stamp())]);
    const latencies = [];
    for (let i = 0; i < spec.singleSends; i++) {
      const t = now();
      await producer.send([producer.prepare(spec.topic, value, stamp())]);
      latencies.push(now() - t);
    }
    return latencySummary(latencies);
  } finally {
    await producer.close();
  }
}

const phases = { produce, consume, e2e, single };

/** Stack plus what clients tuck away: AggregateError.errors, cause chains, Kafka error codes. */
function describe(error, depth = 0) {
  if (depth > 4) return '…';
  let text = String(error?.stack ?? error);
  if (error?.code !== undefined || error?.apiCode !== undefined) text += `\n  code=${error.code ?? ''} apiCode=${error.apiCode ?? ''}`;
  for (const inner of error?.errors ?? []) text += `\n  [inner] ${describe(inner, depth + 1).replace(/\n/g, '\n  ')}`;
  if (error?.cause) text += `\n  [cause] ${describe(error.cause, depth + 1).replace(/\n/g, '\n  ')}`;
  return text;
}

try {
  const result = await phases[spec.phase]();
  process.send({ ok: true, result }, () => process.exit(0));
} catch (error) {
  process.send({ ok: false, error: describe(error) }, () => process.exit(1));
}
