import { AsyncLocalStorage } from 'node:async_hooks';
import { type ProducerRecord } from '@tributary/core';
import { buildRecord, deferred, waitFor, type Deferred } from '@tributary/testutil';
import { Dispatcher } from '../../src/producer/dispatcher';
import type { ProducerDispatchMode } from '../../src/producer/producer-config';
import type { ProduceResult } from '../../src/producer/produce-result';

interface Sent {
  readonly record: ProducerRecord;
  readonly gate: Deferred<ProduceResult>;
}

function dispatcher(mode: ProducerDispatchMode, workers: number, queueSize: number): { d: Dispatcher; sent: Sent[]; running: () => number } {
  const sent: Sent[] = [];
  let running = 0;
  const d = new Dispatcher(mode, workers, queueSize, async (record) => {
    const gate = deferred<ProduceResult>();
    sent.push({ record, gate });
    running++;
    try {
      return await gate.promise;
    } finally {
      running--;
    }
  });
  return { d, sent, running: () => running };
}

const ok = (offset: number): ProduceResult => ({ topic: 't', partition: 0, offset });
const value = (s: Sent): string => String(s.record.value);

describe('Dispatcher', () => {
  it('serial: one record at a time, in call order', async () => {
    const { d, sent, running } = dispatcher('serial', 8, 10);
    const outcomes = await Promise.all([1, 2, 3].map((i) => d.enqueue(buildRecord({ value: `v${i}`, key: `k${i}` }), undefined)));
    await waitFor(() => sent.length === 1);
    expect(running()).toBe(1);
    for (let i = 0; i < 3; i++) {
      await waitFor(() => sent.length === i + 1);
      sent[i]?.gate.resolve(ok(i));
    }
    await expect(Promise.all(outcomes.map((o) => o.outcome))).resolves.toEqual([ok(0), ok(1), ok(2)]);
    expect(sent.map(value)).toEqual(['v1', 'v2', 'v3']);
  });

  it('key-sharded: records of one key one at a time in call order, different keys concurrently', async () => {
    const { d, sent } = dispatcher('key-sharded', 16, 10);
    // 'a' and 'b' hash to different workers of 16 (checked below by concurrency).
    await d.enqueue(buildRecord({ key: 'a', value: 'a1' }), undefined);
    await d.enqueue(buildRecord({ key: 'a', value: 'a2' }), undefined);
    await d.enqueue(buildRecord({ key: 'b', value: 'b1' }), undefined);
    await waitFor(() => sent.length === 2);
    expect(sent.map(value).sort()).toEqual(['a1', 'b1']);
    sent.find((s) => value(s) === 'a1')?.gate.resolve(ok(0));
    await waitFor(() => sent.length === 3);
    expect(value(sent[2] as Sent)).toBe('a2');
    for (const s of sent) s.gate.resolve(ok(1));
    await d.idle();
  });

  it('parallel: round-robin over the workers, no ordering', async () => {
    const { d, sent, running } = dispatcher('parallel', 3, 10);
    for (let i = 0; i < 6; i++) await d.enqueue(buildRecord({ key: 'same', value: `v${i}` }), undefined);
    await waitFor(() => running() === 3);
    for (const s of sent) s.gate.resolve(ok(0));
    await waitFor(() => sent.length === 6);
    for (const s of sent) s.gate.resolve(ok(0));
    await d.idle();
  });

  it('a full queue makes callers wait, in call order, and an abort while waiting rejects only that caller', async () => {
    const { d, sent } = dispatcher('serial', 1, 2);
    await d.enqueue(buildRecord({ value: 'v0' }), undefined);
    await waitFor(() => sent.length === 1);
    await d.enqueue(buildRecord({ value: 'v1' }), undefined);
    await d.enqueue(buildRecord({ value: 'v2' }), undefined);
    // Queue full (v1, v2 queued; v0 sending): the next callers wait.
    let queued3 = false;
    const third = d.enqueue(buildRecord({ value: 'v3' }), undefined).then((r) => ((queued3 = true), r));
    const abort = new AbortController();
    const aborted = d.enqueue(buildRecord({ value: 'vX' }), abort.signal);
    const fifth = d.enqueue(buildRecord({ value: 'v4' }), undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queued3).toBe(false);
    expect(d.pending).toBe(6);
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(d.pending).toBe(5);
    for (let i = 0; i < 5; i++) {
      await waitFor(() => sent.length === i + 1);
      sent[i]?.gate.resolve(ok(i));
    }
    await third;
    await fifth;
    await d.idle();
    expect(sent.map(value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('abandon fails everything not yet sending', async () => {
    const { d, sent } = dispatcher('serial', 1, 1);
    const first = await d.enqueue(buildRecord({ value: 'v0' }), undefined);
    await waitFor(() => sent.length === 1);
    const second = await d.enqueue(buildRecord({ value: 'v1' }), undefined);
    const third = d.enqueue(buildRecord({ value: 'v2' }), undefined);
    const error = new Error('closing') as never;
    d.abandon(error);
    await expect(second.outcome).rejects.toBe(error);
    await expect((await third).outcome).rejects.toBe(error);
    sent[0]?.gate.resolve(ok(0));
    await expect(first.outcome).resolves.toEqual(ok(0));
    await d.idle();
    expect(sent).toHaveLength(1);
  });
  it('sends each record in the async context of its enqueue call, not of the call that woke the worker', async () => {
    // OpenTelemetry's context manager is an AsyncLocalStorage: this is what makes a `send` span the child of the caller's span.
    const storage = new AsyncLocalStorage<string>();
    const contexts: (string | undefined)[] = [];
    const gate = deferred<void>();
    const d = new Dispatcher('serial', 1, 10, async (record) => {
      contexts.push(storage.getStore());
      if (record.value === 'a') await gate.promise; // the worker stays busy with a while b queues behind it
      return ok(contexts.length);
    });
    const a = await storage.run('caller a', () => d.enqueue(buildRecord({ value: 'a' }), undefined));
    const b = await storage.run('caller b', () => d.enqueue(buildRecord({ value: 'b' }), undefined));
    const c = await d.enqueue(buildRecord({ value: 'c' }), undefined);
    gate.resolve();
    await Promise.all([a.outcome, b.outcome, c.outcome]);
    expect(contexts).toEqual(['caller a', 'caller b', undefined]);
  });
});
