/// <reference types="jest" />
/**
 * Lifecycle conformance: close is idempotent and safe to call concurrently,
 * waits for in-flight work (a partition consumer at most closeTimeoutMs),
 * the transport closes what it created, and a persistent transport keeps
 * records and commits across instances.
 */
import type { RecordBatch } from '@tributary/core';
import type { ConsumerRecorder } from '../consumer-recorder';
import { deferred } from '../deferred';
import { withTimeout } from '../wait';
import { defineTest, type ConformanceTest } from './catalog';
import { codeOf, codeOfFailure, whenAborted } from './context';
import { distinct } from './delivery-accounting';

export const lifecycleTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'concurrent-close',
    title: 'two close() calls at once resolve on every client; later calls reject with ERR_CLOSED',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      await ctx.produce(topic, 3, { partition: () => 0 });
      const producer = ctx.producer();
      await ctx.send([{ topic, value: 'from the producer under test' }], producer);
      const m = await ctx.member({ groupId: ctx.group(), topics: [topic] });
      await m.recorder.waitForDistinct(4, { timeoutMs: ctx.waitMs });
      const admin = ctx.track(ctx.transport.admin(), 'admin');
      await admin.listTopics();
      const pc = ctx.features.partitionConsumer ? ctx.partitionConsumer({ topic, partition: 0, from: 'earliest' }) : undefined;
      const pcRecorder = pc ? ctx.recorder({ label: 'partition consumer' }) : undefined;
      if (pc && pcRecorder) {
        await pc.run(pcRecorder.handlers);
        await pcRecorder.waitForDistinct(4, { timeoutMs: ctx.waitMs });
      }

      const closes = [producer.close(), producer.close(), m.consumer.close(), m.consumer.close(), admin.close(), admin.close()];
      if (pc) closes.push(pc.close(), pc.close());
      await withTimeout(Promise.all(closes), ctx.closeMs, 'concurrent close() calls');

      expect(await codeOfFailure(() => producer.send([{ topic, value: 'late' }]))).toBe('ERR_CLOSED');
      expect(await codeOfFailure(() => m.consumer.commit([{ ...tp, offset: 1 }]))).toBe('ERR_CLOSED');
      expect(await codeOfFailure(() => m.consumer.run(m.recorder.handlers))).toBe('ERR_CLOSED');
      expect(await codeOfFailure(() => admin.listTopics())).toBe('ERR_CLOSED');
      if (pc && pcRecorder) expect(await codeOfFailure(() => pc.run(pcRecorder.handlers))).toBe('ERR_CLOSED');
      // And closing again is still fine.
      await withTimeout(Promise.all([producer.close(), m.consumer.close(), admin.close(), pc?.close()]), ctx.closeMs, 'close() after close()');
    },
  }),

  defineTest({
    id: 'close-during-delivery',
    title: 'close() during delivery waits for the in-flight batch, then revokes, then resolves (both of two concurrent calls)',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      await ctx.produce(topic, 3, { partition: () => 0 });
      const gate = deferred();
      const log: string[] = [];
      const m = await ctx.member({
        groupId: ctx.group(),
        topics: [topic],
        onBatch: async () => {
          log.push('batch-start');
          await gate.promise;
          log.push('batch-end');
        },
        onRevoked: () => {
          log.push('revoked');
        },
      });
      await ctx.waitFor(() => log.includes('batch-start'), 'the first batch to be in flight');
      const first = m.consumer.close().then(() => log.push('close-1'));
      const second = m.consumer.close().then(() => log.push('close-2'));
      await ctx.yieldTurns();
      expect(log.filter((e) => e.startsWith('close'))).toEqual([]);
      gate.resolve();
      await withTimeout(Promise.all([first, second]), ctx.closeMs, 'close() during delivery');
      const lastBatchEnd = log.lastIndexOf('batch-end');
      expect(lastBatchEnd).toBeGreaterThanOrEqual(0);
      expect(log.indexOf('close-1')).toBeGreaterThan(lastBatchEnd);
      expect(log.indexOf('close-2')).toBeGreaterThan(lastBatchEnd);
      if (ctx.features.consumerGroups) {
        const revoked = log.indexOf('revoked');
        expect(revoked).toBeGreaterThan(lastBatchEnd);
        expect(revoked).toBeLessThan(log.indexOf('close-1'));
        expect(revoked).toBeLessThan(log.indexOf('close-2'));
      }
    },
  }),

  defineTest({
    id: 'close-aborts-signal',
    title: "close() aborts the in-flight batch's signal before waiting for the batch (and before onRevoked), for group and partition consumers",
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      await ctx.produce(topic, 3, { partition: () => 0 });
      const release = deferred();
      try {
        // A handler that holds its batch until the signal aborts (or the test ends).
        const holder = (log: string[]) => async (batch: RecordBatch) => {
          log.push('batch-start');
          if (batch.signal === undefined) {
            log.push('no signal');
            return;
          }
          const signal = batch.signal;
          signal.addEventListener('abort', () => log.push(`aborted ${codeOf(signal.reason)}`), { once: true });
          await Promise.race([release.promise, whenAborted(signal)]);
          log.push('batch-end');
        };
        const log: string[] = [];
        const m = await ctx.member({ groupId: ctx.group(), topics: [topic], onBatch: holder(log), onRevoked: () => void log.push('revoked') });
        await ctx.waitFor(() => log.includes('batch-start'), 'the first batch to be in flight');
        await withTimeout(m.consumer.close(), ctx.closeMs, 'close() with a batch in flight that honours its signal');
        log.push('closed');
        expect(log).toEqual(['batch-start', 'aborted ERR_ABORTED', 'batch-end', ...(ctx.features.consumerGroups ? ['revoked'] : []), 'closed']);

        if (ctx.features.partitionConsumer) {
          const pcLog: string[] = [];
          const pc = ctx.partitionConsumer({ topic, partition: 0, from: 'earliest' });
          await pc.run(ctx.recorder({ label: 'partition consumer', onBatch: holder(pcLog) }).handlers);
          await ctx.waitFor(() => pcLog.includes('batch-start'), 'the partition consumer\'s first batch to be in flight');
          await withTimeout(pc.close(), ctx.closeMs, 'partition consumer close() with a batch in flight that honours its signal');
          pcLog.push('closed');
          expect(pcLog).toEqual(['batch-start', 'aborted ERR_ABORTED', 'batch-end', 'closed']);
        }
      } finally {
        release.resolve();
      }
    },
  }),

  defineTest({
    id: 'partition-consumer-close-timeout',
    title: "a partition consumer's close() waits closeTimeoutMs for an onBatch that never settles, then resolves; what that onBatch does later is ignored",
    requires: ['partitionConsumer'],
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      await ctx.produce(topic, 3, { partition: () => 0 });
      // Short, so the test stays fast; a transport that ignores it (30 s default) misses the deadline below.
      const closeTimeoutMs = 1_000;
      const never = deferred();
      try {
        const log: string[] = [];
        const pc = ctx.partitionConsumer({ topic, partition: 0, from: 'earliest', closeTimeoutMs });
        const recorder = ctx.recorder({
          label: 'partition consumer',
          // Ignores its signal and settles only when the test settles it, after close().
          onBatch: async (batch) => {
            log.push('batch-start');
            batch.signal?.addEventListener('abort', () => log.push(`aborted ${codeOf(batch.signal?.reason)}`), { once: true });
            await never.promise;
          },
        });
        await pc.run(recorder.handlers);
        await ctx.waitFor(() => log.includes('batch-start'), "the partition consumer's first batch to be in flight");
        const started = Date.now();
        // closeTimeoutMs, then disconnecting (given the delivery budget): without a bound, close() never resolves.
        await withTimeout(pc.close(), closeTimeoutMs + ctx.waitMs, 'partition consumer close() with an onBatch that never settles');
        const waited = Date.now() - started;
        expect(log).toEqual(['batch-start', 'aborted ERR_ABORTED']);
        // It did wait for the batch first (timers may fire a millisecond early).
        expect(waited).toBeGreaterThanOrEqual(closeTimeoutMs - 20);

        // The abandoned onBatch fails late: no onError, no further batch, the consumer stays closed.
        never.reject(new Error('the abandoned onBatch failed after close()'));
        await ctx.yieldTurns();
        expect(recorder.errors.map((e) => `${e.code} ${e.message}`)).toEqual([]);
        expect(log).toEqual(['batch-start', 'aborted ERR_ABORTED']);
        expect(await codeOfFailure(() => pc.run(recorder.handlers))).toBe('ERR_CLOSED');
      } finally {
        never.resolve();
      }
    },
  }),

  defineTest({
    id: 'transport-close',
    title: 'transport.close() closes every producer, consumer and admin client it created',
    run: async (ctx) => {
      const other = await ctx.newTransport();
      const admin = other.admin();
      const topic = await ctx.createTopic(1, 'conformance', admin);
      const producer = other.producer();
      await ctx.send([{ topic, partition: 0, value: 'one' }], producer);
      const m = await ctx.member({ groupId: ctx.group(), topics: [topic], transport: other });
      await m.recorder.waitForDistinct(1, { timeoutMs: ctx.waitMs });
      let pc: { run: () => Promise<void> } | undefined;
      if (ctx.features.partitionConsumer) {
        const consumer = other.partitionConsumer({ topic, partition: 0, from: 'earliest' });
        const recorder: ConsumerRecorder = ctx.recorder({ label: 'partition consumer' });
        await consumer.run(recorder.handlers);
        await recorder.waitForDistinct(1, { timeoutMs: ctx.waitMs });
        pc = { run: () => consumer.run(recorder.handlers) };
      }

      await withTimeout(Promise.all([other.close(), other.close()]), ctx.closeMs, 'two concurrent transport.close() calls');

      expect(await codeOfFailure(() => producer.send([{ topic, value: 'late' }]))).toBe('ERR_CLOSED');
      expect(await codeOfFailure(() => m.consumer.commit([{ topic, partition: 0, offset: 1 }]))).toBe('ERR_CLOSED');
      expect(await codeOfFailure(() => admin.listTopics())).toBe('ERR_CLOSED');
      if (pc) expect(await codeOfFailure(() => pc.run())).toBe('ERR_CLOSED');
      if (ctx.features.consumerGroups) expect(m.recorder.events.some((e) => e.kind === 'revoked')).toBe(true);
    },
  }),

  defineTest({
    id: 'persistent',
    title: 'records and committed offsets survive into a new transport instance',
    requires: ['persistent'],
    timeoutMs: 180_000,
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const tp = { topic, partition: 0 };
      const groupId = ctx.group();
      const before = await ctx.newTransport();
      const produced = await ctx.produce(topic, 6, { partition: () => 0, producer: ctx.producer(before) });
      const a = await ctx.member({ groupId, topics: [topic], transport: before, label: 'member of the first instance' });
      await a.recorder.waitForDistinct(6, { timeoutMs: ctx.waitMs });
      await a.consumer.commit([{ ...tp, offset: produced[2]!.offset + 1 }]);
      await withTimeout(before.close(), ctx.closeMs, 'first transport close()');

      const after = await ctx.newTransport();
      const b = await ctx.member({ groupId, topics: [topic], transport: after, label: 'member of the second instance' });
      const fresh = await ctx.member({ groupId: ctx.group('fresh'), topics: [topic], transport: after, label: 'new group' });
      await b.recorder.waitForDistinct(3, { timeoutMs: ctx.rebalanceWaitMs });
      await fresh.recorder.waitForDistinct(6, { timeoutMs: ctx.rebalanceWaitMs });
      expect(distinct(b.recorder.messages).map((x) => x.offset)).toEqual(produced.slice(3).map((p) => p.offset));
      expect(distinct(fresh.recorder.messages).map((x) => x.offset)).toEqual(produced.map((p) => p.offset));
    },
  }),
];
