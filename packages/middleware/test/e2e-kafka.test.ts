// End to end on a real Kafka broker (run with `npm run test:kafka`, which
// resolves a broker into KAFKA_BROKERS first): a traced producer, and a
// consumer chain tracing → logging → deadLetter → retry → handler (the
// recommended order: deadLetter outside retry, so it sees exhausted retries).
// Checked: spans and their parent links, log lines, the dead-letter topic's
// contents and the committed offsets.
import { SpanKind } from '@opentelemetry/api';
import {
  DeadLetterHeaders,
  TributaryError,
  chainHandlers,
  createConsumer,
  valueAsString,
  wrapProducer,
  type Consumer,
  type Logger,
  type Message,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { kafka } from '@tributary/kafka';
import { uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';
import pino from 'pino';
import { withDeadLetter, withLogging, withRetry, withSendTracing, withTracing } from '@tributary/middleware';
import { tracingHarness, type TracingHarness } from './support/otel';

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const brokers = process.env.KAFKA_BROKERS;
const deadline = { timeoutMs: 60_000, intervalMs: 100 };

describe('middleware on Kafka (end to end)', () => {
  let transport: Transport;
  let otel: TracingHarness;
  const consumers: Consumer[] = [];
  const producers: TransportProducer[] = [];

  beforeAll(() => {
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: run this file with `npm run test:kafka` (jest.kafka.config.cjs resolves a broker)');
  });

  beforeEach(() => {
    transport = kafka({ brokers: (brokers ?? '').split(','), clientId: 'middleware-e2e' });
    otel = tracingHarness();
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await Promise.all(producers.splice(0).map((p) => p.close()));
    await transport.close();
    await otel.close();
  });

  async function readAll(topic: string, count: number): Promise<Message[]> {
    const seen: Message[] = [];
    const reader = createConsumer(transport, { groupId: uniqueGroup('e2e-reader'), topics: [topic] });
    consumers.push(reader);
    await reader.start((m) => void seen.push(m));
    await waitFor(() => seen.length >= count, { ...deadline, message: `${count} records read from ${topic}` });
    return seen;
  }

  it('traces, logs, retries and dead-letters, and commits every offset', async () => {
    const topic = uniqueTopic('e2e-orders');
    const dlqTopic = `${topic}.dlq`;
    const admin = transport.admin();
    await admin.createTopics([{ topic, partitions: 2 }, { topic: dlqTopic }]);
    await admin.close();

    expect(transport.system).toBe('kafka');
    const traced = { tracerProvider: otel.provider, propagator: otel.propagator, system: transport.system };
    const producer = wrapProducer(transport.producer(), withSendTracing(traced));
    const dlqProducer = wrapProducer(transport.producer(), withSendTracing(traced));
    producers.push(producer, dlqProducer);
    const values = ['ok-1', 'flaky', 'ok-2', 'poison', 'invalid', 'ok-3'];
    for (const [i, value] of values.entries()) {
      const [result] = await producer.send([{ topic, key: `key-${i}`, value, headers: { 'x-test': value } }]);
      expect(result?.ok).toBe(true);
    }

    const lines: Line[] = [];
    const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) }) as Logger;
    const attempts = new Map<string, number>();
    const handler = (m: Message): void => {
      const value = valueAsString(m) ?? '';
      const n = (attempts.get(value) ?? 0) + 1;
      attempts.set(value, n);
      if (value === 'flaky' && n === 1) throw new Error('transient: flaky dependency');
      if (value === 'poison') throw new Error('transient: always down');
      if (value === 'invalid') throw new TributaryError('ERR_VALIDATION', 'order has no lines');
    };
    const groupId = uniqueGroup('e2e-billing');
    const consumer = createConsumer(transport, { groupId, topics: [topic], retry: false });
    consumers.push(consumer);
    await consumer.start(
      chainHandlers(
        handler,
        withTracing(traced),
        withLogging({ logger }),
        withRetry({ initialMs: 10, maxMs: 50, maxAttempts: 3 }),
        withDeadLetter({ producer: dlqProducer, handlerName: 'billing' }),
      ),
    );

    // Committed offsets: every record of both partitions, the dead-lettered ones included.
    await waitFor(
      async () => {
        const committed = await transport.admin().fetchCommittedOffsets(groupId, [topic]);
        return committed.reduce((sum, o) => sum + o.offset, 0) === values.length;
      },
      { ...deadline, message: 'all offsets committed' },
    );
    const ends = await transport.admin().fetchTopicOffsets(topic);
    const committed = await transport.admin().fetchCommittedOffsets(groupId, [topic]);
    for (const p of ends) expect(committed.find((c) => c.partition === p.partition)?.offset ?? 0).toBe(p.high);
    expect(attempts).toEqual(
      new Map([
        ['ok-1', 1],
        ['flaky', 2],
        ['ok-2', 1],
        ['poison', 3],
        ['invalid', 1],
        ['ok-3', 1],
      ]),
    );

    // Dead-letter topic: the two records, untouched, with the dead-letter headers.
    const dlq = await readAll(dlqTopic, 2);
    const byValue = new Map(dlq.map((m) => [valueAsString(m), m]));
    const poison = byValue.get('poison');
    const invalid = byValue.get('invalid');
    expect(poison?.key).toBe(`key-${values.indexOf('poison')}`);
    expect(poison?.headers).toMatchObject({
      'x-test': 'poison',
      [DeadLetterHeaders.errorCode]: 'ERR_RETRIES_EXHAUSTED',
      [DeadLetterHeaders.attempts]: '3',
      [DeadLetterHeaders.topic]: topic,
      [DeadLetterHeaders.handler]: 'billing',
      [DeadLetterHeaders.groupId]: groupId,
    });
    expect(invalid?.headers).toMatchObject({ [DeadLetterHeaders.errorCode]: 'ERR_VALIDATION', [DeadLetterHeaders.attempts]: '1', [DeadLetterHeaders.reason]: 'order has no lines' });
    expect(Number(poison?.headers[DeadLetterHeaders.offset])).toBeGreaterThanOrEqual(0);

    // Spans: one send and one process per record, the process a child of its send (and linked to it), in one trace.
    await waitFor(() => otel.spans().filter((s) => s.name === `send ${dlqTopic}`).length === 2, { ...deadline, message: 'dead-letter send spans' });
    const sends = otel.spans().filter((s) => s.name === `send ${topic}`);
    const processes = otel.spans().filter((s) => s.name === `process ${topic}`);
    expect(sends).toHaveLength(values.length);
    expect(processes).toHaveLength(values.length);
    for (const send of sends) {
      expect(send.kind).toBe(SpanKind.PRODUCER);
      const process = processes.find((p) => p.parentSpanContext?.spanId === send.spanContext().spanId);
      expect(process?.kind).toBe(SpanKind.CONSUMER);
      expect(process?.spanContext().traceId).toBe(send.spanContext().traceId);
      expect(process?.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
      expect(process?.attributes['messaging.kafka.offset']).toBe(send.attributes['messaging.kafka.offset']);
      expect(process?.attributes['messaging.system']).toBe(transport.system);
    }
    const poisonProcess = processes.find((p) => p.attributes['messaging.kafka.message.key'] === poison?.key);
    expect(poisonProcess?.events.map((e) => e.name)).toEqual(['retry', 'retry', 'dead-letter', 'exception']);
    expect(poisonProcess?.attributes['tributary.outcome']).toBe('dead-lettered');
    const poisonDlqSend = otel.spans().find((s) => s.name === `send ${dlqTopic}` && s.parentSpanContext?.spanId === poisonProcess?.spanContext().spanId);
    expect(poisonDlqSend).toBeDefined();

    // Logs: one outcome line per record, retries at warn, dead-letters at error, bound to the record and the trace.
    const processed = lines.filter((l) => l.msg === 'record processed');
    expect(processed).toHaveLength(values.length);
    expect(lines.filter((l) => l.level === 40 && l.msg.startsWith('record retry'))).toHaveLength(3);
    const deadLettered = lines.filter((l) => l.level === 50 && l.msg.startsWith('record dead-lettered'));
    expect(deadLettered.map((l) => l.key).sort()).toEqual([poison?.key, invalid?.key].sort());
    for (const line of deadLettered) {
      expect(line).toMatchObject({ topic, groupId, deadLetterTopic: dlqTopic, trace_id: expect.any(String) as string });
    }
  });
});
