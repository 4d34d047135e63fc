import { describe, expect, it } from '@jest/globals';
import { TributaryError, causeChain, isTributaryError, type RecordBatch, type TopicPartition } from '@tributary/core';
import { MockConsumer, buildBatch, buildMessages, deferred } from '@tributary/testutil';

async function codeOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return 'no error';
  } catch (err: unknown) {
    return isTributaryError(err) ? err.code : err;
  }
}

const tp0: TopicPartition = { topic: 't', partition: 0 };
const tp1: TopicPartition = { topic: 't', partition: 1 };

describe('MockConsumer', () => {
  it('assigns on run and on first delivery, and hands batches to onBatch', async () => {
    const log: string[] = [];
    const c = new MockConsumer({ groupId: 'g', topics: ['t'], partitions: [tp0] });
    await c.run({
      onBatch: async (b) => {
        log.push(`batch ${b.partition}@${b.messages[0]!.offset}`);
      },
      onAssigned: (ps) => {
        log.push(`assigned ${ps.map((p) => p.partition).join()}`);
      },
    });
    await c.deliver(buildBatch({ topic: 't', partition: 0, count: 2 }));
    await c.deliver(buildBatch({ topic: 't', partition: 1, offset: 4 }));
    expect(log).toEqual(['assigned 0', 'batch 0@0', 'assigned 1', 'batch 1@4']);
    expect(c.assignment()).toEqual([tp0, tp1]);
    expect(c.groupId).toBe('g');
    expect(c.running).toBe(true);
  });

  it('keeps deliveries of one partition sequential', async () => {
    const gate = deferred();
    const log: string[] = [];
    const c = new MockConsumer();
    await c.run({
      onBatch: async (b) => {
        log.push(`start ${b.messages[0]!.offset}`);
        if (b.messages[0]!.offset === 0) await gate.promise;
        log.push(`end ${b.messages[0]!.offset}`);
      },
    });
    const first = c.deliver(buildBatch({ topic: 't', offset: 0 }));
    const second = c.deliver(buildBatch({ topic: 't', offset: 1 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start 0']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
  });

  it('records commits and ignores those of partitions it does not own', async () => {
    const c = new MockConsumer({ partitions: [tp0] });
    await c.run({ onBatch: async () => undefined });
    await c.commit([
      { ...tp0, offset: 5 },
      { ...tp1, offset: 9 },
    ]);
    expect(c.commitCalls).toHaveLength(1);
    expect(c.committed(tp0)).toBe(5);
    expect(c.committed(tp1)).toBeUndefined();
    expect(c.committedOffsets()).toEqual([{ ...tp0, offset: 5 }]);
    c.failNextCommit();
    expect(await codeOf(() => c.commit([{ ...tp0, offset: 6 }]))).toBe('ERR_COMMIT');
    expect(c.committed(tp0)).toBe(5);
  });

  it('records pause, resume and seek, and refuses to deliver a paused partition', async () => {
    const c = new MockConsumer({ partitions: [tp0] });
    await c.run({ onBatch: async () => undefined });
    c.pause([tp0]);
    expect(c.isPaused(tp0)).toBe(true);
    expect(await codeOf(() => c.deliver(buildBatch({ topic: 't' })))).toBe('ERR_STATE');
    c.resume([tp0]);
    c.seek({ ...tp0, offset: 3 });
    expect([c.pauseCalls, c.resumeCalls, c.seeks]).toEqual([[[tp0]], [[tp0]], [{ ...tp0, offset: 3 }]]);
    await expect(c.deliver(buildBatch({ topic: 't' }))).resolves.toBeUndefined();
  });

  it('revokes after in-flight batches settle; commits in onRevoked still count', async () => {
    const gate = deferred();
    const log: string[] = [];
    const c = new MockConsumer();
    await c.run({
      onBatch: async () => {
        await gate.promise;
        log.push('batch done');
      },
      onRevoked: async (ps) => {
        log.push(`revoked ${ps.length}`);
        await c.commit([{ ...tp0, offset: 1 }]);
      },
    });
    const delivering = c.deliver(buildBatch({ topic: 't' }));
    await new Promise((resolve) => setImmediate(resolve));
    const revoking = c.revoke([tp0, tp1]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual([]);
    gate.resolve();
    await Promise.all([delivering, revoking]);
    expect(log).toEqual(['batch done', 'revoked 1']);
    expect(c.committed(tp0)).toBe(1);
    expect(c.assignment()).toEqual([]);
  });

  it('a rejected onBatch goes to onError, closes the consumer and rejects deliver', async () => {
    const boom = new Error('boom');
    const errors: TributaryError[] = [];
    const c = new MockConsumer();
    await c.run({ onBatch: () => Promise.reject(boom), onError: (e) => errors.push(e) });
    await expect(c.deliver(buildBatch({ topic: 't' }))).rejects.toBe(boom);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('ERR_HANDLER');
    expect(causeChain(errors[0])).toContain(boom);
    await c.close();
    expect(c.closed).toBe(true);
  });

  it('closes once: waits for in-flight work, revokes, then refuses calls with ERR_CLOSED', async () => {
    const log: string[] = [];
    const c = new MockConsumer({ partitions: [tp0] });
    await c.run({ onBatch: async () => undefined, onRevoked: (ps) => void log.push(`revoked ${ps.length}`) });
    await Promise.all([c.close(), c.close()]);
    expect(log).toEqual(['revoked 1']);
    expect(await codeOf(() => c.commit([]))).toBe('ERR_CLOSED');
    expect(await codeOf(() => c.deliver(buildBatch()))).toBe('ERR_CLOSED');
    expect(await codeOf(() => c.run({ onBatch: async () => undefined }))).toBe('ERR_CLOSED');
    expect(await codeOf(() => c.pause([tp0]))).toBe('ERR_CLOSED');
  });

  it('delivers messages as one batch per partition and reports errors', async () => {
    const batches: RecordBatch[] = [];
    const errors: TributaryError[] = [];
    const c = new MockConsumer();
    expect(await codeOf(() => c.deliver(buildBatch()))).toBe('ERR_STATE');
    await c.run({ onBatch: async (b) => void batches.push(b), onError: (e) => errors.push(e) });
    expect(await codeOf(() => c.run({ onBatch: async () => undefined }))).toBe('ERR_STATE');
    await c.deliverMessages(buildMessages(4, (i) => ({ topic: 't', partition: i % 2 })));
    expect(batches.map((b) => [b.partition, b.messages.map((m) => m.offset)])).toEqual([
      [0, [0, 2]],
      [1, [1, 3]],
    ]);
    c.reportError(new TributaryError('ERR_CONNECTION', 'blip'));
    expect(errors.map((e) => e.code)).toEqual(['ERR_CONNECTION']);
  });
});
