// Test support for the consumer runtime tests: the per-test memory transport,
// the consumers and gates a test makes (all released at teardown), a topic
// filled with records, a group's committed offsets, and a logger that keeps
// what it is given.
import { createConsumer, type Consumer, type ConsumerOptions, type Logger, type Message, type ProducerRecord, type Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import { deferred, uniqueGroup, uniqueTopic, waitFor, type Deferred } from '@tributary/testutil';

/** A level of core's Logger. */
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** One line a {@link RecordingLogger} kept: the fields object (empty when only a message was given) and the message. */
export interface LogLine {
  readonly level: Level;
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

/**
 * A Logger that keeps every line, to assert on what an operator would see. A
 * class: the consumer deep-freezes plain option objects, a logger included.
 */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  readonly trace = this.#log('trace');
  readonly debug = this.#log('debug');
  readonly info = this.#log('info');
  readonly warn = this.#log('warn');
  readonly error = this.#log('error');

  child(): Logger {
    return this;
  }

  /** Lines of `level` whose message contains `msgPart`. */
  at(level: Level, msgPart: string): LogLine[] {
    return this.lines.filter((l) => l.level === level && l.msg.includes(msgPart));
  }

  #log(level: Level): (a: object | string, msg?: string) => void {
    return (a, msg) => {
      this.lines.push(typeof a === 'string' ? { level, fields: {}, msg: a } : { level, fields: a as Record<string, unknown>, msg: msg ?? '' });
    };
  }
}

/** A record for {@link RuntimeFixture.topicWith}: the topic is filled in. */
export type TopicRecord = Omit<ProducerRecord, 'topic'>;

export interface RuntimeFixture {
  /** This test's memory transport: a fresh one per test, closed at teardown. */
  readonly transport: Transport;
  /** A consumer on `on` (default: this test's transport), stopped at teardown. */
  consumer(options: ConsumerOptions, on?: Transport): Consumer;
  /** A gate a handler can wait on; opened at teardown so no handler outlives its test. */
  gate(): Deferred<void>;
  /** Opens every gate made so far (those not open yet). */
  openGates(): void;
  /**
   * A new topic (`<prefix>-…`, `partitions` partitions, default 1) holding
   * `records`, sent in one call and each acknowledged (asserted); with `dlq`,
   * also its dead-letter topic `<topic>.dlq` (one partition).
   */
  topicWith(records: readonly TopicRecord[], options?: { readonly partitions?: number; readonly dlq?: boolean }): Promise<string>;
  /** The offsets `groupId` committed on `topic`, by partition; partitions without a commit are left out. */
  committed(groupId: string, topic: string): Promise<Record<number, number>>;
  /** Every record of `topic` up to its end now, read by a consumer of a new group (stopped before this resolves). */
  readAll(topic: string): Promise<Message[]>;
}

/**
 * Registers the hooks of the describe block it is called in: each test gets
 * a fresh memory transport; after it the gates are opened, then the
 * consumers stopped, then the transport closed — in that order, so a handler
 * held on a gate can end and its consumer's stop() return.
 */
export function runtimeFixture(topicPrefix: string): RuntimeFixture {
  let transport: Transport | undefined;
  const consumers: Consumer[] = [];
  const gates: Deferred<void>[] = [];
  const current = (): Transport => {
    if (transport === undefined) throw new Error('runtimeFixture: the transport exists only inside a test');
    return transport;
  };

  beforeEach(() => {
    transport = memory();
  });

  afterEach(async () => {
    fixture.openGates();
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await current().close();
  });

  const fixture: RuntimeFixture = {
    get transport() {
      return current();
    },
    consumer(options, on = current()) {
      const c = createConsumer(on, options);
      consumers.push(c);
      return c;
    },
    gate() {
      const d = deferred();
      gates.push(d);
      return d;
    },
    openGates() {
      for (const g of gates.splice(0)) g.resolve();
    },
    async topicWith(records, { partitions = 1, dlq = false } = {}) {
      const topic = uniqueTopic(topicPrefix);
      await current().admin().createTopics([{ topic, partitions }, ...(dlq ? [{ topic: `${topic}.dlq` }] : [])]);
      const producer = current().producer();
      const results = await producer.send(records.map((r) => ({ ...r, topic })));
      expect(results.every((r) => r.ok)).toBe(true);
      await producer.close();
      return topic;
    },
    async committed(groupId, topic) {
      const offsets = await current().admin().fetchCommittedOffsets(groupId, [topic]);
      return Object.fromEntries(offsets.map((o) => [o.partition, o.offset]));
    },
    async readAll(topic) {
      const seen: Message[] = [];
      const offsets = await current().admin().fetchTopicOffsets(topic);
      const total = offsets.reduce((n, p) => n + p.high - p.low, 0);
      const reader = fixture.consumer({ groupId: uniqueGroup('reader'), topics: [topic] });
      await reader.start((m) => {
        seen.push(m);
      });
      await waitFor(() => seen.length >= total, { message: `reading ${total} records of ${topic}` });
      await reader.stop();
      return seen;
    },
  };
  return fixture;
}
