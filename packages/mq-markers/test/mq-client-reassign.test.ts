import { type RecordBatch } from '@tributary/core';
import { memory } from '@tributary/memory';
import { createMqClient } from '@tributary/mq-markers';
import { buildMessage, deferred, drivenTransport } from '@tributary/testutil';
import { injected, queueFixture, type QueueFixture } from './support/fixture';

const base = memory();
let fx: QueueFixture;

afterEach(async () => {
  await fx.close();
});

afterAll(async () => {
  await base.close();
});

const batch = (signal: AbortSignal, ...offsets: number[]): RecordBatch => ({
  topic: fx.queue,
  partition: 0,
  messages: offsets.map((offset) => buildMessage({ topic: fx.queue, partition: 0, offset })),
  signal,
});

/**
 * A queue partition that comes back to the same client while its previous
 * onRevoked still waits for a commit (Kafka releases a revocation that
 * outlives the rebalance timeout): the late end of that onRevoked must not
 * drop the new assignment's committed offset.
 */
describe('MqClient: a queue partition assigned again during its old onRevoked', () => {
  it('keeps the new assignment’s committed offset: reset() goes back to it, not past unmarked messages', async () => {
    fx = await queueFixture(base, 1, 'client-reassign');
    const driven = drivenTransport(base);
    const tp = { topic: fx.queue, partition: 0 };
    driven.assignment = [tp];
    const commitHeld = deferred<void>();
    driven.holdCommit = () => commitHeld.promise;
    const c = fx.track(createMqClient(driven.transport, { queue: fx.queue, maxMessagesPerCommit: 2, maxChunksAhead: 0 }));
    await c.connect();
    const h = driven.handlers();

    const first = new AbortController();
    await h.onBatch(batch(first.signal, 0, 1));
    const m = await c.nextMessage(5000); // chunk 0–1 marked; its commit (to 2) is held
    expect(m?.offset).toBe(0);
    first.abort();
    const oldRevoke = h.onRevoked?.([tp]); // waits for that commit
    // Assigned again meanwhile, from the group's committed offset (still none).
    const assignment = new AbortController().signal;
    await h.onBatch(batch(assignment, 0, 1, 2));
    commitHeld.resolve();
    await oldRevoke;
    expect(driven.commits).toEqual([[{ topic: fx.queue, partition: 0, offset: 2 }]]);
    await h.onBatch(batch(assignment, 3));

    // Offset 2 was fetched but never marked: reset() must go back to the committed 2, not to 3.
    await c.reset();
    expect(driven.seeks).toEqual([{ topic: fx.queue, partition: 0, offset: 2 }]);
  });

  it('takes the new assignment’s start as its committed offset, not the old assignment’s', async () => {
    fx = await queueFixture(base, 1, 'client-reassign');
    const driven = drivenTransport(base);
    const tp = { topic: fx.queue, partition: 0 };
    driven.assignment = [tp];
    const commitFails = deferred<void>();
    driven.holdCommit = () => commitFails.promise;
    const c = fx.track(createMqClient(driven.transport, { queue: fx.queue, maxMessagesPerCommit: 2, maxChunksAhead: 0, commitRetry: { maxAttempts: 1 } }));
    await c.connect();
    const h = driven.handlers();

    const first = new AbortController();
    await h.onBatch(batch(first.signal, 0, 1));
    expect((await c.nextMessage(5000))?.offset).toBe(0); // its commit (to 2) is held, then fails
    first.abort();
    const oldRevoke = h.onRevoked?.([tp]);
    // Meanwhile another member took the partition, committed up to 5 and it came back.
    const assignment = new AbortController().signal;
    await h.onBatch(batch(assignment, 5, 6));
    commitFails.reject(injected('ERR_COMMIT'));
    await oldRevoke;
    expect(c.needsReset()).toBe(true);

    // Back to where this assignment started, not to 0 (re-reading what the other member processed).
    await c.reset();
    expect(driven.seeks).toEqual([{ topic: fx.queue, partition: 0, offset: 5 }]);
  });
});
