import {
  ConfigError,
  RetriesExhaustedError,
  TributaryError,
  chainHandlers,
  isRetryableError,
  unrecoverable,
  type HandlerContext,
  type MessageHandler,
} from '@tributary/core';
import { buildMessage } from '@tributary/testutil';
import { observeRecord, withRetry, type RecordEvent, type RetryInfo } from '@tributary/middleware';
import { run, testContext } from './support/context';

const message = buildMessage({ topic: 'orders', partition: 2, offset: 7, key: 'k1' });
const fast = { initialMs: 1, maxMs: 2, jitter: 'none' } as const;

/** A handler that fails `failures` times with `error`, then succeeds; it records the attempt it was given. */
function flaky(failures: number, error: () => unknown = () => new Error('db unavailable')): MessageHandler & { attempts: number[] } {
  const attempts: number[] = [];
  const handler = (_m: unknown, ctx: HandlerContext): void => {
    attempts.push(ctx.attempt);
    if (attempts.length <= failures) throw error();
  };
  return Object.assign(handler, { attempts });
}

function observed(ctx: HandlerContext): { ctx: HandlerContext; events: RecordEvent[] } {
  const events: RecordEvent[] = [];
  return { ctx: observeRecord(ctx, (e) => events.push(e)), events };
}

describe('withRetry', () => {
  it('retries a failing handler until it succeeds, numbering the attempts inside', async () => {
    const handler = flaky(2);
    const infos: RetryInfo[] = [];
    const { ctx, events } = observed(testContext().ctx);
    await chainHandlers(handler, withRetry({ ...fast, maxAttempts: 5, onRetry: (i) => infos.push(i) }))(message, ctx);
    expect(handler.attempts).toEqual([1, 2, 3]);
    expect(events.map((e) => e.type === 'retry' && e.attempt)).toEqual([1, 2]);
    expect(infos.map((i) => [i.attempt, i.delayMs, i.message])).toEqual([
      [1, 1, message],
      [2, 2, message],
    ]);
  });

  it('waits the backoff delays between attempts (exponential, capped)', async () => {
    const { ctx, events } = observed(testContext().ctx);
    await chainHandlers(flaky(4), withRetry({ initialMs: 5, maxMs: 20, multiplier: 2, jitter: 'none', maxAttempts: 5 }))(message, ctx);
    expect(events.map((e) => (e.type === 'retry' ? e.delayMs : -1))).toEqual([5, 10, 20, 20]);
  });

  it('gives up after maxAttempts with RetriesExhaustedError carrying the last error and the record', async () => {
    let n = 0;
    const handler = flaky(99, () => new Error(`failure ${++n}`));
    const err = await run(chainHandlers(handler, withRetry({ ...fast, maxAttempts: 3 })), message, testContext().ctx).catch((e: unknown) => e);
    expect(handler.attempts).toEqual([1, 2, 3]);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    const exhausted = err as RetriesExhaustedError;
    expect(exhausted.code).toBe('ERR_RETRIES_EXHAUSTED');
    expect(exhausted.retriable).toBe(false);
    expect(exhausted.attempts).toBe(3);
    expect((exhausted.cause as Error).message).toBe('failure 3');
    expect(exhausted.context).toEqual({ topic: 'orders', partition: 2, offset: 7, key: 'k1' });
  });

  it('retries plain Errors and retriable TributaryErrors by default', async () => {
    const plain = flaky(1);
    await chainHandlers(plain, withRetry(fast))(message, testContext().ctx);
    expect(plain.attempts).toHaveLength(2);
    const timeout = flaky(1, () => new TributaryError('ERR_TIMEOUT', 'slow'));
    await chainHandlers(timeout, withRetry(fast))(message, testContext().ctx);
    expect(timeout.attempts).toHaveLength(2);
  });

  it.each([
    ['a non-retriable TributaryError', () => new TributaryError('ERR_DECODE', 'bad bytes')],
    ['an unrecoverable error', () => unrecoverable(new Error('no such customer'))],
    ['a TypeError', () => new TypeError('x is undefined')],
    ['a RangeError', () => new RangeError('bad index')],
    ['an exhausted retry from further in', () => new RetriesExhaustedError(3, new Error('inner'))],
  ])('does not retry %s: one attempt, the error unchanged', async (_name, make) => {
    const error = make();
    const handler = flaky(99, () => error);
    await expect(chainHandlers(handler, withRetry(fast))(message, testContext().ctx)).rejects.toBe(error);
    expect(handler.attempts).toEqual([1]);
  });

  it('never retries programmer errors, even when retryIf says yes', async () => {
    const handler = flaky(99, () => new TypeError('bug'));
    await expect(chainHandlers(handler, withRetry({ ...fast, retryIf: () => true }))(message, testContext().ctx)).rejects.toThrow(TypeError);
    expect(handler.attempts).toEqual([1]);
  });

  it('takes a classifier: with isRetryableError only pattern-matched errors are retried', async () => {
    const plain = flaky(99);
    await expect(chainHandlers(plain, withRetry({ ...fast, retryIf: (e) => isRetryableError(e) }))(message, testContext().ctx)).rejects.toThrow('db unavailable');
    expect(plain.attempts).toEqual([1]);
    const refused = flaky(1, () => new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await chainHandlers(refused, withRetry({ ...fast, retryIf: (e) => isRetryableError(e) }))(message, testContext().ctx);
    expect(refused.attempts).toEqual([1, 2]);
  });

  it('retries forever with maxAttempts Infinity', async () => {
    const handler = flaky(12);
    await chainHandlers(handler, withRetry({ initialMs: 0, maxMs: 0, maxAttempts: Infinity }))(message, testContext().ctx);
    expect(handler.attempts).toHaveLength(13);
  });

  it('ends a backoff wait at once when the stop signal aborts, with ERR_ABORTED', async () => {
    const { ctx, abort } = testContext();
    const handler = flaky(99);
    const started = Date.now();
    const call = run(chainHandlers(handler, withRetry({ initialMs: 60_000, maxMs: 60_000, jitter: 'none', maxAttempts: 5 })), message, ctx);
    setTimeout(() => abort.abort(new Error('consumer stopping')), 20);
    const err = await call.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_ABORTED', retriable: false });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(handler.attempts).toEqual([1]);
  });

  it('does not retry a failure that happened because the signal aborted', async () => {
    const { ctx, abort } = testContext();
    const attempts: number[] = [];
    const handler: MessageHandler = async (_m, c) => {
      attempts.push(c.attempt);
      abort.abort(new Error('stopping'));
      throw new Error('interrupted');
    };
    await expect(chainHandlers(handler, withRetry(fast))(message, ctx)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(attempts).toEqual([1]);
  });

  it('ignores an onRetry that throws', async () => {
    const handler = flaky(1);
    await chainHandlers(
      handler,
      withRetry({
        ...fast,
        onRetry: () => {
          throw new Error('observer bug');
        },
      }),
    )(message, testContext().ctx);
    expect(handler.attempts).toEqual([1, 2]);
  });

  it('validates every option at once', () => {
    let error: unknown;
    try {
      withRetry({ maxAttempts: 0, initialMs: -1, retryIf: 'yes' as unknown as () => boolean });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field).sort()).toEqual(['initialMs', 'maxAttempts', 'retryIf']);
  });
});
