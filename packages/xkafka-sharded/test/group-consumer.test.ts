import {
  ConfigError,
  DeadLetterHeaders,
  isTributaryError,
  valueAsString,
  TributaryError,
  type ConsumerControl,
  type RecordBatch,
  type HandlerMiddleware,
  type Message,
} from '@tributary/core';
import { memory, type MemoryTransport } from '@tributary/memory';
import {
  assertNoViolations,
  buildMessage,
  drivenTransport,
  orderViolationsPerKey,
  uniqueGroup,
  waitFor,
  withTimeout,
  wrapGroupConsumer,
  wrapTransport,
} from '@tributary/testutil';
import { createShardedGroupConsumer, type FailureEvent, type GroupConsumerConfig, type ShardedGroupConsumer } from '../src';
import { GatedHandler } from './support/gated-handler';
import { RecordingLogger } from './support/logger';
import { readTopic } from './support/proof';
import { committedOffset, keyedRecords, topicWith } from './support/topics';

let transport: MemoryTransport;
const consumers: ShardedGroupConsumer[] = [];

beforeEach(() => {
  transport = memory();
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()));
  await transport.close();
});

function consumer(config: Omit<GroupConsumerConfig, 'groupId'> & { groupId?: string }): ShardedGroupConsumer {
  const c = createShardedGroupConsumer(transport, { groupId: uniqueGroup('xks'), commitIntervalMs: 5, ...config });
  consumers.push(c);
  return c;
}

const offsets = (messages: readonly Message[]): number[] => messages.map((m) => m.offset);

