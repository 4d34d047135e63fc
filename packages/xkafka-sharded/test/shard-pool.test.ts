import { Backoff, silentLogger, type Message } from '@tributary/core';
import { MockProducer, buildMessages, deferred, waitFor, type Deferred } from '@tributary/testutil';
import type { ExhaustedPolicy } from '../src/failure';
import { PartitionProgress } from '../src/partition-progress';
import { RecordProcessor } from '../src/record-processor';
import { ShardPool, type ShardPoolOptions } from '../src/shard-pool';
import type { ShardRouting } from '../src/shard-router';
import { GatedHandler } from './support/gated-handler';

interface Harness {
  pool: ShardPool;
  gated: GatedHandler;
  pauses: string[];
  completed: number;
  crashed: unknown[];
  retryGates: Deferred<void>[];
  producer: MockProducer;
  processor: RecordProcessor;
}

function harness(
  options: Partial<ShardPoolOptions> & { policy?: ExhaustedPolicy; maxAttempts?: number } = {},
): Harness {
  const gated = new GatedHandler();
  const retryGates: Deferred<void>[] = [];
  const producer = new MockProducer();
  const processor = new RecordProcessor({
    chains: new Map(),
    fallback: gated.handler,
    retry: new Backoff({ initialMs: 10, jitter: 'none', maxAttempts: options.maxAttempts ?? Infinity }),
    exhaustedPolicy: options.policy ?? 'block',
    dlqTopic: () => 'dlq',
    dlqProducer: producer,
    failureHook: undefined,
    groupId: 'g',
    logger: silentLogger,
    control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
    // Each retry wait lasts until the test opens its gate.
    sleep: () => {
      const gate = deferred();
      retryGates.push(gate);
      return gate.promise;
    },
    running: () => true,
    fail: (e) => h.crashed.push(e),
  });
  const h: Harness = {
    gated,
    pauses: [],
    completed: 0,
    crashed: [],
    retryGates,
    producer,
    processor,
    pool: undefined as unknown as ShardPool,
  };
  h.pool = new ShardPool(
    {
      shardCount: options.shardCount ?? 4,
      shardQueueSize: options.shardQueueSize ?? 100,
      routing: options.routing ?? ('balanced' satisfies ShardRouting),
      keyExtractor: options.keyExtractor ?? ((m: Message) => m.key ?? ''),
      parkKey: options.parkKey ?? false,
      logger: silentLogger,
    },
    processor,
    {
      updatePause: (p) => h.pauses.push(`${p.id}:${p.pausedBy.size > 0 ? 'pause' : 'resume'}`),
      completed: () => h.completed++,
      crashed: (e) => h.crashed.push(e),
    },
  );
  return h;
}

