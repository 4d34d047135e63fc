import { AssertionError } from 'node:assert';
import { describe, expect, it } from '@jest/globals';
import { retry, silentLogger, type HandlerContext } from '@tributary/core';
import { MessageRecorder, buildMessage, buildMessages } from '@tributary/testutil';

const ctx = (attempt = 1): HandlerContext => ({
  signal: new AbortController().signal,
  attempt,
  groupId: 'g',
  logger: silentLogger,
  control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
});

describe('MessageRecorder', () => {
  it('records handled messages with their attempt, then runs onMessage', async () => {
    const seen: string[] = [];
    const r = new MessageRecorder({ onMessage: (m) => void seen.push(m.key ?? '') });
    await r.handler(buildMessage({ key: 'a', value: 'x' }), ctx());
    await r.handler(buildMessage({ key: 'b', value: null, offset: 1 }), ctx(2));
    expect(r.count).toBe(2);
    expect(r.values()).toEqual(['x', null]);
    expect(r.calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect(seen).toEqual(['a', 'b']);
  });

  it('fails the message when onMessage throws, after recording it', async () => {
    const r = new MessageRecorder({ onMessage: () => Promise.reject(new Error('nope')) });
    await expect(r.handler(buildMessage(), ctx())).rejects.toThrow('nope');
    expect(r.count).toBe(1);
  });

  it('records batches and returns what onBatch returns', async () => {
    const r = new MessageRecorder({ onBatch: (ms) => ms.map(() => retry()) });
    const outcome = await r.batchHandler(buildMessages(3), ctx());
    expect(outcome).toEqual([{ kind: 'retry' }, { kind: 'retry' }, { kind: 'retry' }]);
    expect(r.batches).toHaveLength(1);
    expect(r.count).toBe(3);
    expect(await new MessageRecorder().batchHandler(buildMessages(1), ctx())).toBeUndefined();
  });

  it('groups by key and partition and counts distinct records', () => {
    const r = new MessageRecorder();
    for (const m of buildMessages(4, (i) => ({ key: `k${i % 2}`, partition: i % 2 }))) r.record(m);
    r.record(buildMessage({ key: 'k0', partition: 0, offset: 0 }));
    expect([...r.byKey().keys()]).toEqual(['k0', 'k1']);
    expect(r.byKey().get('k0')!.map((m) => m.offset)).toEqual([0, 2, 0]);
    expect([...r.byPartition().keys()]).toEqual(['test-topic/0', 'test-topic/1']);
    expect(r.offsetsOf({ topic: 'test-topic', partition: 1 })).toEqual([1, 3]);
    expect(r.distinctCount()).toBe(4);
  });

  it('asserts order per key and per partition', () => {
    const r = new MessageRecorder();
    r.record(buildMessage({ key: 'a', offset: 2 }));
    r.record(buildMessage({ key: 'a', offset: 1 }));
    expect(() => r.assertOrderPerKey()).toThrow(AssertionError);
    expect(() => r.assertOrderPerPartition()).toThrow(/per-partition order: 1 violation/);
    r.clear();
    r.record(buildMessage({ key: 'a', offset: 1 }));
    r.record(buildMessage({ key: 'a', offset: 2 }));
    expect(() => r.assertOrderPerKey()).not.toThrow();
    expect(() => r.assertOrderPerPartition()).not.toThrow();
  });

  it('waits for a count', async () => {
    const r = new MessageRecorder();
    setImmediate(() => r.record(buildMessage()));
    await expect(r.waitForCount(1)).resolves.toBe(1);
    await expect(r.waitForCount(2, { timeoutMs: 20 })).rejects.toThrow('recorded messages (expected at least 2)');
  });
});
