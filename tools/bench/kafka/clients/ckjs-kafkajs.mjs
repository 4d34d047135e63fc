// @confluentinc/kafka-javascript, KafkaJS-style promise API (the same
// librdkafka underneath, plus a promise per record in send() and a message
// cache in front of eachBatch).
import { createRequire } from 'node:module';
import { PRODUCER, CONSUMER, TIMESTAMP_HEADER } from '../settings.mjs';
import { REPO_ROOT } from '../paths.mjs';

const require = createRequire(`${REPO_ROOT}/package.json`);
const { KafkaJS } = require('@confluentinc/kafka-javascript');

export const id = 'ckjs-kjs';
export const label = 'ckjs (KafkaJS API)';
export const family = 'node';
export function version() {
  return `@confluentinc/kafka-javascript ${require('@confluentinc/kafka-javascript/package.json').version} (KafkaJS-style API)`;
}
export const notes =
  `send({ topic, messages }) per chunk; linger.ms=${PRODUCER.lingerMs}, batch.size=${PRODUCER.batchBytes}, idempotent, acks=-1; ` +
  `consumer: eachBatch, js.consumer.max.batch.size=${CONSUMER.maxBatchRecords}, fetch.queue.backoff.ms=${CONSUMER.fetchQueueBackoffMs}, autoCommit off`;

function client(brokers, clientId) {
  return new KafkaJS.Kafka({ kafkaJS: { brokers: brokers.split(','), clientId, logLevel: KafkaJS.logLevel.ERROR } });
}

export async function openProducer({ brokers, clientId, overrides = {} }) {
  const producer = client(brokers, clientId).producer({
    kafkaJS: { acks: PRODUCER.acks, idempotent: PRODUCER.idempotent, compression: KafkaJS.CompressionTypes.None },
    'linger.ms': PRODUCER.lingerMs,
    'batch.size': PRODUCER.batchBytes,
    ...overrides.rdkafkaProducer,
  });
  await producer.connect();
  return {
    prepare: (topic, value, ts) => ({ topic, value, headers: { [TIMESTAMP_HEADER]: ts } }),
    // Records of one chunk share a topic (the bench writes one topic per phase).
    send: async (records) => {
      await producer.send({ topic: records[0].topic, messages: records });
    },
    close: () => producer.disconnect(),
  };
}

export async function openConsumer({ brokers, clientId, topic, groupId, timestamps, onBatch, overrides = {} }) {
  const consumer = client(brokers, clientId).consumer({
    kafkaJS: { groupId, fromBeginning: true, autoCommit: CONSUMER.autoCommit },
    'js.consumer.max.batch.size': CONSUMER.maxBatchRecords,
    'fetch.queue.backoff.ms': CONSUMER.fetchQueueBackoffMs,
    ...overrides.rdkafkaConsumer,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  // The KafkaJS-compat consumer has no instrumentation events (on() throws "Not implemented"); errors surface as rejections.
  await consumer.run({
    eachBatch: async ({ batch }) => {
      let bytes = 0;
      const ts = timestamps ? [] : null;
      for (const m of batch.messages) {
        bytes += m.value.length;
        if (ts) ts.push(Number(m.headers?.[TIMESTAMP_HEADER]?.toString()));
      }
      onBatch(batch.messages.length, bytes, ts);
    },
  });
  return { error: () => undefined, close: () => consumer.disconnect() };
}
