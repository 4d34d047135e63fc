import { describe, expect, it } from '@jest/globals';
import { TributaryError, createBatchProducer, isTributaryError, type SendResult } from '@tributary/core';
import { partitionForKey as kafkaPartition } from '@tributary/core';
import { MockProducer } from '@tributary/testutil';

function codes(results: SendResult[]): (string | number)[] {
  return results.map((r) => (r.ok ? r.offset : r.error.code));
}

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'no error';
  } catch (err: unknown) {
    return isTributaryError(err) ? err.code : err;
  }
}

describe('MockProducer', () => {
  it('records every call and record, and acknowledges with per-partition offsets', async () => {
    const p = new MockProducer({ partitions: 3 });
    const first = await p.send([
      { topic: 't', key: 'a', value: '1' },
      { topic: 't', key: 'a', value: '2' },
      { topic: 't', value: '3', partition: 2 },
    ]);
    await p.send([{ topic: 'u', value: 'x' }]);
    expect(p.calls).toHaveLength(2);
    expect(p.records.map((r) => r.value)).toEqual(['1', '2', '3', 'x']);
    const pa = kafkaPartition('a', 3);
    expect(first).toEqual([
      { ok: true, topic: 't', partition: pa, offset: 0 },
      { ok: true, topic: 't', partition: pa, offset: 1 },
      { ok: true, topic: 't', partition: 2, offset: pa === 2 ? 2 : 0 },
    ]);
    expect(p.values('t')).toEqual(['1', '2', '3']);
    expect(p.messages('u')).toEqual([expect.objectContaining({ topic: 'u', partition: 0, offset: 0, key: null })]);
  });

  it('spreads records without key round-robin', async () => {
    const p = new MockProducer({ partitions: 2 });
    const results = await p.send([1, 2, 3, 4].map((i) => ({ topic: 't', value: `${i}` })));
    expect(results.map((r) => (r.ok ? r.partition : -1))).toEqual([0, 1, 0, 1]);
  });

  it('fails chosen records alone: failNext, failWhen, failRecord, unknown topics and partitions, size', async () => {
    const p = new MockProducer({
      topics: ['t'],
      maxRecordBytes: 10,
      failRecord: (r) => (r.key === 'rule' ? 'ERR_AUTHORIZATION' : undefined),
    });
    p.failNext(1).failWhen((r) => r.value === 'bad', new TributaryError('ERR_DEAD_LETTER', 'custom'));
    const results = await p.send([
      { topic: 't', value: 'first fails' },
      { topic: 't', value: 'ok' },
      { topic: 't', value: 'bad' },
      { topic: 't', key: 'rule', value: 'r' },
      { topic: 'nope', value: 'x' },
      { topic: 't', value: 'x', partition: 1 },
      { topic: 't', value: 'way too large for ten bytes' },
      { topic: 't', value: 'ok again' },
    ]);
    expect(codes(results)).toEqual(['ERR_PRODUCE', 0, 'ERR_DEAD_LETTER', 'ERR_AUTHORIZATION', 'ERR_UNKNOWN_TOPIC', 'ERR_UNKNOWN_TOPIC', 'ERR_RECORD_TOO_LARGE', 1]);
    expect(p.failures).toHaveLength(6);
    expect(p.produced.map((x) => x.record.value)).toEqual(['ok', 'ok again']);
    const failed = results[0]!;
    expect(!failed.ok && failed.error.context).toEqual({ topic: 't', key: null });
  });

  it('rejects a whole send when told to (call-level failure)', async () => {
    const p = new MockProducer().rejectNextSend();
    expect(await codeOf(p.send([{ topic: 't', value: 'x' }]))).toBe('ERR_CONNECTION');
    await expect(p.send([{ topic: 't', value: 'x' }])).resolves.toHaveLength(1);
  });

  it('holds acknowledgements: flush and close wait for them', async () => {
    const p = new MockProducer().holdAcks();
    const sent = p.send([{ topic: 't', value: 'x' }]);
    expect(p.pendingSends).toBe(1);
    let flushed = false;
    const flushing = p.flush().then(() => (flushed = true));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect([flushed, closed, p.closed]).toEqual([false, false, false]);
    p.releaseAcks();
    await Promise.all([flushing, closing]);
    expect([flushed, closed, p.closed]).toEqual([true, true, true]);
    await expect(sent).resolves.toEqual([{ ok: true, topic: 't', partition: 0, offset: 0 }]);
    expect(p.flushCalls).toBe(1);
  });

  it('closes idempotently; later calls reject with ERR_CLOSED', async () => {
    const p = new MockProducer();
    await p.connect();
    expect(p.connectCalls).toBe(1);
    await Promise.all([p.close(), p.close()]);
    expect(await codeOf(p.send([{ topic: 't', value: 'x' }]))).toBe('ERR_CLOSED');
    expect(await codeOf(p.connect())).toBe('ERR_CLOSED');
    await expect(p.close()).resolves.toBeUndefined();
  });

  it('clears what it recorded', async () => {
    const p = new MockProducer();
    await p.send([{ topic: 't', value: 'x' }]);
    p.clear();
    expect([p.calls.length, p.records.length, p.produced.length, p.failures.length]).toEqual([0, 0, 0, 0]);
    await expect(p.send([{ topic: 't', value: 'y' }])).resolves.toEqual([{ ok: true, topic: 't', partition: 0, offset: 1 }]);
  });

  it('works under core\'s batch producer (the README example)', async () => {
    const producer = new MockProducer({ partitions: 3 }).failWhen((r) => r.key === 'poison', 'ERR_PRODUCE');
    const batch = createBatchProducer(producer, { topic: 'orders' });
    void batch.add({ key: 'ok', value: '1' });
    void batch.add({ key: 'poison', value: '2' });
    const report = await batch.flush();
    expect(report.failed.map((f) => f.record.key)).toEqual(['poison']);
    expect(producer.values('orders')).toEqual(['1']);
    await batch.close();
  });
});
