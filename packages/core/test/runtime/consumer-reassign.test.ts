import { createConsumer, type Message, type RecordBatch } from '@tributary/core';
import { memory } from '@tributary/memory';
import { buildMessage, deferred, drivenTransport, uniqueGroup, waitFor, type Deferred } from '@tributary/testutil';

/**
 * A partition that comes back to the same member while its previous
 * onRevoked is still draining (Kafka does this when a revocation outlives the
 * rebalance timeout): the late end of the old drain must not throw away the
 * new assignment's progress.
 */
describe('consumer runtime: a partition assigned again during its old drain', () => {
  it('keeps the new progress: nothing commits past a record still running', async () => {
    const base = memory();
    const driven = drivenTransport(base);
    const gates = new Map<number, Deferred<void>>();
    const running = new Set<number>();
    const consumer = createConsumer(driven.transport, { groupId: uniqueGroup('reassign'), topics: ['t'], retry: false });
    await consumer.start(async (m: Message) => {
      const gate = deferred<void>();
      gates.set(m.offset, gate);
      running.add(m.offset);
      await gate.promise;
      running.delete(m.offset);
    });
    const h = driven.handlers();
    const tp = { topic: 't', partition: 0 };
    const batch = (signal: AbortSignal, ...offsets: number[]): RecordBatch => ({
      topic: 't',
      partition: 0,
      messages: offsets.map((offset) => buildMessage({ topic: 't', partition: 0, offset })),
      signal,
    });
    const release = async (offset: number): Promise<void> => {
      await waitFor(() => running.has(offset), { message: `offset ${offset} running` });
      gates.get(offset)?.resolve();
      await waitFor(() => !running.has(offset));
    };

    await h.onAssigned?.([tp]);
    const first = new AbortController();
    const firstBatch = h.onBatch(batch(first.signal, 0));
    await waitFor(() => running.has(0));
    first.abort();
    const oldRevoke = h.onRevoked?.([tp]); // drains offset 0, still running
    await h.onAssigned?.([tp]); // back before that drain ended
    const assignment = new AbortController().signal; // one signal per assignment
    const second = h.onBatch(batch(assignment, 1));
    await waitFor(() => running.has(1));
    await release(0);
    await firstBatch;
    await oldRevoke;
    // Offset 1 runs under the new assignment; offset 2 arrives and finishes.
    const third = h.onBatch(batch(assignment, 2));
    // Handing a record to its handler takes only microtasks: a few turns of
    // the event loop are enough for offset 2 to start if it (wrongly) could.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // Offset 2 waits for offset 1 (order within the partition), so nothing past 1 commits.
    expect([...running]).toEqual([1]);
    expect(Math.max(0, ...driven.commits.flat().map((c) => c.offset))).toBeLessThanOrEqual(1);
    await release(1);
    await release(2);
    await Promise.all([second, third]);
    await consumer.stop();
    expect(Math.max(...driven.commits.flat().map((c) => c.offset))).toBe(3);
    await base.close();
  });
});
