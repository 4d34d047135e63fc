import { describe, expect, it } from '@jest/globals';
import { isTributaryError } from '@tributary/core';
import { WaitTimeoutError, waitFor, waitForAssertion, waitForCount, waitForValue, withTimeout } from '@tributary/testutil';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err: unknown) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('waitFor', () => {
  it('resolves with the first truthy value of a sync condition', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? `done after ${n}` : false), { intervalMs: 1 })).resolves.toBe('done after 3');
  });

  it('resolves with an async condition', async () => {
    let n = 0;
    await expect(waitFor(async () => ++n === 2, { intervalMs: 1 })).resolves.toBe(true);
  });

  it('checks at once: a condition that already holds costs no interval', async () => {
    const started = Date.now();
    await waitFor(() => true, { intervalMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('rejects with ERR_TIMEOUT naming the message and the last observed value', async () => {
    let n = 0;
    const err = await rejection(waitFor(() => (++n, { seen: n, ready: false }.ready), { timeoutMs: 30, intervalMs: 1, message: 'the thing' }));
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(isTributaryError(err) && err.code).toBe('ERR_TIMEOUT');
    const e = err as WaitTimeoutError;
    expect(e.message).toMatch(/^the thing: not met within 30 ms \(\d+ checks\); last observed: false$/);
    expect(e.checks).toBeGreaterThan(1);
    expect(e.lastObserved).toBe(false);
  });

  it('treats a throwing condition as not yet, and reports its last error as cause', async () => {
    const boom = new Error('not ready yet');
    const err = (await rejection(
      waitFor(
        () => {
          throw boom;
        },
        { timeoutMs: 20, intervalMs: 1 },
      ),
    )) as WaitTimeoutError;
    expect(err.lastObserved).toBe(boom);
    expect(err.cause).toBe(boom);
    expect(err.message).toContain('not ready yet');
  });

  it('bounds a condition that never settles by the deadline', async () => {
    const err = (await rejection(waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 30 }))) as WaitTimeoutError;
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.message).toContain('still pending');
  });

  it('stops with ERR_ABORTED when the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = waitFor(() => false, { timeoutMs: 10_000, intervalMs: 1_000, signal: controller.signal });
    controller.abort(new Error('test over'));
    const err = await rejection(waiting);
    expect(isTributaryError(err) && err.code).toBe('ERR_ABORTED');
  });

  it('rejects invalid timings with ERR_CONFIG', async () => {
    const err = await rejection(waitFor(() => true, { timeoutMs: -1 }));
    expect(isTributaryError(err) && err.code).toBe('ERR_CONFIG');
  });
});

describe('waitForValue', () => {
  it('resolves with the value once the predicate holds', async () => {
    let n = 0;
    await expect(waitForValue(() => ++n, (v) => v === 4, { intervalMs: 1 })).resolves.toBe(4);
  });

  it('shows the last value read when it times out', async () => {
    const err = (await rejection(waitForValue(() => ({ lag: 7 }), (v) => v.lag === 0, { timeoutMs: 20, intervalMs: 1, message: 'lag to drain' }))) as WaitTimeoutError;
    expect(err.message).toContain('lag to drain');
    expect(err.message).toContain('{ lag: 7 }');
  });
});

describe('waitForCount', () => {
  it('accepts numbers, arrays and async counts, resolving with the count seen', async () => {
    const items: number[] = [];
    const timer = setInterval(() => items.push(items.length), 1);
    try {
      await expect(waitForCount(() => items, 3, { intervalMs: 1 })).resolves.toBeGreaterThanOrEqual(3);
      await expect(waitForCount(async () => items.length, 5, { intervalMs: 1 })).resolves.toBeGreaterThanOrEqual(5);
    } finally {
      clearInterval(timer);
    }
  });

  it('says what count it expected and what it saw', async () => {
    const err = (await rejection(waitForCount(() => 2, 5, { timeoutMs: 20, intervalMs: 1, message: 'records' }))) as WaitTimeoutError;
    expect(err.message).toBe(`records (expected at least 5): not met within 20 ms (${err.checks} checks); last observed: 2`);
  });
});

describe('waitForAssertion', () => {
  it('resolves once the assertion stops throwing', async () => {
    let n = 0;
    await waitForAssertion(() => expect(++n).toBe(3), { intervalMs: 1 });
    expect(n).toBe(3);
  });

  it('carries the last assertion failure', async () => {
    const err = (await rejection(waitForAssertion(() => expect(1).toBe(2), { timeoutMs: 20, intervalMs: 1 }))) as WaitTimeoutError;
    expect(err.message).toMatch(/^assertion to pass: not met/);
    expect(err.lastObserved).toBeInstanceOf(Error);
  });
});

describe('withTimeout', () => {
  it('passes a value or rejection through', async () => {
    await expect(withTimeout(Promise.resolve(5), 1_000)).resolves.toBe(5);
    await expect(withTimeout(Promise.reject(new Error('x')), 1_000)).rejects.toThrow('x');
  });

  it('rejects with ERR_TIMEOUT when the promise does not settle in time', async () => {
    const err = await rejection(withTimeout(new Promise(() => undefined), 10, 'close()'));
    expect(isTributaryError(err) && err.code).toBe('ERR_TIMEOUT');
    expect((err as Error).message).toBe('close(): did not settle within 10 ms');
  });
});
