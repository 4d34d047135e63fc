/// <reference types="jest" />
/**
 * Partition consumer conformance: start at an offset, the earliest or the
 * latest record; seek; pause and resume; position().
 */
import type { PartitionConsumer, PartitionConsumerOptions } from '@tributary/core';
import type { ConsumerRecorder } from '../consumer-recorder';
import { defineTest, type ConformanceTest } from './catalog';
import type { ConformanceContext } from './context';
import { distinct } from './delivery-accounting';

async function startReader(
  ctx: ConformanceContext,
  options: PartitionConsumerOptions,
  label: string,
): Promise<{ consumer: PartitionConsumer; recorder: ConsumerRecorder }> {
  const consumer = ctx.partitionConsumer(options);
  const recorder = ctx.recorder({ label });
  await consumer.run({ onBatch: recorder.handlers.onBatch, onError: recorder.handlers.onError });
  return { consumer, recorder };
}

export const partitionConsumerTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'partition-consumer-start',
    title: 'a partition consumer reads one partition from an offset, from the earliest or from the latest record',
    requires: ['partitionConsumer'],
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const tp = { topic, partition: 1 };
      await ctx.produce(topic, 3, { partition: () => 0, value: (i) => `other-partition-${i}` });
      const offs = (await ctx.produce(topic, 10, { partition: () => 1 })).map((p) => p.offset);

      const fromOffset = await startReader(ctx, { ...tp, from: offs[4]! }, 'from an offset');
      const fromEarliest = await startReader(ctx, { ...tp, from: 'earliest' }, 'from earliest');
      expect(fromOffset.consumer.topic).toBe(topic);
      expect(fromOffset.consumer.partition).toBe(1);
      await fromOffset.recorder.waitForDistinct(6, { timeoutMs: ctx.waitMs });
      await fromEarliest.recorder.waitForDistinct(10, { timeoutMs: ctx.waitMs });
      expect(distinct(fromOffset.recorder.messages).map((m) => `${m.partition}@${m.offset}`)).toEqual(offs.slice(4).map((o) => `1@${o}`));
      expect(distinct(fromEarliest.recorder.messages).map((m) => `${m.partition}@${m.offset}`)).toEqual(offs.map((o) => `1@${o}`));
      await ctx.waitFor(() => fromOffset.consumer.position() === offs[9]! + 1, `position() to reach ${offs[9]! + 1}`);

      const high = (await ctx.highWatermarks(topic)).get(1)!;
      const fromLatest = await startReader(ctx, { ...tp, from: 'latest' }, 'from latest');
      await ctx.waitFor(() => fromLatest.consumer.position() === high, `position() of a "latest" reader to be the high watermark ${high}`);
      const fresh = (await ctx.produce(topic, 3, { partition: () => 1, value: (i) => `fresh-${i}` })).map((p) => p.offset);
      await fromLatest.recorder.waitForDistinct(3, { timeoutMs: ctx.waitMs });
      expect(distinct(fromLatest.recorder.messages).map((m) => m.offset)).toEqual(fresh);
    },
  }),

  defineTest({
    id: 'partition-consumer-seek-pause',
    title: 'a partition consumer seeks, and delivers nothing while paused until resumed',
    requires: ['partitionConsumer'],
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      const offs = (await ctx.produce(topic, 10, { partition: () => 0 })).map((p) => p.offset);
      const reader = await startReader(ctx, { ...tp, from: 'earliest' }, 'reader');
      await reader.recorder.waitForDistinct(10, { timeoutMs: ctx.waitMs });

      const before = reader.recorder.batches.length;
      reader.consumer.seek(offs[6]!);
      await ctx.waitFor(() => reader.recorder.deliveries(tp, offs[9]!) > 1, 'the records after the seek again');
      expect(reader.recorder.batches.slice(before).flatMap((b) => b.messages.map((m) => m.offset))).toEqual(offs.slice(6));

      reader.consumer.pause();
      const control = await startReader(ctx, { ...tp, from: offs[9]! + 1 }, 'unpaused control reader');
      const fresh = (await ctx.produce(topic, 4, { partition: () => 0, value: (i) => `fresh-${i}` })).map((p) => p.offset);
      await control.recorder.waitForDistinct(4, { timeoutMs: ctx.waitMs });
      expect(fresh.filter((o) => reader.recorder.deliveries(tp, o) > 0)).toEqual([]);
      reader.consumer.resume();
      await ctx.waitFor(() => fresh.every((o) => reader.recorder.deliveries(tp, o) > 0), 'the held-back records after resume');
      await ctx.waitFor(() => reader.consumer.position() === fresh.at(-1)! + 1, 'position() after the last record');
    },
  }),
];
