import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  Backoff,
  ConfigError,
  DEFAULT_BACKOFF,
  RetriesExhaustedError,
  TributaryError,
  isTributaryError,
  retryWithBackoff,
  sleep,
  unrecoverable,
  type BackoffOptions,
} from '@tributary/core';

/** Settles `p` and returns the rejection reason (fails the test if `p` resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

describe('Backoff', () => {
  it('applies the documented defaults and freezes its options', () => {
    const b = new Backoff();
    expect(b.options).toEqual({ initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 'full', maxAttempts: 3 });
    expect(b.options).toEqual(DEFAULT_BACKOFF);
    expect(Object.isFrozen(b.options)).toBe(true);
    expect(Object.isFrozen(b)).toBe(true);
  });

  it('treats undefined fields as defaults and keeps only policy fields', () => {
    const b = new Backoff({ initialMs: undefined, maxAttempts: 7, signal: AbortSignal.abort() } as BackoffOptions);
    expect(b.options.initialMs).toBe(100);
    expect(b.options.maxAttempts).toBe(7);
    expect(Object.keys(b.options).sort()).toEqual(['initialMs', 'jitter', 'maxAttempts', 'maxMs', 'multiplier']);
  });

  it('reports every bad field in one ConfigError', () => {
    let caught: unknown;
    try {
      new Backoff({ initialMs: -1, maxMs: Number.NaN, multiplier: 0.5, jitter: 'some' as BackoffOptions['jitter'], maxAttempts: 0 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const fields = (caught as ConfigError).problems.map((p) => p.field).sort();
    expect(fields).toEqual(['initialMs', 'jitter', 'maxAttempts', 'maxMs', 'multiplier']);
    expect((caught as ConfigError).code).toBe('ERR_CONFIG');
  });

  it('rejects maxMs below initialMs, non-integer attempts and delays too long for a timer', () => {
    expect(() => new Backoff({ initialMs: 500, maxMs: 100 })).toThrow(/maxMs must be ≥ initialMs/);
    expect(() => new Backoff({ maxAttempts: 2.5 })).toThrow(/maxAttempts/);
    expect(() => new Backoff({ maxMs: 2 ** 31 })).toThrow(/maxMs/);
  });

  it('grows exponentially up to maxMs without jitter', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 3, jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((n) => b.delayFor(n))).toEqual([100, 300, 900, 1000, 1000]);
  });

  it('stays at maxMs for huge attempt numbers (no overflow to NaN or Infinity)', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 5000, jitter: 'none' });
    expect(b.delayFor(10_000)).toBe(5000);
  });

  it('full jitter spreads the delay uniformly over [0, cap)', () => {
    const cap = 800; // attempt 4 with initial 100, multiplier 2
    expect(new Backoff({ jitter: 'full' }, () => 0).delayFor(4)).toBe(0);
    expect(new Backoff({ jitter: 'full' }, () => 0.5).delayFor(4)).toBe(cap / 2);
    expect(new Backoff({ jitter: 'full' }, () => 0.999999).delayFor(4)).toBe(cap - 1);
  });

  it('equal jitter keeps at least half of the delay', () => {
    expect(new Backoff({ jitter: 'equal' }, () => 0).delayFor(4)).toBe(400);
    expect(new Backoff({ jitter: 'equal' }, () => 0.5).delayFor(4)).toBe(600);
  });

  it('with Math.random, delays stay within the jitter window', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 10_000 });
    for (let attempt = 1; attempt <= 20; attempt++) {
      const cap = Math.min(10_000, 100 * 2 ** (attempt - 1));
      const d = b.delayFor(attempt);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(cap);
    }
  });

  it('rejects attempt numbers below 1 as a programmer error', () => {
    const b = new Backoff();
    expect(() => b.delayFor(0)).toThrow(RangeError);
    expect(() => b.delayFor(1.5)).toThrow(RangeError);
  });

  it('counts maxAttempts including the first attempt; Infinity never runs out', () => {
    const b = new Backoff({ maxAttempts: 3 });
    expect([1, 2, 3].map((n) => b.canRetry(n))).toEqual([true, true, false]);
    expect(new Backoff({ maxAttempts: 1 }).canRetry(1)).toBe(false);
    expect(new Backoff({ maxAttempts: Infinity }).canRetry(1_000_000)).toBe(true);
  });
});

describe('sleep', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('resolves after the delay', async () => {
    jest.useFakeTimers();
    let done = false;
    const p = sleep(1000).then(() => {
      done = true;
    });
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects with ERR_ABORTED as soon as the signal aborts, and clears its timer', async () => {
    jest.useFakeTimers();
    const controller = new AbortController();
    const p = sleep(60_000, controller.signal);
    expect(jest.getTimerCount()).toBe(1);
    const reason = new Error('shutting down');
    controller.abort(reason);
    const err = await rejection(p);
    expect(isTributaryError(err) && err.code).toBe('ERR_ABORTED');
    expect((err as TributaryError).cause).toBe(reason);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects at once for an already aborted signal without starting a timer', async () => {
    jest.useFakeTimers();
    const err = await rejection(sleep(1000, AbortSignal.abort('gone')));
    expect((err as TributaryError).code).toBe('ERR_ABORTED');
    expect((err as TributaryError).cause).toBe('gone');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects invalid durations with a RangeError', async () => {
    await expect(sleep(-1)).rejects.toThrow(RangeError);
    await expect(sleep(Number.NaN)).rejects.toThrow(RangeError);
    await expect(sleep(2 ** 31)).rejects.toThrow(RangeError);
  });

  it('removes its abort listener once the timer fires', async () => {
    const controller = new AbortController();
    const remove = jest.spyOn(controller.signal, 'removeEventListener');
    await sleep(0, controller.signal);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });
});

describe('retryWithBackoff', () => {
  it('returns the first success and passes the attempt number', async () => {
    const attempts: number[] = [];
    const result = await retryWithBackoff(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error('flaky');
        return 'ok';
      },
      { initialMs: 1, maxAttempts: 5 },
    );
    expect(result).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('reports each retry with the delay the policy computed (deterministic with injected random)', async () => {
    const seen: [string, number, number][] = [];
    await expect(
      retryWithBackoff(
        async (attempt) => {
          throw new Error(`fail ${attempt}`);
        },
        {
          initialMs: 2,
          multiplier: 2,
          maxAttempts: 4,
          random: () => 0.5,
          onRetry: (err, attempt, delayMs) => seen.push([(err as Error).message, attempt, delayMs]),
        },
      ),
    ).rejects.toThrow(RetriesExhaustedError);
    // full jitter with random 0.5: half of 2, 4, 8
    expect(seen).toEqual([
      ['fail 1', 1, 1],
      ['fail 2', 2, 2],
      ['fail 3', 3, 4],
    ]);
  });

  it('throws RetriesExhaustedError with the last error as cause after maxAttempts', async () => {
    let calls = 0;
    const last = new Error('still down');
    const err = await rejection(
      retryWithBackoff(
        async () => {
          calls++;
          throw calls === 3 ? last : new Error('down');
        },
        { initialMs: 0, maxAttempts: 3 },
      ),
    );
    expect(calls).toBe(3);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(3);
    expect((err as RetriesExhaustedError).cause).toBe(last);
    expect((err as RetriesExhaustedError).code).toBe('ERR_RETRIES_EXHAUSTED');
  });

  it('rethrows permanent errors unchanged without retrying (default shouldRetry)', async () => {
    for (const permanent of [new TypeError('bug'), unrecoverable(new Error('poison')), new TributaryError('ERR_DECODE', 'bad bytes')]) {
      let calls = 0;
      const err = await rejection(
        retryWithBackoff(
          async () => {
            calls++;
            throw permanent;
          },
          { initialMs: 0, maxAttempts: 5 },
        ),
      );
      expect(err).toBe(permanent);
      expect(calls).toBe(1);
    }
  });

  it('retries retriable TributaryErrors and unclassified errors by default', async () => {
    let calls = 0;
    await retryWithBackoff(
      async () => {
        calls++;
        if (calls === 1) throw new TributaryError('ERR_CONNECTION', 'refused');
        if (calls === 2) throw new Error('something transient');
      },
      { initialMs: 0, maxAttempts: 3 },
    );
    expect(calls).toBe(3);
  });

  it('uses a custom shouldRetry with the error and attempt', async () => {
    const asked: number[] = [];
    const boom = new Error('boom');
    const err = await rejection(
      retryWithBackoff(
        async () => {
          throw boom;
        },
        {
          initialMs: 0,
          maxAttempts: 10,
          shouldRetry: (e, attempt) => {
            asked.push(attempt);
            return e === boom && attempt < 2;
          },
        },
      ),
    );
    expect(err).toBe(boom);
    expect(asked).toEqual([1, 2]);
  });

  it('does not call fn when the signal is already aborted', async () => {
    const fn = jest.fn(async () => 'never');
    const err = await rejection(retryWithBackoff(fn, { signal: AbortSignal.abort('stop') }));
    expect((err as TributaryError).code).toBe('ERR_ABORTED');
    expect(fn).not.toHaveBeenCalled();
  });

  it('stops promptly when aborted during a delay', async () => {
    const controller = new AbortController();
    const started = Date.now();
    let calls = 0;
    const err = await rejection(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error('down');
        },
        {
          initialMs: 60_000,
          maxMs: 60_000,
          jitter: 'none',
          maxAttempts: 5,
          signal: controller.signal,
          onRetry: () => setImmediate(() => controller.abort(new Error('stop now'))),
        },
      ),
    );
    expect((err as TributaryError).code).toBe('ERR_ABORTED');
    expect(((err as TributaryError).cause as Error).message).toBe('stop now');
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops promptly when aborted during an attempt that ignores the signal', async () => {
    const controller = new AbortController();
    const p = retryWithBackoff(
      () => {
        setImmediate(() => controller.abort('bye'));
        return new Promise<never>(() => undefined); // never settles
      },
      { signal: controller.signal },
    );
    const err = await rejection(p);
    expect((err as TributaryError).code).toBe('ERR_ABORTED');
    expect((err as TributaryError).cause).toBe('bye');
  });

  it('passes the signal to fn and turns a synchronous throw into a retry', async () => {
    const controller = new AbortController();
    const signals: (AbortSignal | undefined)[] = [];
    const result = await retryWithBackoff(
      (attempt, signal) => {
        signals.push(signal);
        if (attempt === 1) throw new Error('sync failure');
        return Promise.resolve(attempt);
      },
      { initialMs: 0, signal: controller.signal },
    );
    expect(result).toBe(2);
    expect(signals).toEqual([controller.signal, controller.signal]);
  });

  it('validates its options before calling fn', async () => {
    const fn = jest.fn(async () => 1);
    const err = await rejection(
      retryWithBackoff(fn, { maxAttempts: -1, onRetry: 'nope' as unknown as () => void }),
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field).sort()).toEqual(['maxAttempts', 'onRetry']);
    expect(fn).not.toHaveBeenCalled();
  });
});
