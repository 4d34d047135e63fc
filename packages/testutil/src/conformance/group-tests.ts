/// <reference types="jest" />
/**
 * Consumer group conformance: members split partitions, commits of
 * partitions a member does not own are ignored, revocation gives the owner
 * the chance to commit (so nothing is lost or processed twice), and many
 * members share a large topic.
 */
import type { GroupConsumer, RecordBatch, TopicPartition } from '@tributary/core';
import { deferred } from '../deferred';
import { orderViolationsPerPartition } from '../order';
import { assertNoViolations } from '../violations';
import { withTimeout } from '../wait';
import { defineTest, type ConformanceTest } from './catalog';
import { commitBatch, deliveryCounts, endOffsets, notExactlyOnce, positions } from './delivery-accounting';
import { codeOf, whenAborted, type ConformanceContext, type Member, type MemberHooks } from './context';

/** Starts member A, waits until it owns every partition, then B, and waits for the split. */
async function twoMembers(
  ctx: ConformanceContext,
  topic: string,
  partitions: number,
  hooks: (label: string) => MemberHooks = () => ({}),
): Promise<[Member, Member]> {
  const groupId = ctx.group();
  const a = await ctx.member({ groupId, topics: [topic], label: 'member A', ...hooks('member A') });
  await ctx.waitFor(() => a.consumer.assignment().length === partitions, `member A to own all ${partitions} partitions`, ctx.rebalanceWaitMs);
  const b = await ctx.member({ groupId, topics: [topic], label: 'member B', ...hooks('member B') });
  await ctx.waitForSplit([a, b], topic, partitions);
  return [a, b];
}

/**
 * Hooks of a member that commits only in onRevoked: the offsets after what
 * it processed, for the partitions it gives up. Also used to see what it
 * committed.
 */
function commitOnRevoke(topic: string): { hooks: (label: string) => MemberHooks; committedAtRevoke: Map<string, TopicPartition[]> } {
  const processed = new Map<string, Map<number, number>>();
  const committedAtRevoke = new Map<string, TopicPartition[]>();
  const hooks = (label: string): MemberHooks => {
    const mine = new Map<number, number>();
    processed.set(label, mine);
    return {
      onBatch: (batch: RecordBatch) => {
        mine.set(batch.partition, batch.messages.at(-1)!.offset + 1);
      },
      onRevoked: async (partitions: readonly TopicPartition[], consumer: GroupConsumer) => {
        const offsets = partitions
          .filter((tp) => tp.topic === topic && mine.has(tp.partition))
          .map((tp) => ({ topic, partition: tp.partition, offset: mine.get(tp.partition)! }));
        committedAtRevoke.set(label, [...(committedAtRevoke.get(label) ?? []), ...offsets]);
        if (offsets.length > 0) await consumer.commit(offsets);
      },
    };
  };
  return { hooks, committedAtRevoke };
}

function partitionsOf(m: Member, topic: string): number[] {
  return m.consumer
    .assignment()
    .filter((tp) => tp.topic === topic)
    .map((tp) => tp.partition)
    .sort((x, y) => x - y);
}