describe('ShardedGroupConsumer', () => {
  it('processes every record, in order per key, and commits the end of the partition', async () => {
    const topic = await topicWith(transport, keyedRecords(200, ['a', 'b', 'c', 'd', 'e']));
    const seen: Message[] = [];
    const c = consumer({ topics: [topic], shardCount: 4 });
    await c.start(async (m, ctx) => {
      expect(ctx.groupId).toBe(c.groupId);
      seen.push(m);
    });
    await waitFor(async () => (await committedOffset(transport, c.groupId, topic)) === 200, { message: 'offset 200 committed' });
    expect(new Set(offsets(seen)).size).toBe(200);
    assertNoViolations('per-key order', orderViolationsPerKey(seen));
    expect(c.stats()).toMatchObject({ processed: 200, queued: 0, running: 0 });
  });

  it('runs global middleware, then per-topic middleware in append mode, or only the topic middleware in replace mode', async () => {
    const a = await topicWith(transport, keyedRecords(1, ['k']));
    const b = await topicWith(transport, keyedRecords(1, ['k']));
    const other = await topicWith(transport, keyedRecords(1, ['k']));
    const trail: string[] = [];
    const tag =
      (name: string): HandlerMiddleware =>
      (next) =>
      async (m, ctx) => {
        trail.push(`${name}:${m.topic === a ? 'a' : m.topic === b ? 'b' : 'other'}`);
        await next(m, ctx);
      };
    const c = consumer({
      topics: [a, b, other],
      globalHandlers: [tag('g1'), tag('g2')],
      topicHandlers: { [a]: { mode: 'append', handlers: [tag('ta')] }, [b]: { mode: 'replace', handlers: [tag('tb')] } },
    });
    await c.start(() => undefined);
    await waitFor(() => c.stats().processed === 3);
    const byTopic = (t: string): string[] => trail.filter((s) => s.endsWith(`:${t}`)).map((s) => s.split(':')[0] as string);
    expect(byTopic('a')).toEqual(['g1', 'g2', 'ta']);
    expect(byTopic('b')).toEqual(['tb']);
    expect(byTopic('other')).toEqual(['g1', 'g2']);
  });

  it('logs each record through its logger by default, and not with loggingHandler: false', async () => {
    const topic = await topicWith(transport, keyedRecords(3, ['k']));
    const on = new RecordingLogger();
    const off = new RecordingLogger();
    const c1 = consumer({ topics: [topic], logger: on });
    const c2 = consumer({ topics: [topic], logger: off, loggingHandler: false });
    await c1.start(() => undefined);
    await c2.start(() => undefined);
    await waitFor(() => c1.stats().processed === 3 && c2.stats().processed === 3);
    expect(on.messages('debug').filter((m) => m === 'record handled')).toHaveLength(3);
    expect(off.messages('debug').filter((m) => m === 'record handled')).toHaveLength(0);
  });

  it('backpressure: a full shard pauses the partition instead of buffering without bound, and resumes it', async () => {
    const topic = await topicWith(transport, keyedRecords(300, ['k']));
    const gated = new GatedHandler();
    const c = consumer({ topics: [topic], shardCount: 2, shardQueueSize: 10, maxBatchRecords: 5 });
    await c.start(gated.handler);
    await waitFor(() => c.stats().pausedPartitions.length === 1, { message: 'partition paused' });
    // Give the transport every chance to deliver more: it must not.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const held = c.stats().queued + c.stats().running;
    expect(held).toBeLessThanOrEqual(10 + 5 + 1);
    expect(c.stats().pausedPartitions).toEqual([{ topic, partition: 0 }]);
    gated.open();
    await waitFor(() => c.stats().processed === 300);
    expect(c.stats().pausedPartitions).toEqual([]);
    await waitFor(async () => (await committedOffset(transport, c.groupId, topic)) === 300);
  });

  it('on revocation drains the running records of the partition, commits them, and the next owner starts after them', async () => {
    const topic = await topicWith(transport, [...keyedRecords(20, ['a', 'b'], 0), ...keyedRecords(20, ['c', 'd'], 1)], 2);
    const groupId = uniqueGroup('xks-rebalance');
    const gatedA = new GatedHandler();
    const a = consumer({ groupId, topics: [topic], shardCount: 4 });
    await a.start(gatedA.handler);
    // Records 0 and 1 of both partitions run (keys a/b and c/d), 36 records are queued.
    await waitFor(() => gatedA.running().length === 4 && a.stats().queued === 36);
    const gatedB = new GatedHandler();
    const b = consumer({ groupId, topics: [topic], shardCount: 4 });
    const joined = b.start(gatedB.handler);
    // A gives one partition up: its 18 queued records are dropped at once, its 2 running ones are awaited.
    await waitFor(() => a.stats().queued === 18, { message: 'queued records of the revoked partition dropped' });
    expect(a.assignment()).toHaveLength(2);
    for (const call of gatedA.calls.slice(0, 4)) call.gate.resolve();
    await joined;
    await waitFor(() => a.assignment().length === 1 && gatedB.running().length > 0, { message: 'B took over one partition' });
    const moved = 1 - (a.assignment()[0]?.partition ?? 0);
    // A committed the two records it finished before releasing the partition; B starts right after them.
    expect(await committedOffset(transport, groupId, topic, moved)).toBe(2);
    expect(gatedB.running()).toEqual([2, 3]);
    // Records A had queued but not started on the moved partition were never handled by A.
    expect(gatedA.calls.filter((call) => call.message.partition === moved).map((call) => call.message.offset)).toEqual([0, 1]);
    gatedA.open();
    gatedB.open();
    await waitFor(async () => (await committedOffset(transport, groupId, topic, moved)) === 20);
    expect(gatedB.calls.map((call) => call.message.offset).sort((x, y) => x - y)).toEqual(Array.from({ length: 18 }, (_, i) => i + 2));
  });

  it("stops dispatching a partition when its batch signal aborts: before onRevoked its queued records are dropped and its running record's ctx.stopping aborts", async () => {
    // Partition 0 holds key a, partition 1 key b: each partition runs on its own shard.
    const topic = await topicWith(transport, [...keyedRecords(5, ['a'], 0), ...keyedRecords(5, ['b'], 1)], 2);
    const groupId = uniqueGroup('xks-signal');
    const gatedA = new GatedHandler();
    // What member A looked like when the transport called its onRevoked.
    const atRevoke: { partitions: number[]; queued: number; stopping: (boolean | undefined)[] }[] = [];
    const watched = wrapTransport(transport, {
      groupConsumer: (options) => {
        const real = transport.groupConsumer(options);
        return wrapGroupConsumer(real, {
          run: (handlers) =>
            real.run({
              ...handlers,
              onRevoked: (partitions) => {
                const revoked = partitions.map((tp) => tp.partition);
                atRevoke.push({
                  partitions: revoked,
                  queued: a.stats().queued,
                  stopping: gatedA.calls.filter((call) => revoked.includes(call.message.partition)).map((call) => call.ctx.stopping?.aborted),
                });
                return handlers.onRevoked?.(partitions);
              },
            }),
        });
      },
    });
    const a = createShardedGroupConsumer(watched, { groupId, topics: [topic], shardCount: 2, commitIntervalMs: 5 });
    consumers.push(a);
    await a.start(gatedA.handler);
    await waitFor(() => gatedA.running().length === 2 && a.stats().queued === 8, { message: 'offset 0 of both partitions running, 8 records queued' });

    const seenB: Message[] = [];
    const b = consumer({ groupId, topics: [topic], shardCount: 2 });
    await b.start((m) => {
      seenB.push(m);
    });
    await waitFor(() => atRevoke.length > 0, { message: "member A's onRevoked to be called" });
    const moved = atRevoke[0]!.partitions[0]!;
    expect(atRevoke[0]).toEqual({ partitions: [moved], queued: 4, stopping: [true] });
    // The drain in onRevoked waits for the running record; B then starts right after it.
    gatedA.call(0, moved)!.gate.resolve();
    await waitFor(() => seenB.length === 4, { message: 'member B to handle the records A had queued' });
    expect(seenB.map((m) => [m.partition, m.offset])).toEqual([1, 2, 3, 4].map((offset) => [moved, offset]));
    expect(gatedA.calls.filter((call) => call.message.partition === moved).map((call) => call.message.offset)).toEqual([0]);
    gatedA.open();
  });

  it('a partition assigned again while its old onRevoked still drains keeps its new progress: nothing commits past a running record', async () => {
    // The transport is driven by hand, in the order Kafka produces when a
    // revocation outlives the rebalance timeout and the partition comes back.
    const driven = drivenTransport(transport);
    const gated = new GatedHandler();
    // One key per record and 1024 shards: the records run side by side.
    const c = createShardedGroupConsumer(driven.transport, { groupId: uniqueGroup('xks-reassign'), topics: ['t'], shardCount: 1024, commitIntervalMs: 5 });
    consumers.push(c);
    await c.start(gated.handler);
    const h = driven.handlers();
    const tp = { topic: 't', partition: 0 };
    const batch = (signal: AbortSignal, ...offsetList: number[]): RecordBatch => ({
      topic: 't',
      partition: 0,
      messages: offsetList.map((offset) => buildMessage({ topic: 't', partition: 0, offset, key: `k${offset}` })),
      signal,
    });

    await h.onAssigned?.([tp]);
    const first = new AbortController();
    await h.onBatch(batch(first.signal, 0));
    await waitFor(() => gated.running().includes(0));
    first.abort();
    const oldRevoke = h.onRevoked?.([tp]); // drains offset 0, which still runs
    await h.onAssigned?.([tp]); // the partition is back before that drain ended
    await h.onBatch(batch(new AbortController().signal, 1, 2));
    await gated.release(2);
    await gated.release(0);
    await oldRevoke;
    await h.onBatch(batch(new AbortController().signal, 3));
    await gated.release(3);
    await waitFor(() => c.stats().queued === 0 && gated.running().length === 1);
    // Absence of a commit cannot be waited for: give the 5 ms commit timer a few turns.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gated.running()).toEqual([1]);
    expect(Math.max(0, ...driven.commits.flat().filter((o) => o.partition === 0).map((o) => o.offset))).toBeLessThanOrEqual(1);
    await gated.release(1);
    await waitFor(() => driven.commits.flat().some((o) => o.partition === 0 && o.offset === 4), { message: 'the commit past offset 3 once offset 1 is done' });
  });

  it('close({ drain: false }) gives up at once: running handlers are aborted and nothing more is committed', async () => {
    const topic = await topicWith(transport, keyedRecords(10, ['a', 'b']));
    const groupId = uniqueGroup('xks-crash');
    const gated = new GatedHandler();
    const a = consumer({ groupId, topics: [topic] });
    await a.start(gated.handler);
    await gated.release(0);
    await waitFor(async () => (await committedOffset(transport, groupId, topic)) === 1);
    await waitFor(() => gated.running().length === 2);
    await withTimeout(a.close({ drain: false }), 2_000, 'close without drain');
    expect(gated.call(1)?.ctx.signal.aborted).toBe(true);
    expect(gated.call(2)?.ctx.signal.aborted).toBe(true);
    // The aborted handlers finish late: still nothing is committed for them.
    await gated.release(1);
    await gated.release(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await committedOffset(transport, groupId, topic)).toBe(1);
    const seen: Message[] = [];
    const b = consumer({ groupId, topics: [topic] });
    await b.start(async (m) => {
      seen.push(m);
    });
    await waitFor(() => seen.length === 9);
    expect(offsets(seen).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a failed commit is reported to onError, named, and tried again although no record completes afterwards', async () => {
    const topic = await topicWith(transport, keyedRecords(3, ['a']));
    let failures = 2;
    // The transport's commits fail twice (a rebalance in progress, say).
    const flaky = wrapTransport(transport, {
      groupConsumer: (options) => {
        const real = transport.groupConsumer(options);
        return wrapGroupConsumer(real, {
          commit: (offsets) => (failures-- > 0 ? Promise.reject(new TributaryError('ERR_COMMIT', 'rebalance in progress')) : real.commit(offsets)),
        });
      },
    });
    const errors: unknown[] = [];
    const logger = new RecordingLogger();
    const c = createShardedGroupConsumer(flaky, { groupId: uniqueGroup('xks-flaky'), topics: [topic], commitIntervalMs: 1, logger, onError: (e) => errors.push(e) });
    consumers.push(c);
    await c.start(() => undefined);
    await waitFor(async () => (await committedOffset(transport, c.groupId, topic)) === 3, { message: 'commit retried to success' });
    expect(errors).toHaveLength(2);
    expect(logger.messages('error').filter((m) => m.startsWith('commit failed for'))[0]).toContain(`${topic}/0@`);
  });

  it('close() lets running records finish and commits them; queued records are left for the next owner', async () => {
    const topic = await topicWith(transport, keyedRecords(10, ['a']));
    const gated = new GatedHandler();
    const c = consumer({ topics: [topic] });
    await c.start(gated.handler);
    await waitFor(() => gated.running().length === 1);
    const closing = c.close();
    await gated.release(0);
    await closing;
    expect(gated.started()).toEqual(['0']);
    expect(await committedOffset(transport, c.groupId, topic)).toBe(1);
    expect(c.isRunning()).toBe(false);
  });

  it('a drain that outlasts drainTimeoutMs aborts the handler signal, commits what finished and completes the close', async () => {
    const topic = await topicWith(transport, keyedRecords(3, ['a', 'b']));
    const gated = new GatedHandler();
    const c = consumer({ topics: [topic], drainTimeoutMs: 50 });
    await c.start(gated.handler);
    await gated.release(0);
    await waitFor(() => gated.running().length === 2);
    const started = Date.now();
    await withTimeout(c.close(), 2_000, 'close with a stuck handler');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(gated.call(1)?.ctx.signal.aborted).toBe(true);
    expect(await committedOffset(transport, c.groupId, topic)).toBe(1);
    await gated.release(1);
    await gated.release(2);
  });

  it('stop policy: stops consuming, wait() rejects with ERR_STOPPED, and the commit stays below the failed record', async () => {
    const topic = await topicWith(transport, keyedRecords(20, ['a', 'b', 'c', 'd']));
    const events: FailureEvent[] = [];
    const onError = jest.fn();
    const c = consumer({
      topics: [topic],
      exhaustedPolicy: 'stop',
      retry: { maxAttempts: 2, initialMs: 1, maxMs: 1 },
      failureHook: (e) => events.push(e),
      onError,
    });
    await c.start((m) => {
      if (m.offset === 6) throw new Error('poison');
    });
    const err: unknown = await withTimeout(c.wait().then(() => 'resolved', (e: unknown) => e), 5_000, 'consumer stop');
    expect(isTributaryError(err) && err.code).toBe('ERR_STOPPED');
    expect((err as Error).message).toContain(`${topic}/0@6`);
    expect(onError).toHaveBeenCalledWith(err);
    expect(events.map((e) => `${e.stage}@${e.offset}#${e.attempt}`)).toEqual(['retry@6#1', 'exhausted@6#2', 'stop@6#2']);
    expect(await committedOffset(transport, c.groupId, topic)).toBeLessThanOrEqual(6);
    expect(c.isRunning()).toBe(false);
  });

  it('dlq-commit with the default topic: the record goes to <topic>.dlq with its reason and the partition is committed past it', async () => {
    const topic = await topicWith(transport, keyedRecords(5, ['a']));
    const admin = transport.admin();
    await admin.createTopics([{ topic: `${topic}.dlq` }]);
    await admin.close();
    const events: FailureEvent[] = [];
    const c = consumer({ topics: [topic], exhaustedPolicy: 'dlq-commit', retry: { maxAttempts: 1 }, failureHook: (e) => events.push(e) });
    await c.start((m) => {
      if (m.offset === 2) throw new Error('cannot handle v2');
    });
    await waitFor(async () => (await committedOffset(transport, c.groupId, topic)) === 5);
    const [dead] = await readTopic(transport, `${topic}.dlq`, 1);
    expect(valueAsString(dead as Message)).toBe('v2');
    expect(dead?.headers[DeadLetterHeaders.reason]).toBe('gave up after 1 attempts: cannot handle v2');
    expect(dead?.headers[DeadLetterHeaders.groupId]).toBe(c.groupId);
    expect(events.map((e) => e.stage)).toEqual(['exhausted', 'dlq']);
    expect(c.stats()).toMatchObject({ processed: 4, deadLettered: 1 });
  });

  it('block + parkKey: a failing key waits alone while the other keys finish; the commit never passes it; it recovers in order', async () => {
    const topic = await topicWith(transport, keyedRecords(40, ['bad', 'ok1', 'ok2', 'ok3']));
    let healthy = false;
    const seen: Message[] = [];
    const c = consumer({
      topics: [topic],
      shardCount: 1,
      parkKey: true,
      exhaustedPolicy: 'block',
      retry: { maxAttempts: 2, initialMs: 1, maxMs: 5 },
    });
    await c.start(async (m) => {
      if (m.key === 'bad' && !healthy) throw new Error('downstream of bad is down');
      seen.push(m);
    });
    // One shard for all keys: only parking lets the three healthy keys through.
    await waitFor(() => seen.length === 30, { message: 'the 30 healthy records' });
    expect(seen.every((m) => m.key !== 'bad')).toBe(true);
    expect(c.stats()).toMatchObject({ parkedKeys: 1, parked: 9 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await committedOffset(transport, c.groupId, topic)).toBeUndefined();
    healthy = true;
    await waitFor(async () => (await committedOffset(transport, c.groupId, topic)) === 40);
    assertNoViolations('per-key order', orderViolationsPerKey(seen));
    expect(seen.filter((m) => m.key === 'bad').map((m) => m.offset)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
    expect(c.stats().parkedKeys).toBe(0);
  });

  it('ctx.control pauses the partitions until resumed, over backpressure resumes', async () => {
    const topic = await topicWith(transport, keyedRecords(60, ['a']));
    const seen: number[] = [];
    let control: ConsumerControl | undefined;
    const c = consumer({ topics: [topic], shardCount: 1, shardQueueSize: 4, maxBatchRecords: 4 });
    await c.start((m, ctx) => {
      control = ctx.control;
      seen.push(m.offset);
      if (m.offset === 2) ctx.control.pause();
    });
    await waitFor(() => c.stats().queued === 0 && c.stats().running === 0 && c.stats().pausedPartitions.length === 1, {
      message: 'paused and idle',
    });
    // The shard drained below half (a backpressure resume), yet the partition stays paused.
    const stalled = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toHaveLength(stalled);
    expect(stalled).toBeLessThan(60);
    control?.resume();
    await waitFor(() => seen.length === 60);
    expect(c.stats().pausedPartitions).toEqual([]);
  });

  it('lifecycle: start once, consume until aborted, reject use after close, validate the config up front', async () => {
    const topic = await topicWith(transport, keyedRecords(3, ['a']));
    expect(() => createShardedGroupConsumer(transport, { groupId: '', topics: [] })).toThrow(ConfigError);
    const c = consumer({ topics: [topic] });
    expect(c.isRunning()).toBe(false);
    const abort = new AbortController();
    const consuming = c.consume(() => undefined, { signal: abort.signal });
    await waitFor(() => c.stats().processed === 3);
    expect(c.isRunning()).toBe(true);
    await expect(c.start(() => undefined)).rejects.toMatchObject({ code: 'ERR_STATE' });
    abort.abort();
    await consuming;
    expect(c.isRunning()).toBe(false);
    await expect(c.start(() => undefined)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(c.close()).resolves.toBeUndefined();
    const never = consumer({ topics: [topic] });
    await never.close();
    await expect(never.wait()).resolves.toBeUndefined();
  });
});

describe('ShardedGroupConsumer start and close racing', () => {
  it('a close issued while start is in progress still closes the transport consumer', async () => {
    const t = memory();
    try {
      const topic = await topicWith(t, keyedRecords(5, ['a']));
      const seen: number[] = [];
      const c = createShardedGroupConsumer(t, { groupId: uniqueGroup('xks-race'), topics: [topic] });
      const starting = c.start((m) => void seen.push(m.offset));
      const closing = c.close();
      await starting;
      await withTimeout(closing, 2_000, 'close during start');
      expect(c.isRunning()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual([]);
      // The member left: another member of the group gets the partition and every record.
      const d = createShardedGroupConsumer(t, { groupId: c.groupId, topics: [topic] });
      await d.start((m) => void seen.push(m.offset));
      await waitFor(() => seen.length === 5);
      await d.close();
    } finally {
      await t.close();
    }
  });
});
