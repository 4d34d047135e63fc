import { ConfigError, chainHandlers, type Message } from '@tributary/core';
import { buildMessages } from '@tributary/testutil';
import { withThrottle, type ThrottleOptions } from '@tributary/middleware';
import { run, testContext } from './support/context';

describe('withThrottle', () => {
  it('spaces calls to at most perSecond', async () => {
    const times: number[] = [];
    const handler = chainHandlers(() => void times.push(performance.now()), withThrottle({ perSecond: 100 }));
    const { ctx } = testContext();
    const started = performance.now();
    await Promise.all(buildMessages(11).map((m) => run(handler, m, ctx)));
    // 11 calls at 100/s with a bucket of 1: the first at once, then one every 10 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(5);
  });

  it('lets a burst through at once, then throttles', async () => {
    const handler = chainHandlers(() => undefined, withThrottle({ perSecond: 10, burst: 5 }));
    const { ctx } = testContext();
    const started = performance.now();
    const done: number[] = [];
    await Promise.all(buildMessages(6).map((m) => run(handler, m, ctx).then(() => done.push(performance.now() - started))));
    expect(done.slice(0, 5).every((t) => t < 50)).toBe(true);
    expect(done[5]).toBeGreaterThanOrEqual(90);
  });

  it('does not release a crowd of waiting calls after the event loop stalled', async () => {
    const times: number[] = [];
    const handler = chainHandlers(() => void times.push(performance.now()), withThrottle({ perSecond: 100 }));
    const { ctx } = testContext();
    const calls = buildMessages(5).map((m) => run(handler, m, ctx));
    const until = performance.now() + 60;
    while (performance.now() < until) {
      // Busy: the event loop stalls for 60 ms with four calls waiting.
    }
    await Promise.all(calls);
    // The first two run right after the stall (one token was taken before it,
    // one refilled during it); the bucket holds one token, so the rest follow
    // one by one instead of all at once.
    for (let i = 2; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(5);
  });

  it('serves waiting calls in arrival order', async () => {
    const order: number[] = [];
    const handler = chainHandlers((m: Message) => void order.push(m.offset), withThrottle({ perSecond: 200 }));
    const { ctx } = testContext();
    await Promise.all(buildMessages(8).map((m) => run(handler, m, ctx)));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('ends a wait with ERR_ABORTED when the signal aborts, leaving its turn to the next call', async () => {
    const handler = chainHandlers(() => undefined, withThrottle({ perSecond: 10 }));
    const first = testContext();
    const started = performance.now();
    await handler(buildMessages(1)[0]!, first.ctx); // takes the only token
    const waiting = testContext();
    const aborted = handler(buildMessages(1)[0]!, waiting.ctx); // reserved for ~100 ms
    waiting.abort.abort(new Error('stopping'));
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(performance.now() - started).toBeLessThan(50);
    // The next call gets the turn the aborted one left (~100 ms), not the one after (~200 ms).
    await handler(buildMessages(1)[0]!, first.ctx);
    expect(performance.now() - started).toBeLessThan(180);
  });

  it('validates its options', () => {
    let error: unknown;
    try {
      withThrottle({ perSecond: 0, burst: 0 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['perSecond', 'burst']);
    expect(() => withThrottle(undefined as unknown as ThrottleOptions)).toThrow(ConfigError);
  });
});