export const groupTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'group-split',
    title: 'members of one group split the partitions; each record goes only to the member that owns its partition',
    requires: ['consumerGroups'],
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(4);
      const [a, b] = await twoMembers(ctx, topic, 4);
      const produced = await ctx.produce(topic, 40, { partition: (i) => i % 4 });
      await ctx.waitFor(() => a.recorder.distinctCount + b.recorder.distinctCount >= 40, 'all 40 records delivered');
      const ownerOf = new Map<number, Member>();
      for (const m of [a, b]) for (const p of partitionsOf(m, topic)) ownerOf.set(p, m);
      for (const p of produced) {
        const owner = ownerOf.get(p.partition)!;
        const other = owner === a ? b : a;
        expect({ record: `${p.partition}@${p.offset}`, owner: owner.recorder.deliveries({ topic, partition: p.partition }, p.offset) }).toEqual({
          record: `${p.partition}@${p.offset}`,
          owner: 1,
        });
        expect(other.recorder.deliveries({ topic, partition: p.partition }, p.offset)).toBe(0);
      }
      expect(a.recorder.distinctCount).toBeGreaterThan(0);
      expect(b.recorder.distinctCount).toBeGreaterThan(0);
    },
  }),

  defineTest({
    id: 'commit-unowned-ignored',
    title: 'a commit for a partition the member does not own is ignored without error',
    requires: ['consumerGroups'],
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const [a, b] = await twoMembers(ctx, topic, 2);
      const produced = await ctx.produce(topic, 6, { partition: (i) => i % 2 });
      await ctx.waitFor(() => a.recorder.distinctCount + b.recorder.distinctCount >= 6, 'all records delivered');
      const mine = partitionsOf(a, topic)[0]!;
      const theirs = partitionsOf(b, topic)[0]!;
      const ends = endOffsets(produced);
      await expect(a.consumer.commit([{ topic, partition: theirs, offset: ends.get(theirs)! }])).resolves.toBeUndefined();
      await a.consumer.commit([{ topic, partition: mine, offset: ends.get(mine)! }]);
      const groupId = a.consumer.groupId;
      expect([...(await ctx.committed(groupId, topic))]).toEqual([[mine, ends.get(mine)!]]);
    },
  }),

  defineTest({
    id: 'commit-on-revocation',
    title: 'when a second member joins, the first commits in onRevoked: nothing is lost and nothing processed twice',
    requires: ['consumerGroups'],
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(4);
      const groupId = ctx.group();
      const { hooks, committedAtRevoke } = commitOnRevoke(topic);
      const first = await ctx.produce(topic, 200, { partition: (i) => i % 4, value: (i) => `first-${i}` });
      const a = await ctx.member({ groupId, topics: [topic], label: 'member A', ...hooks('member A') });
      await a.recorder.waitForDistinct(200, { timeoutMs: ctx.rebalanceWaitMs });
      const b = await ctx.member({ groupId, topics: [topic], label: 'member B', ...hooks('member B') });
      await ctx.waitForSplit([a, b], topic, 4);

      const moved = partitionsOf(b, topic);
      const ends = endOffsets(first);
      expect(a.recorder.events.some((e) => e.kind === 'revoked')).toBe(true);
      const committedByA = new Map((committedAtRevoke.get('member A') ?? []).map((tp) => [tp.partition, tp]));
      for (const p of moved) expect({ partition: p, committedInOnRevoked: committedByA.has(p) }).toEqual({ partition: p, committedInOnRevoked: true });
      const committed = await ctx.committed(groupId, topic);
      for (const p of moved) expect({ partition: p, committed: committed.get(p) }).toEqual({ partition: p, committed: ends.get(p) });

      const second = await ctx.produce(topic, 200, { partition: (i) => i % 4, value: (i) => `second-${i}` });
      const all = [...first, ...second];
      await ctx.waitFor(
        () => [...deliveryCounts(all, [a, b]).values()].every((n) => n > 0),
        'every record of both waves to be delivered',
        ctx.rebalanceWaitMs,
      );
      expect(notExactlyOnce(deliveryCounts(all, [a, b]))).toEqual([]);
      for (const p of moved) {
        const firstOfSecondWave = second.find((s) => s.partition === p)!.offset;
        expect({ partition: p, firstDeliveredToB: b.recorder.offsetsOf({ topic, partition: p })[0] }).toEqual({ partition: p, firstDeliveredToB: firstOfSecondWave });
      }
    },
  }),

  defineTest({
    id: 'revocation-signal',
    title:
      "a batch's signal aborts when its partition's revocation starts — while the batch is in flight, before onRevoked; the batches of one assignment share one signal",
    requires: ['consumerGroups'],
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const groupId = ctx.group();
      const produced = await ctx.produce(topic, 8, { partition: (i) => i % 2 });
      // Member A lets the first batch of each partition pass, then holds the
      // second until its signal aborts (or the test ends): a slow handler
      // that honours the signal.
      const release = deferred();
      const signals = new Map<number, (AbortSignal | undefined)[]>();
      const aborts: { partition: number; inFlight: boolean; revokedBefore: boolean; code: string }[] = [];
      let a: Member | undefined;
      const revokedFromA = (partition: number): boolean =>
        a?.recorder.events.some((e) => e.kind === 'revoked' && e.partitions.some((tp) => tp.topic === topic && tp.partition === partition)) ?? false;
      try {
        a = await ctx.member({
          groupId,
          topics: [topic],
          label: 'member A',
          maxBatchRecords: 2,
          onBatch: async (batch) => {
            const seen = signals.get(batch.partition) ?? [];
            signals.set(batch.partition, [...seen, batch.signal]);
            const signal = batch.signal;
            if (seen.length === 0 || signal === undefined) return;
            if (seen.length === 1) {
              signal.addEventListener(
                'abort',
                () =>
                  aborts.push({
                    partition: batch.partition,
                    inFlight: a?.recorder.inFlight(batch) ?? false,
                    revokedBefore: revokedFromA(batch.partition),
                    code: codeOf(signal.reason),
                  }),
                { once: true },
              );
            }
            await Promise.race([release.promise, whenAborted(signal)]);
          },
        });
        const memberA = a;
        await ctx.waitFor(() => memberA.consumer.assignment().length === 2, 'member A to own both partitions', ctx.rebalanceWaitMs);
        await ctx.waitFor(
          () => [0, 1].every((p) => (signals.get(p)?.length ?? 0) >= 2 && memberA.recorder.inFlight({ topic, partition: p })),
          'member A to hold the second batch of each partition in flight',
        );
        for (const p of [0, 1]) {
          const [first, second] = signals.get(p)!;
          expect({ partition: p, hasSignal: first !== undefined, sameSignal: first === second, aborted: first?.aborted }).toEqual({
            partition: p,
            hasSignal: true,
            sameSignal: true,
            aborted: false,
          });
        }

        const b = await ctx.member({ groupId, topics: [topic], label: 'member B' });
        await ctx.waitFor(() => aborts.length > 0, "the signal of the partition moving to member B to abort (member A's batch is held until then)", ctx.rebalanceWaitMs);
        await ctx.waitForSplit([memberA, b], topic, 2);
        const moved = partitionsOf(b, topic)[0]!;
        const kept = partitionsOf(memberA, topic)[0]!;
        expect(aborts.filter((x) => x.partition === moved)).toEqual([{ partition: moved, inFlight: true, revokedBefore: false, code: 'ERR_ABORTED' }]);
        expect(revokedFromA(moved)).toBe(true);
        // The kept partition's signal aborts only if the transport revoked it too (eager rebalancing).
        expect({ kept, aborted: signals.get(kept)![1]!.aborted }).toEqual({ kept, aborted: revokedFromA(kept) });
        // What A did not finish (nothing was committed) goes to B.
        const movedRecords = produced.filter((x) => x.partition === moved);
        await ctx.waitFor(
          () => movedRecords.every((x) => b.recorder.deliveries({ topic, partition: moved }, x.offset) > 0),
          `member B to receive every record of partition ${moved}`,
          ctx.rebalanceWaitMs,
        );
      } finally {
        release.resolve();
      }
    },
  }),

  defineTest({
    id: 'leave-rebalance',
    title: "a closed member's partitions move to the remaining member, which resumes at the offsets committed in onRevoked",
    requires: ['consumerGroups', 'rebalanceOnLeave'],
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(4);
      const { hooks, committedAtRevoke } = commitOnRevoke(topic);
      const [a, b] = await twoMembers(ctx, topic, 4, hooks);
      const first = await ctx.produce(topic, 100, { partition: (i) => i % 4, value: (i) => `first-${i}` });
      await ctx.waitFor(() => [...deliveryCounts(first, [a, b]).values()].every((n) => n > 0), 'the first wave to be delivered');
      const leaving = partitionsOf(b, topic);
      await withTimeout(b.consumer.close(), ctx.closeMs, 'member B close()');
      expect((committedAtRevoke.get('member B') ?? []).map((tp) => tp.partition).sort((x, y) => x - y)).toEqual(leaving);
      const ends = endOffsets(first);
      const committed = await ctx.committed(a.consumer.groupId, topic);
      for (const p of leaving) expect({ partition: p, committed: committed.get(p) }).toEqual({ partition: p, committed: ends.get(p) });

      await ctx.waitFor(() => partitionsOf(a, topic).length === 4, 'member A to take over every partition', ctx.rebalanceWaitMs);
      const second = await ctx.produce(topic, 100, { partition: (i) => i % 4, value: (i) => `second-${i}` });
      await ctx.waitFor(
        () => second.every((s) => a.recorder.deliveries({ topic, partition: s.partition }, s.offset) > 0),
        'member A to receive the second wave on every partition',
        ctx.rebalanceWaitMs,
      );
      expect(notExactlyOnce(deliveryCounts([...first, ...second], [a, b]))).toEqual([]);
    },
  }),

  defineTest({
    id: 'many-members',
    title: '5,000 records across 4 concurrent members of one group: every record delivered, per-partition order held',
    requires: ['consumerGroups'],
    timeoutMs: 240_000,
    run: async (ctx) => {
      const partitions = 8;
      const topic = await ctx.createTopic(partitions);
      const groupId = ctx.group();
      const members = await Promise.all(
        [1, 2, 3, 4].map((n) => ctx.member({ groupId, topics: [topic], label: `member ${n}`, onBatch: commitBatch })),
      );
      await ctx.waitForSplit(members, topic, partitions);
      const produced = await ctx.produce(topic, 5_000, { key: (i) => `key-${i % 97}`, value: (i) => `${i}`, perCall: 500 });
      await ctx.waitFor(
        () => [...deliveryCounts(produced, members).values()].every((n) => n > 0),
        'all 5,000 records to be delivered',
        ctx.rebalanceWaitMs,
      );
      const delivered = new Set(members.flatMap((m) => m.recorder.messages.map((x) => `${x.partition}@${x.offset}`)));
      expect(positions(produced).filter((p) => !delivered.has(p))).toEqual([]);
      for (const m of members) {
        assertNoViolations(`${m.label}: per-partition order`, orderViolationsPerPartition(m.recorder.messages, { allowRedelivery: true }));
        expect({ member: m.label, received: m.recorder.distinctCount > 0 }).toEqual({ member: m.label, received: true });
      }
    },
  }),
];
