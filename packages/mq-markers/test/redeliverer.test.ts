import { ConfigError, DeadLetterHeaders, type Message, type Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import {
  MqHeaders,
  createMarkerProducer,
  createMqClient,
  createRedeliverer,
  decodeMarkerKey,
  decodeMarkerValue,
  defaultRedelivererGroup,
  type MqClient,
  type Redeliverer,
  type RedelivererOptions,
} from '@tributary/mq-markers';
import { deferred, waitFor } from '@tributary/testutil';
import {
  ManualClock,
  committedOffsets,
  faultyTransport,
  highWatermarks,
  injected,
  queueFixture,
  readTopic,
  text,
  type FaultyTransport,
  type QueueFixture,
} from './support/fixture';

const T = 10_000;
let fx: QueueFixture;
let transport: FaultyTransport;
let clock: ManualClock;

async function setup(partitions = 1): Promise<void> {
  transport = faultyTransport(memory());
  fx = await queueFixture(transport, partitions, 'redeliverer');
  clock = new ManualClock();
}

afterEach(async () => {
  await fx.close();
  await transport.close();
});

function redeliverer(options: Partial<RedelivererOptions> = {}): Redeliverer {
  return fx.track(createRedeliverer(transport, { queue: fx.queue, clock: clock.now, checkIntervalMs: 5, commitIntervalMs: 5, ...options }));
}

function client(): MqClient {
  return fx.track(createMqClient(transport, { queue: fx.queue, clock: clock.now, redeliveryTimeoutMs: T }));
}

async function send(values: readonly string[], partitions = 1): Promise<void> {
  const producer = transport.producer();
  await producer.send(values.map((value, i) => ({ topic: fx.queue, value, key: value, partition: i % partitions })));
  await producer.close();
}

async function take(c: MqClient, n: number): Promise<Message[]> {
  const out: Message[] = [];
  while (out.length < n) out.push((await c.nextMessage(5000))!);
  return out;
}

async function caughtUp(r: Redeliverer): Promise<void> {
  await waitFor(async () => r.metrics().markers >= (await highWatermarks(transport, fx.markersTopic)).reduce((a, b) => a + b, 0), {
    message: 'every marker read',
  });
}

async function checks(r: Redeliverer, n = 2): Promise<void> {
  const target = r.metrics().checks + n;
  await waitFor(() => r.metrics().checks >= target, { message: 'checks' });
}

const markersCommitted = async (): Promise<number | undefined> =>
  (await committedOffsets(transport, defaultRedelivererGroup(fx.markersTopic), fx.markersTopic)).get(0);

describe('Redeliverer', () => {
  it('commits the markers partition at the start marker of the oldest open message', async () => {
    await setup();
    await send(['a', 'b', 'c']);
    const r = redeliverer();
    await r.start();
    const c = client();
    const [a, b, d] = await take(c, 3); // start markers at markers offsets 0, 1, 2
    await c.processed(a!); // 3
    await c.processed(d!); // 4
    await caughtUp(r);
    await waitFor(async () => (await markersCommitted()) === 1, { message: 'committed at b’s start marker' });
    await c.processed(b!); // 5
    await caughtUp(r);
    await waitFor(async () => (await markersCommitted()) === 6, { message: 'committed past every marker' });
  });

  it('re-sends the original record to its partition with a redelivery count, and ends the original', async () => {
    await setup(2);
    await send(['x', 'y'], 2);
    const r = redeliverer();
    await r.start();
    const c = client();
    const taken = await take(c, 2);
    const y = taken.find((m) => text(m) === 'y')!;
    await c.processed(taken.find((m) => text(m) === 'x')!);
    await caughtUp(r);
    clock.advance(T + 1);
    await waitFor(() => r.metrics().redelivered === 1);
    const [copy] = await take(c, 1);
    expect({ value: text(copy!), key: copy!.key, partition: copy!.partition, count: copy!.headers[MqHeaders.redeliveryCount] }).toEqual({
      value: 'y',
      key: 'y',
      partition: y.partition,
      count: '1',
    });
    await waitFor(async () =>
      (await readTopic(transport, fx.markersTopic)).some((m) => {
        const target = decodeMarkerKey(m.key)!;
        return target.partition === y.partition && target.offset === y.offset && decodeMarkerValue(m.value)!.kind === 'end';
      }),
    );
  });

  it('retries a failed redelivery with backoff', async () => {
    await setup();
    await send(['job']);
    const r = redeliverer({ retry: { initialMs: 5000, maxMs: 5000, jitter: 'none', maxAttempts: Infinity } });
    await r.start();
    await take(client(), 1);
    await caughtUp(r);
    transport.faults.failRecord = (rec) => (rec.topic === fx.queue ? injected('ERR_PRODUCE', 'queue unavailable') : undefined);
    clock.advance(T + 1);
    await waitFor(() => r.metrics().failures === 1);
    transport.faults.failRecord = undefined;
    clock.advance(4999);
    await checks(r);
    expect(r.metrics()).toMatchObject({ failures: 1, redelivered: 0, open: 1 }); // waiting out the backoff
    clock.advance(1);
    await waitFor(() => r.metrics().redelivered === 1);
  });

  it('gives a message up after retry.maxAttempts failures, ending it', async () => {
    await setup();
    await send(['doomed']);
    const r = redeliverer({ retry: { initialMs: 1, maxMs: 1, maxAttempts: 2 } });
    await r.start();
    await take(client(), 1);
    await caughtUp(r);
    transport.faults.failRecord = (rec) => (rec.topic === fx.queue ? injected('ERR_PRODUCE', 'refused') : undefined);
    clock.advance(T + 1);
    await waitFor(() => r.metrics().failures >= 1);
    clock.advance(10); // past the (jittered, at most 1 ms) backoff
    await waitFor(() => r.metrics().givenUp === 1);
    expect(r.metrics()).toMatchObject({ failures: 2, redelivered: 0, open: 0 });
  });

  it('hands a closed redeliverer’s partitions to another of its group, which redelivers their open messages', async () => {
    await setup(2);
    await send(['p0', 'p1'], 2);
    const first = fx.track(createRedeliverer(transport, { queue: fx.queue, clock: clock.now, checkIntervalMs: 5 }));
    await first.start();
    const second = redeliverer();
    await second.start();
    await waitFor(() => first.assignment().length === 1 && second.assignment().length === 1, { message: 'partitions shared' });
    await take(client(), 2);
    await waitFor(() => first.metrics().open + second.metrics().open === 2, { message: 'both open' });
    await first.close();
    await waitFor(() => second.assignment().length === 2, { message: 'second owns both' });
    await waitFor(() => second.metrics().open === 2, { message: 'second sees both open' });
    clock.advance(T + 1);
    await waitFor(() => second.metrics().redelivered === 2);
  });

  it('ends the read-back of a markers partition when its revocation begins: the next owner gets it at once', async () => {
    await setup(2);
    const reads: number[] = [];
    const watched: Transport = {
      ...transport,
      partitionConsumer: (options) => {
        reads.push(options.partition);
        return transport.partitionConsumer(options);
      },
    };
    // Read-backs wait up to readTimeoutMs, and the revocation up to rebalanceTimeoutMs: both far beyond this test.
    const first = fx.track(
      createRedeliverer(watched, { queue: fx.queue, clock: clock.now, checkIntervalMs: 5, readTimeoutMs: 20_000, rebalanceTimeoutMs: 25_000 }),
    );
    await first.start();
    await waitFor(() => first.assignment().length === 2, { message: 'first owns both markers partitions' });
    // Start markers of offsets the (empty) queue does not hold: reading them back waits.
    const markers = createMarkerProducer(transport, { markersTopic: fx.markersTopic, clock: clock.now });
    await markers.sendStart({ partition: 0, offset: 5 }, 1);
    await markers.sendStart({ partition: 1, offset: 5 }, 1);
    await markers.close();
    await caughtUp(first);
    clock.advance(2);
    await waitFor(() => reads.length === 2, { message: 'both read-backs started' });

    const second = redeliverer();
    await second.start();
    await waitFor(() => second.assignment().length === 1, { timeoutMs: 5_000, message: 'a markers partition moved to second' });
    // The ended read-back is no failure; its message stayed open, so the commit stayed below it for second.
    await waitFor(() => second.metrics().open === 1, { message: 'second tracks the open message it took over' });
    expect(first.metrics()).toMatchObject({ open: 1, failures: 0, redelivered: 0, missing: 0 });

    // Closing ends first's other read-back the same way, instead of waiting for it.
    const closing = performance.now();
    await first.close();
    expect(performance.now() - closing).toBeLessThan(5_000);
    await waitFor(() => second.assignment().length === 2 && second.metrics().open === 2, { message: 'second owns both, with both messages open' });
  });

  it('close waits for the read-back consumers it ended to finish closing', async () => {
    await setup();
    const release = deferred();
    let created = 0;
    let closesBegun = 0;
    const held: Transport = {
      ...transport,
      partitionConsumer: (options) => {
        const pc = transport.partitionConsumer(options);
        created++;
        return {
          topic: pc.topic,
          partition: pc.partition,
          run: (h) => pc.run(h),
          seek: (offset) => pc.seek(offset),
          pause: () => pc.pause(),
          resume: () => pc.resume(),
          position: () => pc.position(),
          close: async () => {
            closesBegun++;
            await release.promise;
            await pc.close();
          },
        };
      },
    };
    const r = fx.track(createRedeliverer(held, { queue: fx.queue, clock: clock.now, checkIntervalMs: 5, readTimeoutMs: 20_000 }));
    await r.start();
    await waitFor(() => r.assignment().length === 1, { message: 'markers partition owned' });
    // A start marker of an offset the (empty) queue does not hold: its read-back waits, so its consumer is open at close.
    const markers = createMarkerProducer(transport, { markersTopic: fx.markersTopic, clock: clock.now });
    await markers.sendStart({ partition: 0, offset: 5 }, 1);
    await markers.close();
    await caughtUp(r);
    clock.advance(2);
    await waitFor(() => created === 1, { message: 'the read-back started' });
    let closed = false;
    const closing = r.close().then(() => {
      closed = true;
    });
    await waitFor(() => closesBegun === 1, { message: 'the read-back consumer is closing' });
    // A negative: no event to wait for, so give close ample time (every other step is instant on memory).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed).toBe(false);
    release.resolve();
    await closing;
    expect(closed).toBe(true);
  });

  it('lets a redelivery being sent when the revocation begins finish, so the next owner does not redeliver it again', async () => {
    await setup(2);
    await send(['p0', 'p1'], 2);
    const first = redeliverer();
    await first.start();
    await waitFor(() => first.assignment().length === 2, { message: 'first owns both markers partitions' });
    await take(client(), 2);
    await caughtUp(first);
    const gate = deferred();
    let held = 0;
    transport.faults.holdSend = (records) => {
      if (!records.some((r) => r.topic === fx.queue)) return undefined;
      held++;
      return gate.promise;
    };
    clock.advance(T + 1);
    await waitFor(() => held === 2, { message: 'both redeliveries being sent' });
    const second = redeliverer();
    await second.start();
    gate.resolve();
    await waitFor(() => second.assignment().length === 1, { message: 'a markers partition moved to second' });
    await checks(second, 3);
    expect(first.metrics().redelivered).toBe(2);
    expect(second.metrics()).toMatchObject({ open: 0, redelivered: 0 });
  });

  it('skips markers it cannot decode', async () => {
    await setup();
    const r = redeliverer();
    await r.start();
    const producer = transport.producer();
    await producer.send([
      { topic: fx.markersTopic, partition: 0, key: 'not-a-marker', value: 'x' },
      { topic: fx.markersTopic, partition: 0, key: '0:1', value: new Uint8Array([9, 1, 0, 0, 0, 0, 0, 0, 0, 1]) },
    ]);
    await producer.close();
    await caughtUp(r);
    clock.advance(T);
    await checks(r);
    expect(r.metrics()).toMatchObject({ markers: 2, open: 0, redelivered: 0 });
  });

  it('ends a due message that is no longer in the queue log', async () => {
    await setup();
    await send(['only']);
    const r = redeliverer();
    await r.start();
    const markers = createMarkerProducer(transport, { markersTopic: fx.markersTopic, clock: clock.now });
    await markers.sendStart({ partition: 0, offset: 999 }, 1);
    await markers.close();
    await caughtUp(r);
    clock.advance(2);
    await waitFor(() => r.metrics().missing === 1);
    expect(r.metrics()).toMatchObject({ open: 0, redelivered: 0 });
  });

  it('with maxRedeliveries 0, dead-letters at the first expiry, to a chosen topic', async () => {
    await setup();
    await send(['poison']);
    const dlq = `${fx.queue}.custom-dlq`;
    await transport.admin().createTopics([{ topic: dlq }]);
    const r = redeliverer({ maxRedeliveries: 0, deadLetterTopic: (m) => `${m.topic}.custom-dlq` });
    await r.start();
    const [m] = await take(client(), 1);
    await caughtUp(r);
    clock.advance(T + 1);
    await waitFor(() => r.metrics().deadLettered === 1);
    const [dead] = await readTopic(transport, dlq);
    expect(text(dead!)).toBe('poison');
    expect(dead!.headers).toMatchObject({ [DeadLetterHeaders.attempts]: '1', [DeadLetterHeaders.offset]: String(m!.offset) });
  });

  it('start refuses a markers topic narrower than the queue; close is idempotent; start after close is refused', async () => {
    await setup(2);
    const queue = `${fx.queue}-narrow`;
    await transport.admin().createTopics([{ topic: queue, partitions: 2 }, { topic: `${queue}.markers`, partitions: 1 }]);
    const narrow = createRedeliverer(transport, { queue });
    await expect(narrow.start()).rejects.toBeInstanceOf(ConfigError);
    const closing = narrow.close();
    expect(narrow.close()).toBe(closing);
    await closing;
    await expect(narrow.start()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('reports every invalid option at once', async () => {
    await setup();
    let error: unknown;
    try {
      createRedeliverer(transport, {
        queue: fx.queue,
        markersTopic: fx.queue,
        maxRedeliveries: -1,
        deadLetterTopic: '',
        checkIntervalMs: 0,
        retry: { multiplier: 0 },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['markersTopic', 'maxRedeliveries', 'deadLetterTopic', 'checkIntervalMs', 'retry.multiplier']);
  });
});
