// KafkaJS: pure JavaScript. No linger: every send() call is one Produce
// request, so the chunk size is the batch size.
import { createRequire } from 'node:module';
import { PRODUCER, TIMESTAMP_HEADER } from '../settings.mjs';
import { REPO_ROOT } from '../paths.mjs';

const require = createRequire(`${REPO_ROOT}/package.json`);
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');

export const id = 'kafkajs';
export const label = 'KafkaJS';
export const family = 'node';
export function version() {
  return `kafkajs ${require('kafkajs/package.json').version}`;
}
export const notes =
  'send({ topic, messages, acks: -1 }) per chunk (no linger: one request per call), idempotent: true; ' +
  'consumer: eachBatch (batch = one fetch response per partition), autoCommit off';

function client(brokers, clientId) {
  return new Kafka({ brokers: brokers.split(','), clientId, logLevel: logLevel.ERROR });
}

export async function openProducer({ brokers, clientId }) {
  const producer = client(brokers, clientId).producer({ idempotent: PRODUCER.idempotent, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    prepare: (topic, value, ts) => ({ topic, value, headers: { [TIMESTAMP_HEADER]: ts } }),
    send: async (records) => {
      await producer.send({ topic: records[0].topic, messages: records, acks: PRODUCER.acks, compression: CompressionTypes.None });
    },
    close: () => producer.disconnect(),
  };
}

export async function openConsumer({ brokers, clientId, topic, groupId, timestamps, onBatch }) {
  const consumer = client(brokers, clientId).consumer({ groupId, allowAutoTopicCreation: false });
  let failure;
  consumer.on(consumer.events.CRASH, (e) => (failure = e.payload?.error ?? e));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
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
  return { error: () => failure, close: () => consumer.disconnect() };
}
