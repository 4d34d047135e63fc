import { ConfigError, RetriesExhaustedError, type Message } from '@tributary/core';
import { memory } from '@tributary/memory';
import {
  createMqClient,
  decodeMarkerKey,
  decodeMarkerValue,
  defaultClientGroup,
  type MqClient,
  type MqClientOptions,
} from '@tributary/mq-markers';
import { deferred, waitFor } from '@tributary/testutil';
import {
  ManualClock,
  committedOffsets,
  faultyTransport,
  injected,
  queueFixture,
  readTopic,
  text,
  type FaultyTransport,
  type QueueFixture,
} from './support/fixture';

let fx: QueueFixture;
let transport: FaultyTransport;

async function setup(partitions = 1): Promise<void> {
  transport = faultyTransport(memory());
  fx = await queueFixture(transport, partitions, 'client');
}

afterEach(async () => {
  await fx.close();
  await transport.close();
});

function client(options: Partial<MqClientOptions> = {}): MqClient {
  return fx.track(createMqClient(transport, { queue: fx.queue, ...options }));
}

async function send(count: number, options: { partitions?: number; prefix?: string } = {}): Promise<void> {
  const producer = transport.producer();
  const results = await producer.send(
    Array.from({ length: count }, (_, i) => ({ topic: fx.queue, value: `${options.prefix ?? 'm'}-${i}`, partition: i % (options.partitions ?? 1) })),
  );
  if (results.some((r) => !r.ok)) throw new Error('send failed');
  await producer.close();
}

async function take(c: MqClient, n: number): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    const m = await c.nextMessage(5000);
    if (m === null) throw new Error(`message ${i + 1} of ${n} did not come`);
    out.push(m);
  }
  return out;
}

const markersOf = async (): Promise<string[]> =>
  (await readTopic(transport, fx.markersTopic)).map((r) => `${r.partition}:${decodeMarkerKey(r.key)!.offset}:${decodeMarkerValue(r.value)!.kind}`);

const committed = async (): Promise<number | undefined> => (await committedOffsets(transport, defaultClientGroup(fx.queue), fx.queue)).get(0);

