/// <reference types="jest" />
/**
 * Commit conformance: nothing is committed unless asked (no auto-commit, not
 * even on close), a commit is exactly the offset given, and a new member
 * resumes exactly there — so an unacknowledged record is never skipped.
 */
import { withTimeout } from '../wait';
import { defineTest, type ConformanceTest } from './catalog';
import type { Member, Produced } from './context';
import { commitBatch, deliveryCounts, distinct, endOffsets, notExactlyOnce, positions } from './delivery-accounting';

export const commitTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'uncommitted-redelivered',
    title: 'a member closed without committing commits nothing; the next member gets every record again',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      const offs = (await ctx.produce(topic, 8, { partition: () => 0 })).map((p) => p.offset);
      const groupId = ctx.group();
      const a = await ctx.member({ groupId, topics: [topic], label: 'member A' });
      await a.recorder.waitForDistinct(8, { timeoutMs: ctx.waitMs });
      await withTimeout(a.consumer.close(), ctx.closeMs, 'member A close()');
      expect([...(await ctx.committed(groupId, topic))]).toEqual([]);
      const b = await ctx.member({ groupId, topics: [topic], label: 'member B' });
      await b.recorder.waitForDistinct(8, { timeoutMs: ctx.rebalanceWaitMs });
      expect(distinct(b.recorder.messagesOf(tp)).map((m) => m.offset)).toEqual(offs);
    },
  }),

  defineTest({
    id: 'commit-holds-back',
    title: "an unacknowledged record holds back its partition's commit: committed offsets are exactly what was committed, and it is redelivered",
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const tp0 = { topic, partition: 0 };
      const tp1 = { topic, partition: 1 };
      const p0 = await ctx.produce(topic, 10, { partition: () => 0, value: (i) => `p0-${i}` });
      const p1 = await ctx.produce(topic, 10, { partition: () => 1, value: (i) => `p1-${i}` });
      const groupId = ctx.group();
      const a = await ctx.member({ groupId, topics: [topic], label: 'member A' });
      await a.recorder.waitForDistinct(20, { timeoutMs: ctx.waitMs });
      // Delivered is not committed.
      expect([...(await ctx.committed(groupId, topic))]).toEqual([]);
      // Every record was processed except p0's fourth: the contiguous
      // processed prefix of partition 0 ends at it, partition 1 is done.
      const unacked = p0[3]!.offset;
      const done1 = p1[9]!.offset + 1;
      await a.consumer.commit([
        { ...tp0, offset: unacked },
        { ...tp1, offset: done1 },
      ]);
      const expected = [
        [0, unacked],
        [1, done1],
      ];
      expect([...(await ctx.committed(groupId, topic))].sort()).toEqual(expected);
      await withTimeout(a.consumer.close(), ctx.closeMs, 'member A close()');
      // Still exactly that after close: no auto-commit of what was delivered.
      expect([...(await ctx.committed(groupId, topic))].sort()).toEqual(expected);

      const b = await ctx.member({ groupId, topics: [topic], label: 'member B' });
      await ctx.waitFor(
        () => p0.slice(3).every((p) => b.recorder.deliveries(tp0, p.offset) > 0),
        'member B to receive partition 0 from the unacknowledged record on',
        ctx.rebalanceWaitMs,
      );
      // A record sent now to partition 1 arrives after anything older would have.
      const [sentinel] = await ctx.produce(topic, 1, { partition: () => 1, value: () => 'sentinel' });
      await ctx.waitFor(() => b.recorder.deliveries(tp1, sentinel!.offset) > 0, 'the sentinel on partition 1');
      expect(b.recorder.offsetsOf(tp0)[0]).toBe(unacked);
      expect(distinct(b.recorder.messagesOf(tp0)).map((m) => m.offset)).toEqual(p0.slice(3).map((p) => p.offset));
      expect(b.recorder.offsetsOf(tp1)).toEqual([sentinel!.offset]);
    },
  }),

  defineTest({
    id: 'resume-from-commit',
    title: 'a member closed without committing its latest records: the next member resumes exactly at the last commit',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const groupId = ctx.group();
      const first = await ctx.produce(topic, 10, { partition: (i) => i % 2, value: (i) => `first-${i}` });
      const a = await ctx.member({ groupId, topics: [topic], label: 'member A' });
      await a.recorder.waitForDistinct(10, { timeoutMs: ctx.waitMs });
      await a.consumer.commit([...endOffsets(first)].map(([partition, offset]) => ({ topic, partition, offset })));
      const second = await ctx.produce(topic, 10, { partition: (i) => i % 2, value: (i) => `second-${i}` });
      await a.recorder.waitForDistinct(20, { timeoutMs: ctx.waitMs });
      await withTimeout(a.consumer.close(), ctx.closeMs, 'member A close()');
      expect([...(await ctx.committed(groupId, topic))].sort()).toEqual([...endOffsets(first)].sort());

      const b = await ctx.member({ groupId, topics: [topic], label: 'member B' });
      await ctx.waitFor(
        () => second.every((p) => b.recorder.deliveries({ topic, partition: p.partition }, p.offset) > 0),
        'member B to receive the uncommitted records',
        ctx.rebalanceWaitMs,
      );
      // In-order delivery per partition: anything before the commit would have come first.
      expect(positions(distinct(b.recorder.messages))).toEqual(positions(second));
    },
  }),

  defineTest({
    id: 'close-reopen',
    title: 'closing and reopening members repeatedly loses nothing and, with a commit per batch, repeats nothing',
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const groupId = ctx.group();
      const produced: Produced[] = [];
      const members: Member[] = [];
      for (let cycle = 0; cycle < 5; cycle++) {
        produced.push(...(await ctx.produce(topic, 30, { partition: (i) => i % 2, value: (i) => `c${cycle}-${i}` })));
        const m = await ctx.member({ groupId, topics: [topic], label: `cycle ${cycle}`, onBatch: commitBatch });
        members.push(m);
        await ctx.waitFor(() => m.recorder.distinctCount >= 10, `cycle ${cycle}: the member to make progress`, ctx.rebalanceWaitMs);
        await withTimeout(m.consumer.close(), ctx.closeMs, `cycle ${cycle}: close()`);
      }
      const last = await ctx.member({ groupId, topics: [topic], label: 'final member', onBatch: commitBatch });
      members.push(last);
      await ctx.waitFor(
        () => [...deliveryCounts(produced, members).values()].every((n) => n > 0),
        'every record to be delivered to some member',
        ctx.rebalanceWaitMs,
      );
      expect(notExactlyOnce(deliveryCounts(produced, members))).toEqual([]);
      for (const m of members) m.recorder.assertOrderPerPartition();
    },
  }),
];
