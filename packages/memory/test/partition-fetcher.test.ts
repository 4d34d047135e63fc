import type { RecordBatch } from '@tributary/core';
import { PartitionFetcher, type FetcherHost } from '../src/partition-fetcher';
import { PartitionLog } from '../src/partition-log';
import { deferred, settle, waitFor } from './support/async';

class Host implements FetcherHost {
  readonly batches: RecordBatch[] = [];
  readonly failures: unknown[] = [];
  deleted = 0;
  handler: (batch: RecordBatch) => unknown = () => Promise.resolve();

  deliver(batch: RecordBatch): unknown {
    this.batches.push(batch);
    return this.handler(batch);
  }
  batchFailed(_f: PartitionFetcher, error: unknown): void {
    this.failures.push(error);
  }
  outOfRange(f: PartitionFetcher): number {
    return f.log.low;
  }
  logDeleted(): void {
    this.deleted++;
  }
}

function fill(log: PartitionLog, n: number): void {
  for (let i = 0; i < n; i++) log.append(null, null, 0, {});
  log.notify();
}

describe('PartitionFetcher', () => {
  it('delivers nothing before start, then batches of at most maxBatchRecords from the start position', async () => {
    const log = new PartitionLog('t', 0);
    fill(log, 7);
    const host = new Host();
    const fetcher = new PartitionFetcher(log, 3, host);
    await settle();
    expect(host.batches).toHaveLength(0);
    expect(fetcher.position).toBe(-1);
    fetcher.start(1);
    await waitFor(() => fetcher.position === 7, 'every record');
    expect(host.batches.map((b) => b.messages.map((m) => m.offset))).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(host.batches.map((b) => b.highWatermark)).toEqual([7, 7]);
  });

  it('does not deliver from inside notify (the producer call), only later', async () => {
    const log = new PartitionLog('t', 0);
    const host = new Host();
    const fetcher = new PartitionFetcher(log, 10, host);
    fetcher.start(0);
    await settle();
    fill(log, 1);
    expect(host.batches).toHaveLength(0);
    await settle();
    expect(host.batches).toHaveLength(1);
    fetcher.stop();
  });

  it('keeps delivering a synchronous handler without recursion, and yields to timers while busy', async () => {
    const log = new PartitionLog('t', 0);
    fill(log, 5000);
    const host = new Host();
    let delivered = 0;
    host.handler = () => void delivered++;
    let deliveredWhenTimerFired = -1;
    setTimeout(() => (deliveredWhenTimerFired = delivered), 1);
    const fetcher = new PartitionFetcher(log, 1, host);
    fetcher.start(0);
    await waitFor(() => delivered === 5000, 'all 5000 single-record batches');
    expect(deliveredWhenTimerFired).toBeGreaterThanOrEqual(0);
    expect(deliveredWhenTimerFired).toBeLessThan(5000);
  });

  it('stop() delivers nothing more; idle() waits for the batch in flight', async () => {
    const log = new PartitionLog('t', 0);
    fill(log, 2);
    const host = new Host();
    const gate = deferred();
    host.handler = () => gate.promise;
    const fetcher = new PartitionFetcher(log, 1, host);
    fetcher.start(0);
    await waitFor(() => fetcher.inFlight, 'a batch in flight');
    fetcher.stop();
    let idle = false;
    const waiting = fetcher.idle().then(() => (idle = true));
    await settle();
    expect(idle).toBe(false);
    gate.resolve();
    await waiting;
    await settle();
    expect(host.batches).toHaveLength(1);
    fetcher.start(0); // ignored once stopped
    fill(log, 1);
    await settle();
    expect(host.batches).toHaveLength(1);
  });

  it('stops and reports when the handler throws synchronously or rejects', async () => {
    for (const handler of [
      () => {
        throw new Error('sync');
      },
      () => Promise.reject(new Error('async')),
    ]) {
      const log = new PartitionLog('t', 0);
      fill(log, 3);
      const host = new Host();
      host.handler = handler;
      const fetcher = new PartitionFetcher(log, 1, host);
      fetcher.start(0);
      await waitFor(() => host.failures.length === 1, 'the failure');
      await settle();
      expect(host.batches).toHaveLength(1);
      expect(fetcher.stopped).toBe(true);
      expect(fetcher.inFlight).toBe(false);
    }
  });

  it('tells the host when the log is deleted', async () => {
    const log = new PartitionLog('t', 0);
    const host = new Host();
    new PartitionFetcher(log, 1, host).start(0);
    await settle();
    log.markDeleted();
    await waitFor(() => host.deleted === 1, 'the deletion');
  });
});
