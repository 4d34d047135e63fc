// Raw @confluentinc/kafka-javascript, callback (node-rdkafka) API: the floor
// every librdkafka-based client stands on. Producer: produce() per record,
// delivery reports polled on librdkafka's background thread, one opaque per
// send() chunk. Consumer: consume(500) in a loop, returning as soon as the
// first message is there (isTimeoutOnlyForFirstMessage).
import { createRequire } from 'node:module';
import { PRODUCER, CONSUMER, TIMESTAMP_HEADER } from '../settings.mjs';
import { REPO_ROOT } from '../paths.mjs';

const require = createRequire(`${REPO_ROOT}/package.json`);
const Kafka = require('@confluentinc/kafka-javascript');

export const id = 'ckjs-cb';
export const label = 'ckjs (callback API)';
export const family = 'node';
export function version() {
  return `@confluentinc/kafka-javascript ${require('@confluentinc/kafka-javascript/package.json').version} (librdkafka ${Kafka.librdkafkaVersion})`;
}
export const notes =
  `produce() per record, delivery reports via setPollInBackground(true); linger.ms=${PRODUCER.lingerMs}, batch.size=${PRODUCER.batchBytes}, ` +
  `enable.idempotence=true, acks=all; consumer: consume(${CONSUMER.maxBatchRecords}) loop, fetch.queue.backoff.ms=${CONSUMER.fetchQueueBackoffMs}, timeout only for the first message`;

const producerConfig = (brokers, clientId, extra) => ({
  'bootstrap.servers': brokers,
  'client.id': clientId,
  acks: 'all',
  'enable.idempotence': PRODUCER.idempotent,
  'linger.ms': PRODUCER.lingerMs,
  'batch.size': PRODUCER.batchBytes,
  'compression.codec': PRODUCER.compression,
  dr_cb: true,
  ...extra,
});

function connect(client) {
  return new Promise((resolve, reject) => client.connect({}, (err) => (err ? reject(err) : resolve())));
}

const QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL;

export async function openProducer({ brokers, clientId, overrides = {} }) {
  const producer = new Kafka.Producer(producerConfig(brokers, clientId, overrides.rdkafkaProducer));
  producer.on('delivery-report', (err, report) => {
    const pending = report.opaque;
    if (err) pending.fail(err);
    else if (--pending.remaining === 0) pending.done();
  });
  await connect(producer);
  producer.setPollInBackground(true);

  const produceOne = (r, pending) => {
    for (;;) {
      try {
        producer.produce(r.topic, null, r.value, null, null, pending, r.headers);
        return;
      } catch (e) {
        // Only a full local queue is worth waiting for; the bench keeps far fewer in flight, so this is a safety net.
        if (e?.code !== QUEUE_FULL) throw e;
        producer.poll();
      }
    }
  };

  return {
    prepare: (topic, value, ts) => ({ topic, value, headers: [{ [TIMESTAMP_HEADER]: ts }] }),
    send(records) {
      return new Promise((resolve, reject) => {
        const pending = { remaining: records.length, done: resolve, fail: reject };
        for (const r of records) produceOne(r, pending);
      });
    },
    close: () => new Promise((resolve) => producer.disconnect(10_000, () => resolve())),
  };
}

export async function openConsumer({ brokers, clientId, topic, groupId, timestamps, onBatch, overrides = {} }) {
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': brokers,
      'client.id': clientId,
      'group.id': groupId,
      'enable.auto.commit': CONSUMER.autoCommit,
      'fetch.queue.backoff.ms': CONSUMER.fetchQueueBackoffMs,
      ...overrides.rdkafkaConsumer,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await connect(consumer);
  consumer.setDefaultConsumeTimeout(500);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.subscribe([topic]);
  let closed = false;
  let failure;
  const loop = () => {
    if (closed) return;
    consumer.consume(CONSUMER.maxBatchRecords, (err, messages) => {
      if (closed) return;
      if (err) {
        failure = err;
        return;
      }
      if (messages.length > 0) {
        let bytes = 0;
        const ts = timestamps ? [] : null;
        for (const m of messages) {
          bytes += m.value.length;
          if (ts) ts.push(headerTs(m.headers));
        }
        onBatch(messages.length, bytes, ts);
      }
      setImmediate(loop);
    });
  };
  loop();
  return {
    error: () => failure,
    close: () =>
      new Promise((resolve) => {
        closed = true;
        consumer.disconnect(() => resolve());
      }),
  };
}

function headerTs(headers) {
  if (!headers) return NaN;
  for (const h of headers) {
    const v = h[TIMESTAMP_HEADER];
    if (v !== undefined) return Number(v.toString());
  }
  return NaN;
}
