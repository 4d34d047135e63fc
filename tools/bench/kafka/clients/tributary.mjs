// Tributary's Kafka transport, loaded from the BUILT package
// (node_modules/@tributary/kafka -> packages/kafka/dist), used only through
// the core Transport contract: producer().send(records) with per-record
// results, groupConsumer().run({ onBatch }).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CONSUMER, TIMESTAMP_HEADER } from '../settings.mjs';
import { REPO_ROOT } from '../paths.mjs';

const require = createRequire(`${REPO_ROOT}/package.json`);
const { kafka } = require('@tributary/kafka');

export const id = 'tributary';
export const label = 'Tributary (kafka transport)';
export const family = 'tributary';
export function version() {
  // The package is built from the working tree: name the exact build that was measured.
  const entry = require.resolve('@tributary/kafka');
  const hash = createHash('sha256').update(readFileSync(entry)).digest('hex').slice(0, 12);
  const built = statSync(entry).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
  return `@tributary/kafka ${require('@tributary/kafka/package.json').version} (dist/index.js sha256 ${hash}, built ${built})`;
}
export const notes =
  `kafka({ brokers }) with its defaults; producer().send(chunk) -> per-record results (all checked); ` +
  `groupConsumer({ fromBeginning: true, maxBatchRecords: ${CONSUMER.maxBatchRecords} }).run({ onBatch }), no commits`;

/**
 * kafka({ brokers }) with Tributary's defaults; run.mjs --tributary '{…}' merges extra config for
 * experiments, and --rdkafka-producer/--rdkafka-consumer go through its `rdkafka` passthrough.
 */
function transportFor(brokers, overrides = {}) {
  const extra = overrides.tributary ?? {};
  const rdkafka = { ...extra.rdkafka };
  if (overrides.rdkafkaProducer) rdkafka.producer = { ...rdkafka.producer, ...overrides.rdkafkaProducer };
  if (overrides.rdkafkaConsumer) rdkafka.consumer = { ...rdkafka.consumer, ...overrides.rdkafkaConsumer };
  return kafka({ ...extra, brokers: brokers.split(','), ...(Object.keys(rdkafka).length ? { rdkafka } : {}) });
}

export async function openProducer({ brokers, clientId, overrides }) {
  const transport = transportFor(brokers, overrides);
  const producer = transport.producer({ clientId });
  await producer.connect();
  return {
    prepare: (topic, value, ts) => ({ topic, value, headers: { [TIMESTAMP_HEADER]: ts } }),
    send: async (records) => {
      const results = await producer.send(records);
      for (const r of results) if (!r.ok) throw r.error;
    },
    close: async () => {
      await producer.close();
      await transport.close();
    },
  };
}

export async function openConsumer({ brokers, clientId, topic, groupId, timestamps, onBatch, overrides }) {
  const transport = transportFor(brokers, overrides);
  const consumer = transport.groupConsumer({
    groupId,
    topics: [topic],
    fromBeginning: true,
    maxBatchRecords: CONSUMER.maxBatchRecords,
    clientId,
  });
  let failure;
  await consumer.run({
    onBatch: async (batch) => {
      let bytes = 0;
      const ts = timestamps ? [] : null;
      for (const m of batch.messages) {
        bytes += m.value.length;
        if (ts) ts.push(Number(m.headers[TIMESTAMP_HEADER]));
      }
      onBatch(batch.messages.length, bytes, ts);
    },
    onError: (e) => {
      // Non-fatal by contract (a retried fetch); remembered so a stalled phase can say why.
      failure = e;
    },
  });
  return {
    error: () => undefined,
    lastWarning: () => failure,
    close: async () => {
      await consumer.close();
      await transport.close();
    },
  };
}
