/// <reference types="jest" />
/**
 * Consumer conformance: isolation, fan-out to groups, order, batch limits,
 * start position, seek, pause/resume and a failing batch.
 */
import { causeChain, isTributaryError } from '@tributary/core';
import { withTimeout } from '../wait';
import { defineTest, type ConformanceTest } from './catalog';
import { distinct, positions, text } from './delivery-accounting';

export const consumeTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'topics-isolated',
    title: 'topics are isolated: a consumer receives only the topics it subscribed to',
    run: async (ctx) => {
      const a = await ctx.createTopic(2, 'iso-a');
      const b = await ctx.createTopic(2, 'iso-b');
      await ctx.produce(b, 20, { value: (i) => `b-${i}` });
      await ctx.produce(a, 20, { value: (i) => `a-${i}` });
      const onlyA = await ctx.readAll([a], 20, 'reader of a');
      const onlyB = await ctx.readAll([b], 20, 'reader of b');
      const both = await ctx.readAll([a, b], 40, 'reader of a and b');
      expect(onlyA.recorder.messages.filter((m) => m.topic !== a || !text(m).startsWith('a-'))).toEqual([]);
      expect(onlyB.recorder.messages.filter((m) => m.topic !== b || !text(m).startsWith('b-'))).toEqual([]);
      expect(both.recorder.messages.filter((m) => !text(m).startsWith(m.topic === a ? 'a-' : 'b-'))).toEqual([]);
      expect(new Set(both.recorder.messages.map((m) => m.topic))).toEqual(new Set([a, b]));
    },
  }),

  defineTest({
    id: 'two-groups',
    title: 'two groups each receive every record',
    run: async (ctx) => {
      const topic = await ctx.createTopic(3);
      const produced = await ctx.produce(topic, 60);
      const g1 = await ctx.member({ groupId: ctx.group('g1'), topics: [topic], label: 'group 1' });
      const g2 = await ctx.member({ groupId: ctx.group('g2'), topics: [topic], label: 'group 2' });
      await g1.recorder.waitForDistinct(60, { timeoutMs: ctx.waitMs });
      await g2.recorder.waitForDistinct(60, { timeoutMs: ctx.waitMs });
      const valueAt = new Map(produced.map((p) => [`${p.partition}@${p.offset}`, p.value]));
      for (const g of [g1, g2]) {
        const got = distinct(g.recorder.messages);
        expect(positions(got)).toEqual(positions(produced));
        for (const m of got) expect(text(m)).toBe(valueAt.get(`${m.partition}@${m.offset}`));
      }
    },
  }),

  defineTest({
    id: 'per-key-order',
    title: 'records of one key arrive in the order they were sent (pipelined sends included)',
    run: async (ctx) => {
      const topic = await ctx.createTopic(4);
      const keys = 20;
      const perKey = 25;
      const produced = await ctx.produce(topic, keys * perKey, {
        key: (i) => `key-${i % keys}`,
        value: (i) => `key-${i % keys}:${Math.floor(i / keys)}`,
        perCall: 50,
      });
      const partitionsOfKey = new Map<string, Set<number>>();
      for (const p of produced) partitionsOfKey.set(p.key!, (partitionsOfKey.get(p.key!) ?? new Set()).add(p.partition));
      expect([...partitionsOfKey.values()].filter((s) => s.size !== 1)).toEqual([]);
      const { recorder } = await ctx.readAll([topic], keys * perKey);
      recorder.assertOrderPerKey({ sequenceOf: (m) => Number(text(m).split(':')[1]), allowRedelivery: true });
      recorder.assertOrderPerPartition({ allowRedelivery: true });
      const seqs = new Map<string, number[]>();
      for (const m of distinct(recorder.messages)) seqs.set(m.key!, [...(seqs.get(m.key!) ?? []), Number(text(m).split(':')[1])]);
      const expected = Array.from({ length: perKey }, (_, i) => i);
      for (let k = 0; k < keys; k++) expect({ key: `key-${k}`, seqs: seqs.get(`key-${k}`) }).toEqual({ key: `key-${k}`, seqs: expected });
    },
  }),

  defineTest({
    id: 'max-batch-records',
    title: 'batches hold at most maxBatchRecords records of one partition, in offset order',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      await ctx.produce(topic, 50, { partition: () => 0 });
      const m = await ctx.member({ groupId: ctx.group(), topics: [topic], maxBatchRecords: 7 });
      await m.recorder.waitForDistinct(50, { timeoutMs: ctx.waitMs });
      expect(Math.max(...m.recorder.batches.map((b) => b.messages.length))).toBeLessThanOrEqual(7);
      expect(m.recorder.batches.length).toBeGreaterThanOrEqual(8);
      m.recorder.assertOrderPerPartition();
    },
  }),

  defineTest({
    id: 'from-beginning-false',
    title: 'a new group with fromBeginning: false skips existing records and receives new ones',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      await ctx.produce(topic, 5, { partition: () => 0, value: (i) => `old-${i}` });
      const m = await ctx.member({ groupId: ctx.group(), topics: [topic], fromBeginning: false });
      // Where "latest" lands is fixed asynchronously (on Kafka at the first
      // fetch after assignment): send probes until one arrives.
      let probes = 0;
      let lastProbe = 0;
      await ctx.waitFor(async () => {
        if (m.recorder.messages.some((x) => text(x).startsWith('probe-'))) return true;
        if (Date.now() - lastProbe >= 250) {
          lastProbe = Date.now();
          probes += 1;
          await ctx.send([{ topic, partition: 0, value: `probe-${probes}` }]);
        }
        return false;
      }, 'a probe record to arrive at the member that started at the end', ctx.rebalanceWaitMs);
      const fresh = await ctx.produce(topic, 5, { partition: () => 0, value: (i) => `new-${i}` });
      await ctx.waitFor(
        () => fresh.every((p) => m.recorder.deliveries({ topic, partition: 0 }, p.offset) > 0),
        'the records sent after the start to arrive',
      );
      expect(m.recorder.messages.filter((x) => text(x).startsWith('old-')).map(text)).toEqual([]);
    },
  }),

  defineTest({
    id: 'seek',
    title: 'seek moves the next batch of a partition: forward from inside onBatch, back when idle',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      const offs = (await ctx.produce(topic, 10, { partition: () => 0 })).map((p) => p.offset);
      let batches = 0;
      let seekBatch = -1;
      const m = await ctx.member({
        groupId: ctx.group(),
        topics: [topic],
        maxBatchRecords: 2,
        onBatch: (batch, consumer) => {
          batches += 1;
          if (seekBatch < 0 && batch.messages.some((x) => x.offset === offs[0])) {
            seekBatch = batches - 1;
            consumer.seek({ ...tp, offset: offs[8]! });
          }
        },
      });
      await ctx.waitFor(() => m.recorder.deliveries(tp, offs[9]!) > 0, 'the last record after the forward seek');
      expect(m.recorder.batchesOf(tp)[seekBatch + 1]?.messages[0]?.offset).toBe(offs[8]);
      // Delivery is in offset order, so records skipped by the seek never come.
      expect(offs.slice(2, 8).filter((o) => m.recorder.deliveries(tp, o) > 0)).toEqual([]);

      const before = m.recorder.batchesOf(tp).length;
      m.consumer.seek({ ...tp, offset: offs[3]! });
      await ctx.waitFor(() => m.recorder.deliveries(tp, offs[9]!) > 1, 'the last record again after seeking back');
      const after = m.recorder.batchesOf(tp).slice(before).flatMap((b) => b.messages.map((x) => x.offset));
      expect(after).toEqual(offs.slice(3));
    },
  }),

  defineTest({
    id: 'nack-seek',
    title: 'nack by seeking back: a record not committed is delivered again from the sought offset',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      const offs = (await ctx.produce(topic, 6, { partition: () => 0 })).map((p) => p.offset);
      let batches = 0;
      let seekBatch = -1;
      const m = await ctx.member({
        groupId: ctx.group(),
        topics: [topic],
        maxBatchRecords: 3,
        onBatch: (batch, consumer) => {
          batches += 1;
          // Record 0 is processed, record 1 fails: go back to it.
          if (seekBatch < 0 && batch.messages.some((x) => x.offset === offs[1])) {
            seekBatch = batches - 1;
            consumer.seek({ ...tp, offset: offs[1]! });
          }
        },
      });
      await ctx.waitFor(
        () => m.recorder.deliveries(tp, offs[1]!) >= 2 && m.recorder.deliveries(tp, offs[5]!) >= 1 && seekBatch >= 0,
        'the nacked record to be delivered again and the rest after it',
      );
      const after = m.recorder.batchesOf(tp).slice(seekBatch + 1).flatMap((b) => b.messages.map((x) => x.offset));
      expect(after.slice(0, 5)).toEqual(offs.slice(1));
      expect(m.recorder.deliveries(tp, offs[0]!)).toBe(1);
    },
  }),

  defineTest({
    id: 'pause-resume',
    title: 'a paused partition receives nothing while others flow; resume delivers what it held back',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const p0 = { topic, partition: 0 };
      const p1 = { topic, partition: 1 };
      await ctx.produce(topic, 10, { partition: (i) => i % 2 });
      let paused = false;
      const whilePaused: string[] = [];
      const m = await ctx.member({
        groupId: ctx.group(),
        topics: [topic],
        onBatch: (batch) => {
          if (paused && batch.partition === 0) whilePaused.push(`batch at ${batch.messages[0]?.offset} delivered while paused`);
        },
      });
      await m.recorder.waitForDistinct(10, { timeoutMs: ctx.waitMs });
      m.consumer.pause([p0]);
      paused = true;
      const held = await ctx.produce(topic, 5, { partition: () => 0, value: (i) => `held-${i}` });
      const flowing = await ctx.produce(topic, 5, { partition: () => 1, value: (i) => `flowing-${i}` });
      await ctx.waitFor(() => flowing.every((p) => m.recorder.deliveries(p1, p.offset) > 0), 'records of the unpaused partition');
      expect(held.filter((p) => m.recorder.deliveries(p0, p.offset) > 0).map((p) => p.value)).toEqual([]);
      expect(whilePaused).toEqual([]);
      paused = false;
      m.consumer.resume([p0]);
      await ctx.waitFor(() => held.every((p) => m.recorder.deliveries(p0, p.offset) > 0), 'records of the resumed partition');
    },
  }),

  defineTest({
    id: 'batch-error',
    title: 'a rejected onBatch stops the member and reaches onError; nothing is committed and the records come again',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      const offs = (await ctx.produce(topic, 6, { partition: () => 0 })).map((p) => p.offset);
      const groupId = ctx.group();
      const boom = new Error('boom from onBatch');
      const a = await ctx.member({
        groupId,
        topics: [topic],
        maxBatchRecords: 2,
        label: 'failing member',
        onBatch: () => Promise.reject(boom),
      });
      await ctx.waitFor(() => a.recorder.errors.length > 0, 'onError to report the failed batch');
      const reported = a.recorder.errors[0]!;
      expect(isTributaryError(reported)).toBe(true);
      expect(causeChain(reported)).toContain(boom);
      await withTimeout(a.consumer.close(), ctx.closeMs, 'close() after a failed batch');
      expect(a.recorder.batches).toHaveLength(1);
      expect([...(await ctx.committed(groupId, topic))]).toEqual([]);
      const b = await ctx.member({ groupId, topics: [topic], label: 'next member' });
      await b.recorder.waitForDistinct(6, { timeoutMs: ctx.rebalanceWaitMs });
      expect(b.recorder.offsetsOf(tp)[0]).toBe(offs[0]);
    },
  }),
];
