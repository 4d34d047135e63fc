import { deferred, waitFor, type Deferred } from '@tributary/testutil';
import { CommitScheduler } from '../src/commit-scheduler';

describe('CommitScheduler', () => {
  it('coalesces requests within the interval into one commit', async () => {
    let commits = 0;
    const scheduler = new CommitScheduler(5, async () => {
      commits++;
      return true;
    });
    for (let i = 0; i < 100; i++) scheduler.request();
    await waitFor(() => commits === 1);
    scheduler.request();
    await waitFor(() => commits === 2);
    scheduler.close();
  });

  it('never overlaps commits: requests during a commit fold into one commit after it', async () => {
    const gates: Deferred<void>[] = [];
    let running = 0;
    let overlapped = false;
    const scheduler = new CommitScheduler(0, async () => {
      running++;
      if (running > 1) overlapped = true;
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      running--;
      return true;
    });
    scheduler.request();
    await waitFor(() => gates.length === 1);
    scheduler.request();
    scheduler.request();
    gates[0]?.resolve();
    await waitFor(() => gates.length === 2);
    gates[1]?.resolve();
    await waitFor(() => running === 0);
    expect(gates).toHaveLength(2);
    expect(overlapped).toBe(false);
    scheduler.close();
  });

  it('flush waits for the commit in flight, then commits once more; close stops requests', async () => {
    const order: string[] = [];
    const gate = deferred();
    let n = 0;
    const scheduler = new CommitScheduler(0, async () => {
      const id = ++n;
      order.push(`start ${id}`);
      if (id === 1) await gate.promise;
      order.push(`end ${id}`);
      return true;
    });
    scheduler.request();
    await waitFor(() => order.length === 1);
    const flushed = scheduler.flush();
    gate.resolve();
    await flushed;
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    scheduler.close();
    scheduler.request();
    await new Promise((resolve) => setImmediate(resolve));
    expect(n).toBe(2);
  });

  it('tries a failed commit again with growing delays, without a new request', async () => {
    const at: number[] = [];
    const scheduler = new CommitScheduler(0, async () => {
      at.push(Date.now());
      return at.length === 3;
    });
    scheduler.request();
    await waitFor(() => at.length === 3, { timeoutMs: 5_000 });
    const [first = 0, second = 0, third = 0] = at;
    expect(second - first).toBeGreaterThanOrEqual(95);
    expect(third - second).toBeGreaterThanOrEqual(195);
    // Succeeded: no further tries.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(at).toHaveLength(3);
    scheduler.close();
  });
});
