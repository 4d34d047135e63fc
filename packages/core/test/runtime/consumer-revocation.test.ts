import {
  isTributaryError,
  retry,
  type Message,
} from '@tributary/core';
import { uniqueGroup, waitFor, type Deferred } from '@tributary/testutil';
import { runtimeFixture } from './support';

/** Resolves once `signal` aborts. */
function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Revocation while a member is busy with a delivered batch: the transport's
 * batch signal tells the runtime when the revocation starts, so the member
 * stops after the record in flight instead of handling the rest of the batch
 * before it can let the partition go.
 */
describe('consumer runtime: revocation of a partition with a batch in flight', () => {
  const fx = runtimeFixture('revoke');
  const { consumer, gate, committed } = fx;

  /** A topic with two partitions and `perPartition` records in each, all delivered to a member in one batch per partition; and its DLQ. */
  function twoPartitions(perPartition: number): Promise<string> {
    const records = [0, 1].flatMap((partition) => range(0, perPartition).map((i) => ({ partition, key: `k${i}`, value: `${partition}-${i}` })));
    return fx.topicWith(records, { partitions: 2, dlq: true });
  }

  async function deadLettered(topic: string): Promise<number> {
    return (await fx.transport.admin().fetchTopicOffsets(`${topic}.dlq`))[0]?.high ?? -1;
  }

  const offsetsOf = (messages: readonly Message[], partition: number): number[] => messages.filter((m) => m.partition === partition).map((m) => m.offset);

  it('a record handler stops after the record in flight; the new owner gets the rest from the committed prefix', async () => {
    const perPartition = 100;
    const topic = await twoPartitions(perPartition);
    const groupId = uniqueGroup('revoke');

    // Member A handles a record only when the test releases it.
    const startedA: Message[] = [];
    const held = new Map<number, { offset: number; release: Deferred<void>; stopping: AbortSignal | undefined }>();
    let holding = true;
    const a = consumer({ groupId, topics: [topic] });
    await a.start(async (m, ctx) => {
      startedA.push(m);
      if (!holding) return;
      const release = gate();
      held.set(m.partition, { offset: m.offset, release, stopping: ctx.stopping });
      await release.promise;
    });
    const heldAt = (partition: number, offset: number): boolean => held.get(partition)?.offset === offset;
    for (const offset of [0, 1, 2]) {
      await waitFor(() => heldAt(0, offset) && heldAt(1, offset), { message: `member A to hold offset ${offset} of both partitions` });
      for (const p of [0, 1]) held.get(p)!.release.resolve();
    }
    await waitFor(() => heldAt(0, 3) && heldAt(1, 3), { message: 'member A to hold offset 3 of both partitions' });

    const handledB: Message[] = [];
    const b = consumer({ groupId, topics: [topic] });
    await b.start((m) => {
      handledB.push(m);
    });
    // The revocation starts while A is inside a record: its ctx.stopping aborts at once.
    await waitFor(() => [0, 1].some((p) => held.get(p)?.stopping?.aborted), { message: 'ctx.stopping of the record in flight of the moving partition to abort' });
    const moved = [0, 1].find((p) => held.get(p)?.stopping?.aborted)!;
    const kept = 1 - moved;
    const reason: unknown = held.get(moved)!.stopping!.reason;
    expect(isTributaryError(reason) && reason.code).toBe('ERR_ABORTED');
    expect(held.get(kept)!.stopping!.aborted).toBe(false);
    // The record in flight is finished before the partition moves.
    expect(offsetsOf(handledB, moved)).toEqual([]);
    held.get(moved)!.release.resolve();

    await waitFor(() => offsetsOf(handledB, moved).length >= perPartition - 4, { message: `member B to handle the rest of partition ${moved}` });
    // A started nothing after the record in flight; B resumed right after it: nothing skipped, nothing twice.
    expect(offsetsOf(startedA, moved)).toEqual([0, 1, 2, 3]);
    expect(offsetsOf(handledB, moved)).toEqual(range(4, perPartition));

    // The partition A kept is untouched: release it and everything commits to the end.
    holding = false;
    held.get(kept)!.release.resolve();
    await waitFor(() => offsetsOf(startedA, kept).length === perPartition, { message: `member A to finish partition ${kept}` });
    expect(offsetsOf(startedA, kept)).toEqual(range(0, perPartition));
    await waitFor(async () => {
      const c = await committed(groupId, topic);
      return c[0] === perPartition && c[1] === perPartition;
    }, { message: 'the group to commit both partitions to the end' });
    expect([a.isRunning(), b.isRunning()]).toEqual([true, true]);
  });

  it('a retry backoff of a revoked partition ends at once: the record is neither dead-lettered nor fatal, and the next owner handles it', async () => {
    const topic = await twoPartitions(5);
    const groupId = uniqueGroup('revoke');
    const failures: string[] = [];
    // A 60 s backoff: the revocation must not wait for it.
    const options = { groupId, topics: [topic], retry: { initialMs: 60_000, maxMs: 60_000, maxAttempts: 5 }, deadLetter: {} } as const;
    const a = consumer(options);
    await a.start((m) => {
      if (m.offset === 2) {
        failures.push(`${m.partition}@${m.offset}`);
        throw new Error('dependency down');
      }
    });
    await waitFor(() => failures.length === 2, { message: 'offset 2 of both partitions to fail once (both now in a backoff)' });

    const handledB: Message[] = [];
    const b = consumer(options);
    await b.start((m) => {
      handledB.push(m);
    });
    await waitFor(() => handledB.length === 3, { message: 'member B to handle offsets 2-4 of the moved partition' });
    const moved = handledB[0]!.partition;
    expect(offsetsOf(handledB, moved)).toEqual([2, 3, 4]);
    expect(failures.sort()).toEqual(['0@2', '1@2']);
    expect(a.isRunning()).toBe(true);
    expect(a.metrics().deadLettered).toBe(0);
    expect(await deadLettered(topic)).toBe(0);
  });

  it('a batch handler sees ctx.stopping abort when the revocation starts; records it reports as retry go to the next owner, not to the dead-letter topic', async () => {
    const perPartition = 10;
    const topic = await twoPartitions(perPartition);
    const groupId = uniqueGroup('revoke');
    const stoppingOf = new Map<number, AbortSignal>();
    // maxWaitMs 0: each delivered batch is handled inside its onBatch, so the
    // transport's in-flight batch lasts as long as the handler.
    const options = { groupId, topics: [topic], batch: { maxWaitMs: 0 }, retry: { initialMs: 1, maxMs: 5, maxAttempts: 3 }, deadLetter: {} } as const;
    const a = consumer(options);
    await a.startBatch(async (messages, ctx) => {
      const stopping = ctx.stopping!;
      stoppingOf.set(messages[0]!.partition, stopping);
      // A slow batch that gives up when told, reporting every record as not done.
      await Promise.race([gate().promise, whenAborted(stopping)]);
      return messages.map(() => retry(new Error('partition revoked before the batch was done')));
    });
    await waitFor(() => stoppingOf.size === 2, { message: 'member A to be inside a batch of both partitions' });

    const handledB: Message[] = [];
    const b = consumer(options);
    await b.startBatch((messages) => {
      handledB.push(...messages);
    });
    await waitFor(() => handledB.length === perPartition, { message: 'member B to handle every record of the moved partition' });
    const moved = handledB[0]!.partition;
    expect(offsetsOf(handledB, moved)).toEqual(range(0, perPartition));
    expect(stoppingOf.get(moved)!.aborted).toBe(true);
    expect(stoppingOf.get(1 - moved)!.aborted).toBe(false);
    expect(a.isRunning()).toBe(true);
    expect(a.metrics().deadLettered).toBe(0);
    expect(await deadLettered(topic)).toBe(0);
  });

  describe('the revocation drain deadline (drainTimeoutMs)', () => {
    /** A handler's long work: it gives up, rejecting with the reason, when its ctx.signal aborts. */
    function untilSignal(signal: AbortSignal): Promise<never> {
      return whenAborted(signal).then(() => Promise.reject(signal.reason as Error));
    }

    // A record handler runs inside the transport's onBatch, so the transport
    // waits for it before onRevoked; a batch flushed by the batch timer runs
    // after its onBatch returned, so onRevoked waits for it. Both are bounded
    // from the moment the revocation begins.
    it.each(['record', 'batch'] as const)('%s handler: work still running drainTimeoutMs after the revocation began sees ctx.signal abort; the partition moves uncommitted', async (mode) => {
      const perPartition = 3;
      const topic = await twoPartitions(perPartition);
      const groupId = uniqueGroup('revoke');
      const drainTimeoutMs = 100;
      const signalOf = new Map<number, AbortSignal>();
      const errorsOfA: unknown[] = [];
      const a = consumer({ groupId, topics: [topic], drainTimeoutMs, batch: { maxWaitMs: 1 }, onError: (e) => errorsOfA.push(e) });
      // Member A never finishes the first record (or batch) of a partition on its own.
      const work = async (partition: number, signal: AbortSignal): Promise<void> => {
        signalOf.set(partition, signal);
        await Promise.race([gate().promise, untilSignal(signal)]);
      };
      if (mode === 'record') await a.start((m, ctx) => work(m.partition, ctx.signal));
      else await a.startBatch((messages, ctx) => work(messages[0]!.partition, ctx.signal));
      await waitFor(() => signalOf.size === 2, { message: 'member A to be busy with both partitions' });

      const handledB: Message[] = [];
      const b = consumer({ groupId, topics: [topic] });
      await b.start((m) => {
        handledB.push(m);
      });
      await waitFor(() => [0, 1].some((p) => signalOf.get(p)!.aborted), { message: "ctx.signal of the moving partition's work to abort" });
      const moved = [0, 1].find((p) => signalOf.get(p)!.aborted)!;
      const reason: unknown = signalOf.get(moved)!.reason;
      expect(isTributaryError(reason) && reason.code).toBe('ERR_TIMEOUT');
      expect((reason as Error).message).toContain(`${topic}/${moved}`);
      expect((reason as Error).message).toContain(`${drainTimeoutMs} ms`);
      // The partition A keeps is untouched, and A keeps running.
      expect(signalOf.get(1 - moved)!.aborted).toBe(false);
      expect(a.isRunning()).toBe(true);

      // Nothing of the moved partition finished at A: B gets all of it, from offset 0.
      await waitFor(() => offsetsOf(handledB, moved).length === perPartition, { message: `member B to handle partition ${moved}` });
      expect(offsetsOf(handledB, moved)).toEqual(range(0, perPartition));
      // A revocation that outlasts its drain is not an error: A runs on, with nothing reported.
      expect(a.isRunning()).toBe(true);
      expect(errorsOfA).toEqual([]);
    });

    it('work that finishes within drainTimeoutMs is committed and its ctx.signal does not abort', async () => {
      const topic = await twoPartitions(3);
      const groupId = uniqueGroup('revoke');
      const held = new Map<number, { release: Deferred<void>; signal: AbortSignal; stopping: AbortSignal }>();
      const a = consumer({ groupId, topics: [topic], drainTimeoutMs: 30_000 });
      await a.start(async (m, ctx) => {
        if (m.offset !== 1) return;
        const release = gate();
        held.set(m.partition, { release, signal: ctx.signal, stopping: ctx.stopping! });
        await release.promise;
      });
      await waitFor(() => held.size === 2, { message: 'member A to hold offset 1 of both partitions' });

      const handledB: Message[] = [];
      const b = consumer({ groupId, topics: [topic] });
      await b.start((m) => {
        handledB.push(m);
      });
      await waitFor(() => [0, 1].some((p) => held.get(p)!.stopping.aborted), { message: 'the revocation of a partition to begin' });
      const moved = [0, 1].find((p) => held.get(p)!.stopping.aborted)!;
      held.get(moved)!.release.resolve();
      await waitFor(() => offsetsOf(handledB, moved).length === 1, { message: `member B to handle the rest of partition ${moved}` });
      expect(offsetsOf(handledB, moved)).toEqual([2]);
      expect(held.get(moved)!.signal.aborted).toBe(false);
    });
  });
});
