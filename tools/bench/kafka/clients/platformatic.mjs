// @platformatic/kafka: pure JavaScript. No linger (one send() call = one
// Produce request per partition leader); its idempotent mode forces one
// request in flight per connection. The consumer is a Readable stream of
// single messages.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONSUMER, TIMESTAMP_HEADER } from '../settings.mjs';
import { REPO_ROOT } from '../paths.mjs';

const require = createRequire(`${REPO_ROOT}/package.json`);
// ESM-only, and its "exports" hides package.json: import the entry, read the version next to dist/.
const entry = require.resolve('@platformatic/kafka');
const lib = await import(pathToFileURL(entry).href);
const { Producer, Consumer, MessagesStreamModes, ProduceAcks, stringSerializer, stringDeserializer } = lib;

export const id = 'platformatic';
export const label = '@platformatic/kafka';
export const family = 'node';
export function version() {
  const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));
  return `@platformatic/kafka ${pkg.version}`;
}
export const notes =
  'send({ messages }) per chunk (no linger: one request per call), idempotent: true, acks ALL; send() calls chained one at a time ' +
  '(overlapping idempotent sends fail with OUT_OF_ORDER_SEQUENCE_NUMBER; its idempotent mode allows 1 request in flight anyway); ' +
  `consumer: consume() stream in 'data' mode, autocommit off`;

const identity = (b) => b;
// Values go through untouched (Buffers); header keys and values are strings, as for the other clients.
const serializers = { key: identity, value: identity, headerKey: stringSerializer, headerValue: stringSerializer };
const deserializers = { key: identity, value: identity, headerKey: stringDeserializer, headerValue: identity };

export async function openProducer({ brokers, clientId }) {
  const producer = new Producer({
    clientId,
    bootstrapBrokers: brokers.split(','),
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    serializers,
  });
  // Overlapping send() calls of one idempotent producer fail with OUT_OF_ORDER_SEQUENCE_NUMBER in 1.35
  // (and are reported to be dropped silently in 2.1: platformatic/kafka#326), so calls are chained:
  // one send() at a time, which is also all its idempotent mode puts on the wire (maxInflights = 1).
  let tail = Promise.resolve();
  return {
    prepare: (topic, value, ts) => ({ topic, value, headers: { [TIMESTAMP_HEADER]: ts } }),
    send: (records) => {
      const sent = tail.then(() => producer.send({ messages: records }));
      tail = sent.then(
        () => undefined,
        () => undefined,
      );
      return sent.then(() => undefined);
    },
    close: async () => {
      await tail;
      await producer.close();
    },
  };
}

export async function openConsumer({ brokers, clientId, topic, groupId, timestamps, onBatch }) {
  const consumer = new Consumer({
    clientId,
    groupId,
    bootstrapBrokers: brokers.split(','),
    autocommit: CONSUMER.autoCommit,
    deserializers,
  });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: CONSUMER.autoCommit });
  let failure;
  stream.on('error', (e) => (failure = e));
  stream.on('data', (m) => {
    const ts = timestamps ? [Number(m.headers.get(TIMESTAMP_HEADER)?.toString())] : null;
    onBatch(1, m.value.length, ts);
  });
  return { error: () => failure, close: () => consumer.close(true) };
}
