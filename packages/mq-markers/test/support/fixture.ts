// Test support: a clock the test moves, queue topics per test, reading a
// topic back, and a transport wrapper that injects failures.
import {
  TributaryError,
  type ConsumerHandlers,
  type GroupConsumer,
  type Message,
  type ProducerRecord,
  type SendResult,
  type TopicPartitionOffset,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { uniqueTopic, withTimeout, wrapGroupConsumer, wrapTransport } from '@tributary/testutil';
import { createQueueTopics, defaultMarkersTopic, type Clock } from '@tributary/mq-markers';

/** A clock that only moves when told to; starts at the real time (Kafka accepts the timestamps). */
export class ManualClock {
  #now: number;

  constructor(start = Date.now()) {
    this.#now = start;
  }

  readonly now: Clock = () => this.#now;

  advance(ms: number): void {
    this.#now += ms;
  }
}

interface Closable {
  close(): Promise<unknown>;
}

/** A fresh queue (queue, markers and DLQ topics) and a list of things to close at the end. */
export interface QueueFixture {
  readonly transport: Transport;
  readonly queue: string;
  readonly markersTopic: string;
  readonly dlq: string;
  readonly partitions: number;
  /** Remembers `c` to be closed by `close()` (last in, first out). */
  track<C extends Closable>(c: C): C;
  close(): Promise<void>;
}

export async function queueFixture(transport: Transport, partitions = 1, prefix = 'mq'): Promise<QueueFixture> {
  const queue = uniqueTopic(prefix);
  await createQueueTopics(transport, { queue, partitions });
  const tracked: Closable[] = [];
  return {
    transport,
    queue,
    markersTopic: defaultMarkersTopic(queue),
    dlq: `${queue}.dlq`,
    partitions,
    track(c) {
      tracked.push(c);
      return c;
    },
    async close() {
      for (const c of tracked.reverse()) await withTimeout(c.close(), 20_000, 'closing a test component');
    },
  };
}

/**
 * Every record of `topic` up to its high watermark now, by partition then
 * offset, read with partition consumers (no group).
 */
export async function readTopic(transport: Transport, topic: string): Promise<Message[]> {
  const admin = transport.admin();
  let ends;
  try {
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.close();
  }
  const out: Message[] = [];
  for (const { partition, low, high } of ends) {
    if (high <= low) continue;
    const messages: Message[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const consumer = transport.partitionConsumer({ topic, partition, from: low });
    await consumer.run({
      onBatch: async (batch) => {
        for (const m of batch.messages) if (m.offset < high) messages.push(m);
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined && last.offset + 1 >= high) done();
      },
    });
    try {
      await withTimeout(finished, 15_000, `reading ${topic}/${partition} up to ${high}`);
    } finally {
      await consumer.close();
    }
    out.push(...messages);
  }
  return out;
}

/** The high watermarks of a topic, by partition. */
export async function highWatermarks(transport: Transport, topic: string): Promise<number[]> {
  const admin = transport.admin();
  try {
    return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => p.high);
  } finally {
    await admin.close();
  }
}

/** Committed offsets of a group on a topic, by partition (missing partitions left out). */
export async function committedOffsets(transport: Transport, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = transport.admin();
  try {
    return new Map((await admin.fetchCommittedOffsets(groupId, [topic])).map((o) => [o.partition, o.offset]));
  } finally {
    await admin.close();
  }
}

export function text(message: Pick<Message, 'value'>): string {
  return message.value === null ? '' : Buffer.from(message.value).toString('utf8');
}

/** Failures a {@link faultyTransport} injects; each hook is consulted on every call while set. */
export interface Faults {
  /** Fail this record (it is not sent) with the returned error. */
  failRecord?: (record: ProducerRecord) => TributaryError | undefined;
  /** Reject the whole send call with the returned error. */
  rejectSend?: (records: readonly ProducerRecord[]) => TributaryError | undefined;
  /** Hold the send call until the returned promise settles (undefined: no hold). */
  holdSend?: (records: readonly ProducerRecord[]) => Promise<void> | undefined;
  /** Reject a commit with the returned error. */
  rejectCommit?: (offsets: readonly TopicPartitionOffset[]) => TributaryError | undefined;
  /** Awaited before a commit goes on (hold commits in flight). */
  holdCommit?: () => Promise<void>;
}

/** A transport that injects `faults` into its producers and group consumers; exposes the handlers consumers run. */
export interface FaultyTransport extends Transport {
  readonly faults: Faults;
  /** Handlers passed to `run()` of each group consumer, in creation order. */
  readonly handlers: ConsumerHandlers[];
  /** Commits that reached the real consumer. */
  readonly commits: TopicPartitionOffset[][];
  /** onBatch calls started and settled, over all group consumers. */
  readonly batches: { started: number; settled: number };
}

export function faultyTransport(inner: Transport): FaultyTransport {
  const faults: Faults = {};
  const handlers: ConsumerHandlers[] = [];
  const commits: TopicPartitionOffset[][] = [];
  const batches = { started: 0, settled: 0 };
  const wrapProducer = (p: TransportProducer): TransportProducer => ({
    connect: () => p.connect(),
    flush: () => p.flush(),
    close: () => p.close(),
    async send(records) {
      const rejected = faults.rejectSend?.(records);
      if (rejected !== undefined) throw rejected;
      await faults.holdSend?.(records);
      const failures = records.map((r) => faults.failRecord?.(r));
      const passing = records.filter((_, i) => failures[i] === undefined);
      const sent = passing.length > 0 ? await p.send(passing) : [];
      let next = 0;
      return records.map((r, i): SendResult => {
        const error = failures[i];
        return error === undefined ? (sent[next++] as SendResult) : { ok: false, topic: r.topic, error };
      });
    },
  });
  const wrapConsumer = (c: GroupConsumer): GroupConsumer => wrapGroupConsumer(c, {
    run: (h) => {
      handlers.push(h);
      return c.run({
        ...h,
        onBatch: async (batch) => {
          batches.started++;
          try {
            await h.onBatch(batch);
          } finally {
            batches.settled++;
          }
        },
      });
    },
    async commit(offsets) {
      const rejected = faults.rejectCommit?.(offsets);
      if (rejected !== undefined) throw rejected;
      await faults.holdCommit?.();
      commits.push([...offsets]);
      return c.commit(offsets);
    },
  });
  return {
    ...wrapTransport(inner, {
      producer: (options) => wrapProducer(inner.producer(options)),
      groupConsumer: (options) => wrapConsumer(inner.groupConsumer(options)),
    }),
    faults,
    handlers,
    commits,
    batches,
  };
}

/** An error of `code` for fault injection. */
export function injected(code: 'ERR_PRODUCE' | 'ERR_COMMIT' | 'ERR_CONNECTION' | 'ERR_TIMEOUT', message = 'injected failure'): TributaryError {
  return new TributaryError(code, message);
}