describe('MqClient', () => {
  it('resolves null when no message arrives in time', async () => {
    await setup();
    const c = client();
    await expect(c.nextMessage(20)).resolves.toBeNull();
    await expect(c.nextMessage(-1)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('writes the start markers of up to maxMessagesPerCommit messages, then commits past them, chunk after chunk', async () => {
    await setup();
    await send(10);
    const events: string[] = [];
    transport.faults.rejectSend = (records) => {
      const starts = records.filter((r) => r.topic === fx.markersTopic && decodeMarkerValue(r.value as Uint8Array)?.kind === 'start');
      if (starts.length > 0) events.push(`start ${starts.map((r) => decodeMarkerKey(r.key ?? null)!.offset).join(',')}`);
      return undefined;
    };
    transport.faults.rejectCommit = (offsets) => {
      events.push(`commit ${offsets.map((o) => o.offset).join(',')}`);
      return undefined;
    };
    const c = client({ maxMessagesPerCommit: 3 });
    expect((await take(c, 10)).map(text)).toEqual(Array.from({ length: 10 }, (_, i) => `m-${i}`));
    // Chunks of at most 3 start markers; commits in increasing order, each after the start markers of everything below it.
    expect(events.filter((e) => e.startsWith('start'))).toEqual(['start 0,1,2', 'start 3,4,5', 'start 6,7,8', 'start 9']);
    const commits = events.filter((e) => e.startsWith('commit')).map((e) => Number(e.slice(7)));
    expect(commits.at(-1)).toBe(10);
    expect([...commits].sort((x, y) => x - y)).toEqual(commits);
    expect(new Set(commits).size).toBe(commits.length);
    events.forEach((e, i) => {
      if (!e.startsWith('commit')) return;
      const marked = events.slice(0, i).filter((x) => x.startsWith('start')).flatMap((x) => x.slice(6).split(',').map(Number));
      expect(marked).toEqual(expect.arrayContaining(Array.from({ length: Number(e.slice(7)) }, (_, o) => o)));
    });
    expect(await committed()).toBe(10);
  });

  it('hands out a marked chunk without I/O while the next chunk is marked and committed', async () => {
    await setup();
    await send(10);
    const c = client({ maxMessagesPerCommit: 5 });
    await take(c, 1);
    await waitFor(async () => (await committed()) === 10, { message: 'the second chunk committed in the background' });
    expect((await markersOf()).length).toBe(10);
    expect((await take(c, 9)).map(text)).toEqual(Array.from({ length: 9 }, (_, i) => `m-${i + 1}`));
  });

  it('hands a chunk out before its commit completes, but the next chunk only after it: at most one chunk is uncommitted', async () => {
    await setup();
    await send(6);
    const gate = deferred();
    transport.faults.holdCommit = () => gate.promise;
    const c = client({ maxMessagesPerCommit: 2 });
    expect((await take(c, 2)).map(text)).toEqual(['m-0', 'm-1']);
    expect(await committed()).toBeUndefined(); // its commit is still in flight
    let third: Message | null | undefined;
    const pending = c.nextMessage(5000).then((m) => (third = m));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBeUndefined(); // the next chunk waits for the commit of the first
    gate.resolve();
    await pending;
    expect(text(third!)).toBe('m-2');
    expect(await committed()).toBeGreaterThanOrEqual(2);
  });

  it('commits one chunk at a time; a slow commit is followed by one covering every chunk marked meanwhile', async () => {
    await setup();
    await send(6);
    const gate = deferred();
    transport.faults.holdCommit = () => gate.promise;
    const c = client({ maxMessagesPerCommit: 2, maxChunksAhead: 2 });
    await take(c, 1);
    await waitFor(async () => (await markersOf()).length === 6, { message: 'three chunks marked' });
    gate.resolve();
    await waitFor(async () => (await committed()) === 6, { message: 'all committed' });
    expect(transport.commits.map((batch) => batch.map((o) => o.offset))).toEqual([[2], [6]]);
    expect((await take(c, 5)).map(text)).toEqual(['m-1', 'm-2', 'm-3', 'm-4', 'm-5']);
  });

  it('never commits past a chunk whose start markers are still in flight, even when later chunks are acknowledged', async () => {
    await setup();
    await send(6);
    const gate = deferred();
    const isSecondChunk = (r: { topic: string; key?: string | null }): boolean => r.topic === fx.markersTopic && decodeMarkerKey(r.key ?? null)?.offset === 2;
    transport.faults.holdSend = (records) => (records.some(isSecondChunk) ? gate.promise : undefined);
    const c = client({ maxMessagesPerCommit: 2, maxChunksAhead: 3 });
    await take(c, 1);
    await waitFor(async () => (await markersOf()).includes('0:4:start'), { message: 'the third chunk’s markers acknowledged' });
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(await committed()).toBe(2);
    gate.resolve();
    await waitFor(async () => (await committed()) === 6, { message: 'committed once the second chunk is marked' });
  });

  it('does not commit when the start markers fail: it needs a reset, which reads from the committed offset again', async () => {
    await setup();
    await send(4);
    transport.faults.failRecord = (r) => (r.topic === fx.markersTopic ? injected('ERR_PRODUCE', 'markers down') : undefined);
    const c = client({ maxMessagesPerCommit: 2 });
    await expect(c.nextMessage(5000)).rejects.toMatchObject({ code: 'ERR_PRODUCE', message: 'markers down' });
    expect(c.needsReset()).toBe(true);
    expect(await committed()).toBeUndefined();
    await expect(c.nextMessage(10)).rejects.toMatchObject({ code: 'ERR_STATE' });

    transport.faults.failRecord = undefined;
    await c.reset();
    expect(c.needsReset()).toBe(false);
    expect((await take(c, 4)).map(text)).toEqual(['m-0', 'm-1', 'm-2', 'm-3']);
    expect(await committed()).toBe(4);
    expect(await markersOf()).toEqual(['0:0:start', '0:1:start', '0:2:start', '0:3:start']);
  });

  it('a failure of the chunk marked in the background needs a reset; marked messages are kept, the rest read again', async () => {
    await setup();
    await send(6);
    transport.faults.failRecord = (r) =>
      // Only the second chunk's markers fail; the third chunk's succeed but must never be committed past them.
      r.topic === fx.markersTopic && [2, 3].includes(decodeMarkerKey(r.key ?? null)!.offset) && decodeMarkerValue(r.value as Uint8Array)?.kind === 'start'
        ? injected('ERR_PRODUCE', 'markers down')
        : undefined;
    const c = client({ maxMessagesPerCommit: 2, maxChunksAhead: 3 }); // three chunks marked at once
    expect((await take(c, 1)).map(text)).toEqual(['m-0']);
    await waitFor(() => c.needsReset(), { message: 'the background chunk failed' });
    await expect(c.nextMessage(10)).rejects.toMatchObject({ code: 'ERR_STATE', cause: { message: 'markers down' } });
    await waitFor(async () => (await markersOf()).length === 4, { message: 'the third chunk’s markers written' });
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(await committed()).toBe(2);

    transport.faults.failRecord = undefined;
    await c.reset();
    expect((await take(c, 5)).map(text)).toEqual(['m-1', 'm-2', 'm-3', 'm-4', 'm-5']);
    expect(await committed()).toBe(6);
  });

  it('retries a failed commit; when retries run out it needs a reset and re-reads from the committed offset', async () => {
    await setup();
    await send(6);
    let attempt = 0;
    // Attempt 1 fails and its retry succeeds (first chunk); every attempt from the 3rd on fails (second chunk).
    transport.faults.rejectCommit = () => (++attempt === 1 || attempt >= 3 ? injected('ERR_COMMIT', 'coordinator moving') : undefined);
    const c = client({ maxMessagesPerCommit: 2, commitRetry: { maxAttempts: 2, initialMs: 1, maxMs: 1 } });
    expect((await take(c, 1)).map(text)).toEqual(['m-0']);
    await waitFor(() => c.needsReset(), { message: 'the second chunk’s commit gave up' });
    const failure = await c.nextMessage(10).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'ERR_STATE' });
    expect((failure as Error).cause).toBeInstanceOf(RetriesExhaustedError);
    expect(((failure as Error).cause as RetriesExhaustedError).attempts).toBe(2);
    expect(await committed()).toBe(2);

    transport.faults.rejectCommit = undefined;
    await c.reset();
    expect((await take(c, 5)).map(text)).toEqual(['m-1', 'm-2', 'm-3', 'm-4', 'm-5']);
    expect(await committed()).toBe(6);
  });

  it('processed and processingInProgress write end and keep-alive markers, in any order', async () => {
    await setup();
    await send(3);
    const clock = new ManualClock(5_000_000);
    const c = client({ clock: clock.now, redeliveryTimeoutMs: 1000 });
    const [a, b, d] = await take(c, 3);
    await c.processed(d!);
    clock.advance(10);
    await c.processingInProgress(a!);
    await c.processed(a!);
    const written = (await readTopic(transport, fx.markersTopic)).slice(3).map((r) => [decodeMarkerKey(r.key)!.offset, decodeMarkerValue(r.value)]);
    expect(written).toEqual([
      [2, { kind: 'end' }],
      [0, { kind: 'keep-alive', deadline: 5_001_010 }],
      [0, { kind: 'end' }],
    ]);
    expect(b).toBeDefined();
    await expect(c.processed({ ...a!, topic: 'elsewhere' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('writes markers to the markers partition numbered like the queue partition', async () => {
    await setup(3);
    await send(12, { partitions: 3 });
    const c = client({ maxMessagesPerCommit: 5 });
    const messages = await take(c, 12);
    for (const m of messages) await c.processed(m);
    const markers = await readTopic(transport, fx.markersTopic);
    expect(markers).toHaveLength(24);
    for (const r of markers) expect(r.partition).toBe(decodeMarkerKey(r.key)!.partition);
  });

  it('refuses to connect when the markers topic has fewer partitions than the queue', async () => {
    await setup(2);
    const queue = `${fx.queue}-narrow`;
    await transport.admin().createTopics([{ topic: queue, partitions: 2 }, { topic: `${queue}.markers`, partitions: 1 }]);
    const c = fx.track(createMqClient(transport, { queue }));
    await expect(c.nextMessage(10)).rejects.toBeInstanceOf(ConfigError);
    await expect(createMqClient(transport, { queue, checkTopics: false }).close()).resolves.toBeUndefined();
  });

  it('applies backpressure: the consumer waits while the buffer is full', async () => {
    await setup();
    await send(100);
    const c = client({ maxBatchRecords: 2, maxBufferedMessages: 4, maxMessagesPerCommit: 3 });
    await c.connect();
    await waitFor(() => transport.batches.started >= 2, { message: 'two batches delivered' });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(transport.batches).toEqual({ started: 2, settled: 1 }); // the second waits for room
    await take(c, 1); // takes 3 of 4: room again
    await waitFor(() => transport.batches.settled >= 2, { message: 'the waiting batch released' });
    await take(c, 99);
  });

  it('moves the deadline of a marked message that waited long before it was handed out', async () => {
    await setup();
    await send(2);
    const clock = new ManualClock(1_000_000);
    const c = client({ clock: clock.now, redeliveryTimeoutMs: 1000, maxMessagesPerCommit: 2 });
    await take(c, 1);
    clock.advance(600); // less than half the timeout left
    await take(c, 1);
    await waitFor(async () => (await markersOf()).length === 3, { message: 'keep-alive written' });
    expect(await markersOf()).toEqual(['0:0:start', '0:1:start', '0:1:keep-alive']);
    const last = (await readTopic(transport, fx.markersTopic))[2]!;
    expect(decodeMarkerValue(last.value)).toEqual({ kind: 'keep-alive', deadline: 1_001_600 });
  });

  it('keeps the chunks marked ahead alive too while it is active, and lets them expire when it is not', async () => {
    await setup();
    await send(3);
    const clock = new ManualClock(1_000_000);
    const c = client({ clock: clock.now, redeliveryTimeoutMs: 1000, maxMessagesPerCommit: 1, maxChunksAhead: 2 });
    await take(c, 1); // m-1 and m-2 are marked ahead
    await waitFor(async () => (await markersOf()).length === 3, { message: 'three start markers' });
    clock.advance(600);
    await take(c, 1);
    await waitFor(async () => (await markersOf()).length === 5, { message: 'keep-alives written' });
    expect((await markersOf()).slice(3).sort()).toEqual(['0:1:keep-alive', '0:2:keep-alive']);
    clock.advance(5000); // no calls meanwhile: nothing is kept alive behind the caller's back
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect((await markersOf()).length).toBe(5);
  });

  it('serves concurrent nextMessage calls in call order', async () => {
    await setup();
    await send(5);
    const c = client({ maxMessagesPerCommit: 2 });
    const got = await Promise.all(Array.from({ length: 5 }, () => c.nextMessage(5000)));
    expect(got.map((m) => text(m!))).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
  });

  it('close resolves a waiting nextMessage with null and refuses calls afterwards', async () => {
    await setup();
    const c = createMqClient(transport, { queue: fx.queue });
    await c.connect();
    const waiting = c.nextMessage(60_000);
    const closing = c.close();
    expect(c.close()).toBe(closing);
    await closing;
    await expect(waiting).resolves.toBeNull();
    await expect(c.nextMessage(10)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(c.reset()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(c.reconnect()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(c.processed({ topic: fx.queue, partition: 0, offset: 0, key: null, value: null, timestamp: 0, headers: {} })).rejects.toMatchObject({
      code: 'ERR_CLOSED',
    });
  });

  it('a nextMessage waiting for its chunk’s start markers resolves with null when the client closes', async () => {
    await setup();
    await send(2);
    const gate = deferred();
    let held = false;
    transport.faults.holdSend = (records) => {
      if (!records.some((r) => r.topic === fx.markersTopic)) return undefined;
      held = true;
      return gate.promise;
    };
    const c = createMqClient(transport, { queue: fx.queue });
    const pending = c.nextMessage(5000);
    await waitFor(() => held, { message: 'start markers in flight' });
    const closing = c.close();
    gate.resolve();
    await closing;
    await expect(pending).resolves.toBeNull();
  });

  it('needs a reconnect after a connection failure; reconnect resumes from the committed offsets', async () => {
    await setup();
    await send(4);
    const c = client({ maxMessagesPerCommit: 2 });
    await take(c, 2);
    transport.handlers[0]!.onError!(injected('ERR_CONNECTION', 'all brokers down'));
    expect(c.needsReconnect()).toBe(true);
    await expect(c.nextMessage(10)).rejects.toMatchObject({ code: 'ERR_STATE' });
    await c.reconnect();
    expect(c.needsReconnect()).toBe(false);
    expect(transport.handlers).toHaveLength(2);
    expect((await take(c, 2)).map(text)).toEqual(['m-2', 'm-3']);
  });

  it('ignores non-fatal consumer errors', async () => {
    await setup();
    const c = client();
    await c.connect();
    transport.handlers[0]!.onError!(injected('ERR_TIMEOUT', 'fetch timed out'));
    expect(c.needsReconnect()).toBe(false);
  });

  it('shares partitions with another client of its group without losing or repeating messages', async () => {
    await setup(4);
    await send(40, { partitions: 4 });
    const a = client({ maxMessagesPerCommit: 3 });
    const seen: string[] = (await take(a, 5)).map(text);
    await waitFor(() => transport.batches.started >= 4, { message: 'a holds messages of every partition' });
    const b = client({ maxMessagesPerCommit: 3 });
    await b.connect(); // takes half of the partitions from a
    // Both drain the queue concurrently until 40 messages were handed out.
    const counts = new Map<MqClient, number>();
    const drain = async (c: MqClient): Promise<void> => {
      while (seen.length < 40) {
        const m = await c.nextMessage(100);
        if (m === null) continue;
        seen.push(text(m));
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    };
    await Promise.all([drain(a), drain(b)]);
    expect(counts.get(b)).toBeGreaterThan(0);
    expect(seen.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `m-${i}`).sort()); // none lost, none twice
    // Nothing else comes: a's buffered messages of the partitions it lost were dropped, not handed out too.
    expect(await a.nextMessage(30)).toBeNull();
    expect(await b.nextMessage(30)).toBeNull();
  });

  it('gives a partition up as soon as its revocation begins, with a full buffer and nobody calling nextMessage', async () => {
    await setup(2);
    await send(20, { partitions: 2 });
    // The rebalance timeout is far beyond the test's waits: the revocation must not need it.
    const a = client({ maxBatchRecords: 5, maxBufferedMessages: 4, maxMessagesPerCommit: 3, rebalanceTimeoutMs: 20_000 });
    await a.connect();
    await waitFor(() => transport.batches.started >= 2, { message: 'a batch of each partition delivered to a' });
    expect(transport.batches.settled).toBe(0); // both wait for room: 10 messages buffered, room for 4
    const b = client({ maxMessagesPerCommit: 3 });
    // b gets a partition only once a has given it up.
    const first = await b.nextMessage(5000);
    expect(first).not.toBeNull();
    const moved = first!.partition;
    const seen: string[] = [text(first!)];
    const partitionsOf = new Map<MqClient, Set<number>>([
      [a, new Set()],
      [b, new Set([moved])],
    ]);
    const drain = async (c: MqClient): Promise<void> => {
      while (seen.length < 20) {
        const m = await c.nextMessage(100);
        if (m === null) continue;
        seen.push(text(m));
        partitionsOf.get(c)!.add(m.partition);
      }
    };
    await Promise.all([drain(a), drain(b)]);
    // a's buffered messages of the partition it lost were dropped, not handed out: b read them again.
    expect([...partitionsOf.get(a)!]).toEqual([1 - moved]);
    expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m-${i}`).sort()); // none lost, none twice
    expect(await a.nextMessage(30)).toBeNull();
    expect(await b.nextMessage(30)).toBeNull();
  });

  it('reports every invalid option at once', () => {
    let error: unknown;
    try {
      createMqClient(transport, {
        queue: 'q',
        markersTopic: 'q',
        redeliveryTimeoutMs: 0,
        maxMessagesPerCommit: 0,
        commitRetry: { maxAttempts: 0 },
        clientId: '',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual([
      'markersTopic',
      'redeliveryTimeoutMs',
      'maxMessagesPerCommit',
      'commitRetry.maxAttempts',
      'clientId',
    ]);
  });
});
