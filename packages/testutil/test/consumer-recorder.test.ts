import { AssertionError } from 'node:assert';
import { describe, expect, it } from '@jest/globals';
import { TributaryError, type RecordBatch } from '@tributary/core';
import { ConsumerRecorder, buildBatch, buildMessage, deferred } from '@tributary/testutil';

const tp0 = { topic: 't', partition: 0 };

describe('ConsumerRecorder', () => {
  it('records batches, messages and deliveries per record', async () => {
    const r = new ConsumerRecorder();
    await r.handlers.onBatch(buildBatch({ topic: 't', count: 2 }));
    await r.handlers.onBatch(buildBatch({ topic: 't', offset: 1, count: 2 }));
    await r.handlers.onBatch(buildBatch({ topic: 't', partition: 1 }));
    expect(r.count).toBe(5);
    expect(r.distinctCount).toBe(4);
    expect(r.deliveries(tp0, 1)).toBe(2);
    expect(r.offsetsOf(tp0)).toEqual([0, 1, 1, 2]);
    expect(r.batchesOf(tp0)).toHaveLength(2);
    expect(r.messagesOf({ topic: 't', partition: 1 })).toHaveLength(1);
    expect(r.events.map((e) => e.kind)).toEqual(['batch', 'batch-end', 'batch', 'batch-end', 'batch', 'batch-end']);
    r.assertNoViolations();
  });

  it('runs the hooks and passes their outcome on', async () => {
    const r = new ConsumerRecorder({ onBatch: () => Promise.reject(new Error('fail')), label: 'm1' });
    await expect(r.handlers.onBatch(buildBatch())).rejects.toThrow('fail');
    expect(r.events.at(-1)).toEqual({ kind: 'batch-end', topic: 'test-topic', partition: 0, failed: true });
    expect(r.inFlight({ topic: 'test-topic', partition: 0 })).toBe(false);
    const errors: TributaryError[] = [];
    const r2 = new ConsumerRecorder({ onError: (e) => errors.push(e) });
    r2.handlers.onError(new TributaryError('ERR_CONNECTION', 'blip'));
    expect(r2.errors).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(r.label).toBe('m1');
  });

  it('flags malformed batches', async () => {
    const r = new ConsumerRecorder({ maxBatchRecords: 2, label: 'c' });
    const bad: RecordBatch[] = [
      { topic: 't', partition: 0, messages: [] },
      buildBatch({ topic: 't', count: 3 }),
      { topic: 't', partition: 0, messages: [buildMessage({ topic: 't', offset: 5 }), buildMessage({ topic: 't', offset: 5 })] },
      { topic: 't', partition: 0, messages: [buildMessage({ topic: 'u', offset: 6 })] },
      buildBatch({ topic: 't', offset: 9, highWatermark: 5 }),
    ];
    for (const b of bad) await r.handlers.onBatch(b);
    expect(r.violations).toEqual([
      'empty batch for t/0',
      'batch of 3 records for t/0 exceeds maxBatchRecords 2',
      'batch for t/0: offset 5 after 5',
      'batch for t/0 holds a message of u/0',
      'batch for t/0: highWatermark 5 below last offset 9 + 1',
    ]);
    expect(() => r.assertNoViolations()).toThrow(AssertionError);
  });

  it('flags a second batch of a partition while one is in flight, and a revocation during it', async () => {
    const gate = deferred();
    const r = new ConsumerRecorder({ onBatch: () => gate.promise });
    const first = r.handlers.onBatch(buildBatch({ topic: 't' }));
    const second = r.handlers.onBatch(buildBatch({ topic: 't', offset: 1 }));
    await r.handlers.onRevoked([tp0]);
    gate.resolve();
    await Promise.all([first, second]);
    expect(r.violations).toEqual(['batch for t/0 delivered while the previous one was in flight', 'onRevoked for t/0 while its batch was in flight']);
  });

  it('with checkAssignment, flags batches outside the announced assignment', async () => {
    const r = new ConsumerRecorder({ checkAssignment: true });
    await r.handlers.onBatch(buildBatch({ topic: 't' }));
    await r.handlers.onAssigned([tp0]);
    await r.handlers.onAssigned([tp0]);
    await r.handlers.onBatch(buildBatch({ topic: 't', offset: 1 }));
    expect(r.assignment()).toEqual([tp0]);
    await r.handlers.onRevoked([tp0]);
    await r.handlers.onRevoked([tp0]);
    await r.handlers.onBatch(buildBatch({ topic: 't', offset: 2 }));
    expect(r.violations).toEqual([
      'batch for t/0, which is not assigned (onAssigned not called, or revoked)',
      'onAssigned for t/0, which was already assigned',
      'onRevoked for t/0, which was not assigned',
      'batch for t/0, which is not assigned (onAssigned not called, or revoked)',
    ]);
    expect(r.events.filter((e) => e.kind === 'assigned' || e.kind === 'revoked')).toHaveLength(4);
  });

  it('without checkAssignment accepts batches of partition consumers', async () => {
    const r = new ConsumerRecorder();
    await r.handlers.onBatch(buildBatch({ topic: 't' }));
    expect(r.violations).toEqual([]);
  });

  it('asserts order and waits for counts', async () => {
    const r = new ConsumerRecorder();
    setImmediate(() => void r.handlers.onBatch(buildBatch({ topic: 't', messages: [{ key: 'a' }, { key: 'a' }] })));
    await expect(r.waitForCount(2)).resolves.toBe(2);
    await expect(r.waitForDistinct(2)).resolves.toBe(2);
    r.assertOrderPerKey();
    r.assertOrderPerPartition();
    await r.handlers.onBatch(buildBatch({ topic: 't', messages: [{ key: 'a' }] }));
    expect(() => r.assertOrderPerPartition()).toThrow(/per-partition order/);
    expect(() => r.assertOrderPerPartition({ allowRedelivery: true })).not.toThrow();
    await expect(r.waitForDistinct(5, { timeoutMs: 20 })).rejects.toThrow('consumer: distinct records delivered (expected at least 5)');
  });
});
