import type { Message, RecordBatch } from '@tributary/core';
import { deferred } from '@tributary/testutil';
import { FlowRegistry, PartitionFlow, type FlowHost } from '../src/partition-flow';

function message(offset: number, bytes = 1): Message {
  return { topic: 't', partition: 0, offset, key: null, value: new Uint8Array(bytes), timestamp: 0, headers: {} };
}

class FakeHost implements FlowHost {
  readonly batches: RecordBatch[] = [];
  readonly fetching: boolean[] = [];
  readonly failures: unknown[] = [];
  deliverable = true;
  result: () => Promise<void> = () => Promise.resolve();
  constructor(
    readonly maxBatchRecords = 3,
    readonly bufferRecordLimit = 10,
    readonly bufferByteLimit = 1_000_000,
  ) {}
  canDeliver(): boolean {
    return this.deliverable;
  }
  deliver(batch: RecordBatch): Promise<void> {
    this.batches.push(batch);
    return this.result();
  }
  batchFailed(_flow: PartitionFlow, error: unknown): void {
    this.failures.push(error);
  }
  setFetching(_flow: PartitionFlow, fetching: boolean): void {
    this.fetching.push(fetching);
  }
  highWatermark(): number {
    return 100;
  }
}

async function settle(flow: PartitionFlow): Promise<void> {
  for (let i = 0; i < 10; i++) await flow.idle();
}

describe('PartitionFlow', () => {
  it('delivers at most maxBatchRecords per batch, one batch at a time, in offset order', async () => {
    const host = new FakeHost(3);
    const gate = deferred<void>();
    host.result = () => gate.promise;
    const flow = new PartitionFlow('t', 0, host);
    flow.ready = true;
    for (let o = 0; o < 7; o++) flow.push(message(o));
    flow.afterPush();
    expect(host.batches.map((b) => b.messages.map((m) => m.offset))).toEqual([[0, 1, 2]]);
    expect(flow.inFlight).toBe(true);
    flow.pump();
    expect(host.batches).toHaveLength(1);
    gate.resolve();
    await settle(flow);
    expect(host.batches.map((b) => b.messages.map((m) => m.offset))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(host.batches[0]?.highWatermark).toBe(100);
    expect(flow.nextOffset).toBe(7);
  });

  it('holds batches until ready, while paused, and when the host cannot deliver', async () => {
    const host = new FakeHost();
    const flow = new PartitionFlow('t', 0, host);
    flow.push(message(0));
    flow.afterPush();
    expect(host.batches).toHaveLength(0);
    flow.ready = true;
    flow.pause();
    flow.pump();
    expect(host.batches).toHaveLength(0);
    expect(host.fetching).toEqual([false]);
    host.deliverable = false;
    flow.resume();
    expect(host.batches).toHaveLength(0);
    host.deliverable = true;
    flow.pump();
    expect(host.batches).toHaveLength(1);
    expect(host.fetching).toEqual([false, true]);
  });

  it('pauses fetching when the buffer is full and resumes once it drained to a batch', async () => {
    const host = new FakeHost(3, 6);
    const gate = deferred<void>();
    host.result = () => gate.promise;
    const flow = new PartitionFlow('t', 0, host);
    flow.ready = true;
    for (let o = 0; o < 9; o++) flow.push(message(o));
    flow.afterPush();
    // 3 in flight, 6 buffered: at the limit.
    expect(host.fetching).toEqual([false]);
    gate.resolve();
    await settle(flow);
    expect(host.fetching).toEqual([false, true]);
    expect(host.batches).toHaveLength(3);
  });

  it('a seek drops buffered records and records of consume calls that started before it took effect', () => {
    const host = new FakeHost(10);
    const flow = new PartitionFlow('t', 0, host);
    for (let o = 0; o < 5; o++) flow.push(message(o));
    flow.beginSeek(2);
    expect(flow.buffered).toBe(0);
    expect(flow.accepts(7)).toBe(false);
    flow.endSeek(8);
    expect(flow.accepts(7)).toBe(false);
    expect(flow.accepts(8)).toBe(true);
    // Seeking back: offsets below the previous ones are accepted again.
    flow.push(message(2));
    flow.push(message(2));
    flow.push(message(3));
    flow.ready = true;
    flow.pump();
    expect(host.batches.map((b) => b.messages.map((m) => m.offset))).toEqual([[2, 3]]);
  });

  it('after stop nothing is delivered and nothing accepted; idle() waits for the batch in flight', async () => {
    const host = new FakeHost();
    const gate = deferred<void>();
    host.result = () => gate.promise;
    const flow = new PartitionFlow('t', 0, host);
    flow.ready = true;
    for (let o = 0; o < 6; o++) flow.push(message(o));
    flow.afterPush();
    flow.stop();
    expect(flow.accepts(1_000)).toBe(false);
    let idle = false;
    const waiting = flow.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    gate.resolve();
    await waiting;
    await settle(flow);
    expect(host.batches).toHaveLength(1);
  });

  it('a rejected or throwing onBatch is reported to the host and stops that flow', async () => {
    const host = new FakeHost();
    const boom = new Error('boom');
    host.result = () => Promise.reject(boom);
    const flow = new PartitionFlow('t', 0, host);
    flow.ready = true;
    for (let o = 0; o < 6; o++) flow.push(message(o));
    flow.afterPush();
    await settle(flow);
    expect(host.failures).toEqual([boom]);
    // The host decides what follows (the consumers halt); the flow delivered no further batch on its own.
    expect(host.batches).toHaveLength(1);
  });
});

describe('FlowRegistry', () => {
  it('finds flows by topic and partition and lists them sorted', () => {
    const host = new FakeHost();
    const registry = new FlowRegistry();
    const flows = [new PartitionFlow('b', 1, host), new PartitionFlow('a', 10, host), new PartitionFlow('a', 2, host)];
    for (const f of flows) registry.set(f);
    expect(registry.get('a', 2)).toBe(flows[2]);
    expect(registry.get('a', 3)).toBeUndefined();
    expect(registry.all().map((f) => `${f.topic}/${f.partition}`)).toEqual(['a/2', 'a/10', 'b/1']);
    registry.delete(new PartitionFlow('a', 2, host));
    expect(registry.get('a', 2)).toBe(flows[2]);
    registry.delete(flows[2]!);
    expect(registry.all()).toHaveLength(2);
    registry.clear();
    expect(registry.all()).toEqual([]);
  });
});
