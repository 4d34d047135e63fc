/// <reference types="jest" />
/**
 * Admin conformance: create, list and delete topics; topic and committed
 * offsets.
 */
import { defineTest, type ConformanceTest } from './catalog';
import { codeOfFailure } from './context';

export const adminTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'admin-topics',
    title: 'admin creates, lists and deletes topics; creating an existing topic fails with ERR_TOPIC_EXISTS unless ifNotExists',
    run: async (ctx) => {
      const a = ctx.topicName('admin-a');
      const b = ctx.topicName('admin-b');
      await ctx.admin.createTopics([{ topic: a, partitions: 3 }, { topic: b }]);
      const listed = await ctx.admin.listTopics();
      expect(listed).toEqual(expect.arrayContaining([a, b]));
      const offsetsA = await ctx.admin.fetchTopicOffsets(a);
      expect(offsetsA.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
      expect(await ctx.admin.fetchTopicOffsets(b)).toHaveLength(1);

      expect(await codeOfFailure(() => ctx.admin.createTopics([{ topic: a, partitions: 3 }]))).toBe('ERR_TOPIC_EXISTS');
      await expect(ctx.admin.createTopics([{ topic: a, partitions: 3 }], { ifNotExists: true })).resolves.toBeUndefined();

      await ctx.admin.deleteTopics([b]);
      // Deletion may take a moment to show (Kafka propagates metadata).
      await ctx.waitFor(async () => !(await ctx.admin.listTopics()).includes(b), `${b} to disappear from listTopics`, ctx.waitMs, 100);
      await ctx.waitFor(
        async () => (await codeOfFailure(() => ctx.admin.fetchTopicOffsets(b))) === 'ERR_UNKNOWN_TOPIC',
        `fetchTopicOffsets(${b}) to fail with ERR_UNKNOWN_TOPIC`,
        ctx.waitMs,
        100,
      );
      expect((await ctx.admin.listTopics()).includes(a)).toBe(true);
    },
  }),

  defineTest({
    id: 'admin-offsets',
    title: 'admin fetches low/high offsets of every partition and the committed offsets of a group',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const empty = await ctx.admin.fetchTopicOffsets(topic);
      expect(empty.map((o) => o.partition).sort()).toEqual([0, 1]);
      for (const o of empty) expect(o.high).toBe(o.low);
      expect(await codeOfFailure(() => ctx.admin.fetchTopicOffsets(ctx.topicName('never-created')))).toBe('ERR_UNKNOWN_TOPIC');

      const produced = await ctx.produce(topic, 3, { partition: () => 0 });
      const offsets = new Map((await ctx.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]));
      expect(offsets.get(0)!.high).toBe(produced[2]!.offset + 1);
      expect(offsets.get(0)!.low).toBeLessThanOrEqual(produced[0]!.offset);
      expect(offsets.get(1)!.high).toBe(offsets.get(1)!.low);

      const groupId = ctx.group();
      expect(await ctx.admin.fetchCommittedOffsets(groupId, [topic])).toEqual([]);
      const m = await ctx.member({ groupId, topics: [topic] });
      await m.recorder.waitForDistinct(3, { timeoutMs: ctx.waitMs });
      await m.consumer.commit([{ topic, partition: 0, offset: produced[1]!.offset + 1 }]);
      // Partition 1 has no commit, so it is left out.
      const committed = await ctx.admin.fetchCommittedOffsets(groupId, [topic]);
      expect(committed.map(({ topic: t, partition, offset }) => ({ topic: t, partition, offset }))).toEqual([{ topic, partition: 0, offset: produced[1]!.offset + 1 }]);
      expect(await ctx.admin.fetchCommittedOffsets(ctx.group('unknown'), [topic])).toEqual([]);
    },
  }),
];
