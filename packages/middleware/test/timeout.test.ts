import { getEventListeners } from 'node:events';
import { ConfigError, TributaryError, chainHandlers, type MessageHandler } from '@tributary/core';
import { buildMessage } from '@tributary/testutil';
import { withRetry, withTimeout, type TimeoutOptions } from '@tributary/middleware';
import { run, testContext } from './support/context';

const message = buildMessage({ topic: 'orders', partition: 0, offset: 3, key: 'k' });

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first (as well-behaved I/O does). */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
}

describe('withTimeout', () => {
  it('lets a call that finishes in time through, with a live signal', async () => {
    let signal: AbortSignal | undefined;
    await chainHandlers(async (_m, ctx) => {
      signal = ctx.signal;
      await work(5, ctx.signal);
    }, withTimeout({ timeoutMs: 1_000 }))(message, testContext().ctx);
    expect(signal?.aborted).toBe(false);
  });

  it('aborts the handler signal at the deadline and rejects with a retriable ERR_TIMEOUT', async () => {
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const handler = chainHandlers(async (_m, ctx) => {
      signal = ctx.signal;
      await work(10_000, ctx.signal);
    }, withTimeout({ timeoutMs: 30 }));
    const err = await run(handler, message, testContext().ctx).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: 'ERR_TIMEOUT', retriable: true, context: { topic: 'orders', partition: 0, offset: 3, key: 'k' } });
    expect((err as Error).message).toBe('handler did not finish orders/0@3 within 30 ms');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(err);
  });

  it('does not wait for a handler that ignores its signal', async () => {
    let finished = false;
    const started = Date.now();
    await expect(
      chainHandlers(async () => {
        await new Promise((r) => setTimeout(r, 300));
        finished = true;
        throw new Error('late failure, dropped');
      }, withTimeout({ timeoutMs: 20 }))(message, testContext().ctx),
    ).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(250);
    expect(finished).toBe(false);
  });

  it('rejects with ERR_ABORTED at once when the consumer signal aborts, aborting the handler too', async () => {
    const { ctx, abort } = testContext();
    let inner: AbortSignal | undefined;
    const call = chainHandlers(async (_m, c) => {
      inner = c.signal;
      await work(10_000, c.signal);
    }, withTimeout({ timeoutMs: 60_000 }))(message, ctx);
    abort.abort(new Error('stopping'));
    await expect(call).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(inner?.aborted).toBe(true);
    const already = testContext();
    already.abort.abort();
    await expect(chainHandlers(() => undefined, withTimeout({ timeoutMs: 10 }))(message, already.ctx)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('passes handler failures through, synchronous throws included', async () => {
    const error = new Error('boom');
    const sync: MessageHandler = () => {
      throw error;
    };
    await expect(chainHandlers(sync, withTimeout({ timeoutMs: 1_000 }))(message, testContext().ctx)).rejects.toBe(error);
  });

  it('leaves no listener on the consumer signal after calls end', async () => {
    const { ctx } = testContext();
    const handler = chainHandlers((_m, c) => work(1, c.signal), withTimeout({ timeoutMs: 1_000 }));
    for (let i = 0; i < 20; i++) await handler(message, ctx);
    await run(chainHandlers((_m, c) => work(1_000, c.signal), withTimeout({ timeoutMs: 5 })), message, ctx).catch(() => undefined);
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
  });

  it('gives each attempt its own deadline inside withRetry, so a timed-out attempt is retried', async () => {
    const durations = [10_000, 1];
    const attempts: number[] = [];
    await chainHandlers(
      async (_m, ctx) => {
        attempts.push(ctx.attempt);
        await work(durations[ctx.attempt - 1] ?? 1, ctx.signal);
      },
      withRetry({ initialMs: 1, maxMs: 1 }),
      withTimeout({ timeoutMs: 20 }),
    )(message, testContext().ctx);
    expect(attempts).toEqual([1, 2]);
  });

  it('validates timeoutMs', () => {
    expect(() => withTimeout({ timeoutMs: 0 })).toThrow(ConfigError);
    expect(() => withTimeout({ timeoutMs: 1.5 })).toThrow(ConfigError);
    expect(() => withTimeout(undefined as unknown as TimeoutOptions)).toThrow(ConfigError);
  });
});