const keyed = (keys: string[], partition = 0): Message[] =>
  buildMessages(keys.length, (i) => ({ topic: 't', partition, offset: i, key: keys[i] ?? null }));

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ShardPool', () => {
  it('runs records of one key one at a time in offset order, and different keys in parallel within one partition', async () => {
    const h = harness({ shardCount: 4 });
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    h.pool.dispatch(p, keyed(['a', 'b', 'a', 'c', 'b', 'a']));
    await waitFor(() => h.gated.running().length === 3);
    expect(h.gated.running()).toEqual([0, 1, 3]);
    await h.gated.release(0);
    await waitFor(() => h.gated.running().includes(2));
    expect(h.gated.running()).toEqual([1, 2, 3]);
    await h.gated.release(2);
    await waitFor(() => h.gated.running().includes(5));
    await h.gated.release(5);
    await h.gated.release(3);
    await h.gated.release(1);
    await h.gated.release(4);
    await p.idle();
    expect(h.gated.started()).toEqual(['0', '1', '3', '2', '5', '4']);
    expect(p.tracker.committable()).toBe(6);
    expect(h.pool.snapshot()).toMatchObject({ queued: 0, running: 0, processed: 6 });
  });

  it('commits only the contiguous processed prefix when records finish out of order', async () => {
    const h = harness({ shardCount: 4 });
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    h.pool.dispatch(p, keyed(['a', 'b', 'c']));
    await waitFor(() => h.gated.running().length === 3);
    await h.gated.release(2);
    await h.gated.release(1);
    await waitFor(() => h.completed === 2);
    expect(p.tracker.committable()).toBeUndefined();
    await h.gated.release(0);
    await p.idle();
    expect(p.tracker.committable()).toBe(3);
  });

  it('hash routing with one shard processes a partition serially', async () => {
    const h = harness({ shardCount: 1, routing: 'hash' });
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    h.pool.dispatch(p, keyed(['a', 'b', 'c']));
    for (const offset of [0, 1, 2]) {
      await waitFor(() => h.gated.running().length === 1);
      expect(h.gated.running()).toEqual([offset]);
      await h.gated.release(offset);
    }
    await p.idle();
  });

  it('pauses the partition feeding a full shard and resumes it once the shard is down to half', async () => {
    const h = harness({ shardCount: 1, shardQueueSize: 4 });
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    h.pool.dispatch(p, keyed(['a', 'a', 'a', 'a', 'a', 'a']));
    // 6 records for a queue of 4: the feeder is paused.
    expect(h.pauses).toEqual(['t/0:pause']);
    await waitFor(() => h.gated.running().length === 1);
    for (const offset of [0, 1, 2]) await h.gated.release(offset);
    // After 3 done: 1 running + 2 queued = 2 ≤ 4/2 → resumed.
    await waitFor(() => h.pauses.length === 2);
    expect(h.pauses).toEqual(['t/0:pause', 't/0:resume']);
    expect(p.pausedBy.size).toBe(0);
    for (const offset of [3, 4, 5]) await h.gated.release(offset);
    await p.idle();
  });

  it('pauses only the partitions feeding the full shard', async () => {
    const h = harness({ shardCount: 2, shardQueueSize: 2 });
    const p0 = new PartitionProgress({ topic: 't', partition: 0 });
    const p1 = new PartitionProgress({ topic: 't', partition: 1 });
    h.pool.dispatch(p0, keyed(['a', 'a', 'a', 'a'], 0));
    h.pool.dispatch(p1, keyed(['b'], 1));
    expect(h.pauses).toEqual(['t/0:pause']);
    expect(p1.pausedBy.size).toBe(0);
    await h.gated.release(0);
    await waitFor(() => h.gated.running().length === 2);
    await h.gated.release(0);
    await h.gated.release(1);
    await h.gated.release(2);
    await h.gated.release(3);
    await Promise.all([p0.idle(), p1.idle()]);
    expect(h.pauses).toEqual(['t/0:pause', 't/0:resume']);
  });

  describe('park the key', () => {
    async function scenario(parkKey: boolean): Promise<{ h: Harness; p: PartitionProgress }> {
      const h = harness({ shardCount: 1, routing: 'hash', parkKey });
      const p = new PartitionProgress({ topic: 't', partition: 0 });
      // k1@0 fails; k2@1, k1@2 and k2@3 share its shard.
      h.pool.dispatch(p, keyed(['k1', 'k2', 'k1', 'k2']));
      await h.gated.release(0, new Error('k1 is down'));
      await waitFor(() => h.retryGates.length === 1, { message: 'k1@0 waits for its retry' });
      return { h, p };
    }

    it('parks only the failing key: other keys of its shard flow, the key waits in order, the commit stays below the failure', async () => {
      const { h, p } = await scenario(true);
      await h.gated.release(1);
      await h.gated.release(3);
      await waitFor(() => h.completed === 2);
      expect(h.gated.started()).toEqual(['0', '1', '3']);
      expect(h.pool.snapshot()).toMatchObject({ parkedKeys: 1, parked: 1, queued: 0 });
      // k2's records are done, but k1@0 is not: nothing is committable.
      expect(p.tracker.committable()).toBeUndefined();
      h.retryGates[0]?.resolve();
      await h.gated.release(0);
      await h.gated.release(2);
      await p.idle();
      expect(h.gated.started()).toEqual(['0', '1', '3', '0#2', '2']);
      expect(p.tracker.committable()).toBe(4);
      expect(h.pool.snapshot()).toMatchObject({ parkedKeys: 0, parked: 0 });
    });

    it('without parking, the whole shard waits for the failing record (the Go behaviour)', async () => {
      const { h, p } = await scenario(false);
      await tick();
      expect(h.gated.running()).toEqual([]);
      expect(h.gated.started()).toEqual(['0']);
      h.retryGates[0]?.resolve();
      for (const offset of [0, 1, 2, 3]) await h.gated.release(offset);
      await p.idle();
      expect(h.gated.started()).toEqual(['0', '0#2', '1', '2', '3']);
    });

    it('a parked key keeps later records of the key in order even when they arrive in later batches', async () => {
      const { h, p } = await scenario(true);
      h.pool.dispatch(p, buildMessages(2, (i) => ({ topic: 't', partition: 0, offset: 4 + i, key: 'k1' })));
      await h.gated.release(1);
      await h.gated.release(3);
      await waitFor(() => h.pool.snapshot().parked === 3);
      h.retryGates[0]?.resolve();
      for (const offset of [0, 2, 4, 5]) await h.gated.release(offset);
      await p.idle();
      expect(h.gated.started()).toEqual(['0', '1', '3', '0#2', '2', '4', '5']);
    });

    it('a dead-lettered parked record releases the key; the rest of the key runs in order', async () => {
      const h = harness({ shardCount: 1, routing: 'hash', parkKey: true, policy: 'dlq-commit', maxAttempts: 2 });
      const p = new PartitionProgress({ topic: 't', partition: 0 });
      h.pool.dispatch(p, keyed(['k1', 'k1', 'k2']));
      await h.gated.release(0, new Error('bad'));
      await h.gated.release(2);
      await waitFor(() => h.retryGates.length === 1);
      h.retryGates[0]?.resolve();
      await h.gated.release(0, new Error('still bad'));
      await h.gated.release(1);
      await p.idle();
      expect(h.producer.records.map((r) => r.headers?.['tributary-dlq-original-offset'])).toEqual(['0']);
      expect(h.gated.started()).toEqual(['0', '2', '0#2', '1']);
      expect(p.tracker.committable()).toBe(3);
    });
  });

  it('purge drops records of given partitions that have not started, leaving them uncommitted', async () => {
    const h = harness({ shardCount: 1 });
    const p0 = new PartitionProgress({ topic: 't', partition: 0 });
    const p1 = new PartitionProgress({ topic: 't', partition: 1 });
    h.pool.dispatch(p0, keyed(['a', 'a', 'a'], 0));
    h.pool.dispatch(p1, keyed(['b', 'b'], 1));
    await waitFor(() => h.gated.running().length === 1);
    p0.revoke();
    h.pool.purge(new Set([p0]));
    // p0@0 runs on; p0@1 and p0@2 are dropped.
    expect(p0.outstanding).toBe(1);
    expect(h.pool.snapshot().queued).toBe(2);
    await h.gated.release(0);
    await p0.idle();
    expect(p0.tracker.committable()).toBe(1);
    await h.gated.release(0);
    await h.gated.release(1);
    await p1.idle();
    expect(h.gated.calls.map((c) => `${c.message.partition}@${c.message.offset}`)).toEqual(['0@0', '1@0', '1@1']);
  });

  it('stop: no record starts afterwards', async () => {
    const h = harness({ shardCount: 1 });
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    h.pool.dispatch(p, keyed(['a', 'a']));
    await waitFor(() => h.gated.running().length === 1);
    h.pool.stop();
    await h.gated.release(0);
    await tick();
    expect(h.gated.started()).toEqual(['0']);
    h.pool.dispatch(p, keyed(['a']));
    expect(h.pool.snapshot().queued).toBe(1);
  });

  it('a key extractor that throws fails only that record (permanently); the others flow', async () => {
    const h = harness({
      shardCount: 2,
      policy: 'dlq-commit',
      keyExtractor: (m) => {
        if (m.offset === 1) throw new Error('no key in payload');
        return m.key ?? '';
      },
    });
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    h.pool.dispatch(p, keyed(['a', 'b', 'c']));
    await h.gated.release(0);
    await h.gated.release(2);
    await p.idle();
    expect(h.gated.started()).toEqual(['0', '2']);
    expect(h.producer.records[0]?.headers?.['tributary-dlq-reason']).toBe('unrecoverable: key extractor failed: no key in payload');
    expect(p.tracker.committable()).toBe(3);
  });
});
