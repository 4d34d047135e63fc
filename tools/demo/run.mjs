// Tributary demo (`npm start`): order events published through the Bus,
// routed by event type to handlers, one record failed on purpose and
// dead-lettered, and a summary that accounts for every record.
//
// Runs on the in-process memory transport; with KAFKA_BROKERS set
// (host:port[,host:port]) the same flow runs on Kafka through @tributary/kafka.
//
// Plain ESM on the built packages (`npm start` builds them first), so it needs
// no TypeScript runner: `node tools/demo/run.mjs` after `npm run build`.
import { randomBytes } from 'node:crypto';
import {
  createBus,
  createRouter,
  errorMessage,
  eventHandler,
  routeByEventType,
  DeadLetterHeaders,
} from '@tributary/core';

const ORDERS = Number(process.env.DEMO_ORDERS ?? 10_000);
const PARTITIONS = 3;
const TIMEOUT_MS = Number(process.env.DEMO_TIMEOUT_MS ?? 60_000);
/** The order whose payment fails on purpose: its `order.paid` event ends in the dead-letter topic. */
const DECLINED = `o-${String(Math.min(1337, ORDERS)).padStart(5, '0')}`;

async function openTransport() {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    const { memory } = await import('@tributary/memory');
    return { name: 'memory', transport: memory() };
  }
  let kafkaModule;
  try {
    kafkaModule = await import('@tributary/kafka');
  } catch (err) {
    process.stderr.write(
      `demo: KAFKA_BROKERS is set (${brokers}) but @tributary/kafka cannot be loaded (${errorMessage(err)}).\n` +
        'demo: build it first (npm run build), or unset KAFKA_BROKERS to run on the memory transport.\n',
    );
    process.exit(2);
  }
  if (typeof kafkaModule.kafka !== 'function') {
    process.stderr.write('demo: @tributary/kafka does not export a kafka() transport factory yet; unset KAFKA_BROKERS to run on memory.\n');
    process.exit(2);
  }
  const transport = kafkaModule.kafka({ brokers: brokers.split(',').map((b) => b.trim()).filter(Boolean) });
  return { name: `kafka (${brokers})`, transport };
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}

async function main() {
  const { name, transport } = await openTransport();
  // Fresh topic names per run, so a shared Kafka cluster gives a clean count.
  const run = randomBytes(3).toString('hex');
  const ordersTopic = `demo.orders.${run}`;
  const deadLetterTopic = `${ordersTopic}.dlq`;
  const admin = transport.admin();
  await admin.createTopics(
    [
      { topic: ordersTopic, partitions: PARTITIONS },
      { topic: deadLetterTopic, partitions: 1 },
    ],
    { ifNotExists: true },
  );

  const bus = createBus({
    transport,
    source: 'demo-shop',
    consumer: {
      // The runtime's dead-letter option: records that fail permanently or
      // run out of retries go to the dead-letter topic and are committed.
      deadLetter: { topic: deadLetterTopic },
      retry: { maxAttempts: 3, initialMs: 5, maxMs: 20 },
    },
  });
  bus.register('order.created', ordersTopic).register('order.paid', ordersTopic).register('order.shipped', ordersTopic);

  const handled = { 'order.created': 0, 'order.paid': 0, 'order.shipped': 0 };
  let revenueCents = 0;
  const deadLetters = [];

  const router = createRouter({ key: routeByEventType })
    .handle(
      'order.created',
      eventHandler(async (event) => {
        revenueCents += event.data.totalCents;
        handled['order.created']++;
      }),
    )
    .handle(
      'order.paid',
      eventHandler(async (event) => {
        if (event.subject === DECLINED) throw new Error(`card declined for ${event.subject}`);
        handled['order.paid']++;
      }),
    )
    // Every other order event (order.shipped here) takes the wildcard route.
    .handle(
      'order.*',
      eventHandler(async (event) => {
        handled[event.type] = (handled[event.type] ?? 0) + 1;
      }),
    );

  bus.subscribeTopic(ordersTopic, router.handler());
  bus.subscribeTopic(deadLetterTopic, (message) => {
    deadLetters.push({
      type: message.headers.ce_type,
      subject: message.headers.ce_subject,
      reason: `${message.headers[DeadLetterHeaders.errorCode]}: ${message.headers[DeadLetterHeaders.reason]}`,
    });
  });

  await bus.start();

  // Publish: three events per order, keyed by order id so each order's events
  // stay in order on one partition; sent in batches of 500.
  const started = performance.now();
  let published = 0;
  let refused = 0;
  const events = [];
  for (let i = 1; i <= ORDERS; i++) {
    const orderId = `o-${String(i).padStart(5, '0')}`;
    events.push(
      { type: 'order.created', key: orderId, data: { orderId, totalCents: 1000 + (i % 97) * 25 } },
      { type: 'order.paid', key: orderId, data: { orderId } },
      { type: 'order.shipped', key: orderId, data: { orderId, carrier: i % 2 ? 'dhl' : 'ups' } },
    );
  }
  for (let i = 0; i < events.length; i += 500) {
    const results = await bus.publishBatch(events.slice(i, i + 500));
    for (const r of results) (r.ok ? published++ : refused++);
  }
  const publishMs = performance.now() - started;

  // Wait until every published record is either processed or dead-lettered.
  const processedCount = () => Object.values(handled).reduce((a, b) => a + b, 0);
  const deadline = Date.now() + TIMEOUT_MS;
  while (processedCount() + deadLetters.length < published && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const totalMs = performance.now() - started;
  const metrics = bus.metrics();
  await bus.shutdown();
  await admin.close();
  await transport.close();

  const processed = processedCount();
  const dlq = deadLetters.length;
  const ok = processed + dlq === published && refused === 0;
  const runtime = metrics.find((m) => m.task.topic === ordersTopic)?.metrics;
  const lines = [
    '',
    `Tributary demo — transport: ${name}`,
    `  topic            ${ordersTopic} (${PARTITIONS} partitions), dead letters → ${deadLetterTopic}`,
    `  published        ${fmt(published)} events for ${fmt(ORDERS)} orders in ${(publishMs / 1000).toFixed(2)} s (${fmt(published / (publishMs / 1000))} events/s)${refused ? `, ${refused} refused` : ''}`,
    `  processed        ${fmt(processed)}  (${Object.entries(handled)
      .map(([t, n]) => `${t} ${fmt(n)}`)
      .join(', ')}); revenue ${(revenueCents / 100).toFixed(2)}`,
    `  dead-lettered    ${fmt(dlq)}${deadLetters.map((d) => `  (${d.type} ${d.subject}: ${d.reason})`).join('')}`,
    `  runtime metrics  processed ${fmt(runtime?.processed ?? 0)}, dead-lettered ${fmt(runtime?.deadLettered ?? 0)}, retries ${fmt(runtime?.retries ?? 0)}`,
    `  accounted        ${fmt(processed)} processed + ${fmt(dlq)} dead-lettered = ${fmt(processed + dlq)} of ${fmt(published)} published ${ok ? '✓' : '✗ MISMATCH'}`,
    `  throughput       ${fmt(published)} events end to end in ${(totalMs / 1000).toFixed(2)} s (${fmt(published / (totalMs / 1000))} events/s)`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
