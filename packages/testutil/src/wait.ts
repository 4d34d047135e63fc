/**
 * Waiting for conditions instead of sleeping: poll until a condition holds or
 * a deadline passes, then fail with a message that says what was awaited and
 * what was last seen. A fixed sleep is either too short on a slow machine (a
 * flaky test) or too long on a fast one (a slow suite); a deadline is only
 * reached when something is wrong.
 */
import { inspect } from 'node:util';
import { TributaryError } from '@tributary/core';

export interface WaitForOptions {
  /** Give up after this many milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
  /** Poll interval in milliseconds. Default 10. */
  readonly intervalMs?: number;
  /** What is being awaited; starts the error message. */
  readonly message?: string;
  /** Stops waiting early with ERR_ABORTED. */
  readonly signal?: AbortSignal;
}

/** Defaults of {@link WaitForOptions}. */
export const WAIT_DEFAULTS = Object.freeze({ timeoutMs: 10_000, intervalMs: 10 });

/** A wait-for deadline passed (code ERR_TIMEOUT). */
export class WaitTimeoutError extends TributaryError {
  /** The value the condition returned (or the error it threw) on its last check. */
  readonly lastObserved: unknown;
  /** How many times the condition was checked. */
  readonly checks: number;
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, checks: number, lastObserved: unknown) {
    super('ERR_TIMEOUT', `${what}: not met within ${timeoutMs} ms (${checks} checks); last observed: ${describeValue(lastObserved)}`, {
      ...(lastObserved instanceof Error ? { cause: lastObserved } : {}),
    });
    this.name = 'WaitTimeoutError';
    this.lastObserved = lastObserved;
    this.checks = checks;
    this.timeoutMs = timeoutMs;
  }
}

/** Marks a check that has not settled yet when the deadline passed. */
const PENDING = Symbol('pending');

/**
 * Polls `read` until `holds(value)` is true and resolves with that value.
 * A `read` or `holds` that throws counts as "not yet" (its error is the last
 * observed value). A `read` that does not settle is bounded by the deadline.
 * Rejects with {@link WaitTimeoutError} (ERR_TIMEOUT) when the deadline
 * passes, or with ERR_ABORTED when `signal` aborts.
 */
export async function waitForValue<T>(
  read: () => T | PromiseLike<T>,
  holds: (value: T) => boolean,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? WAIT_DEFAULTS.timeoutMs;
  const intervalMs = options.intervalMs ?? WAIT_DEFAULTS.intervalMs;
  const what = options.message ?? 'condition';
  if (!(timeoutMs >= 0) || !(intervalMs >= 0)) {
    throw new TributaryError('ERR_CONFIG', `waitFor: timeoutMs and intervalMs must be >= 0 (got ${timeoutMs}, ${intervalMs})`);
  }
  const deadline = Date.now() + timeoutMs;
  let checks = 0;
  let last: unknown = PENDING;
  for (;;) {
    throwIfAborted(options.signal, what);
    checks += 1;
    try {
      const value = await settleBefore(read, deadline);
      if (value === PENDING) {
        last = 'the last check was still pending';
      } else {
        last = value;
        if (holds(value)) return value;
      }
    } catch (err: unknown) {
      last = err;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new WaitTimeoutError(what, timeoutMs, checks, last === PENDING ? 'nothing (never checked)' : last);
    await pause(Math.min(intervalMs, remaining), options.signal);
  }
}

/**
 * Resolves with the condition's value once it is truthy; see
 * {@link waitForValue} for throwing and hanging conditions. The condition may
 * be sync or async.
 *
 * @example
 *   await waitFor(() => seen.length >= 10, { message: 'ten records seen' });
 */
export async function waitFor<T>(condition: () => T | PromiseLike<T>, options: WaitForOptions = {}): Promise<T> {
  return waitForValue(condition, (value) => Boolean(value), options);
}

/**
 * Resolves once `count()` (a number, or anything with a `length`) is at least
 * `expected`, with the observed count. The timeout error shows the last count.
 */
export async function waitForCount(
  count: () => number | { readonly length: number } | PromiseLike<number | { readonly length: number }>,
  expected: number,
  options: WaitForOptions = {},
): Promise<number> {
  const message = options.message ?? `count to reach ${expected}`;
  return waitForValue(
    async () => {
      const c = await count();
      return typeof c === 'number' ? c : c.length;
    },
    (n) => n >= expected,
    { ...options, message: `${message} (expected at least ${expected})` },
  );
}

/**
 * Resolves once `assertion` returns without throwing (for `expect(...)`
 * style checks); the timeout error carries the last assertion failure.
 */
export async function waitForAssertion(assertion: () => void | PromiseLike<void>, options: WaitForOptions = {}): Promise<void> {
  await waitForValue(
    async () => {
      await assertion();
      return true;
    },
    () => true,
    { ...options, message: options.message ?? 'assertion to pass' },
  );
}

/**
 * Settles like `promise`, or rejects with ERR_TIMEOUT after `timeoutMs`
 * (for steps that must finish, e.g. `close()`, so a hang fails with a
 * message instead of the test runner's generic timeout).
 */
export async function withTimeout<T>(promise: PromiseLike<T>, timeoutMs: number, message = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TributaryError('ERR_TIMEOUT', `${message}: did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function settleBefore<T>(read: () => T | PromiseLike<T>, deadline: number): Promise<T | typeof PENDING> {
  const result = read();
  if (!isPromiseLike(result)) return result;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof PENDING>((resolve) => {
    timer = setTimeout(() => resolve(PENDING), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([Promise.resolve(result), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new TributaryError('ERR_ABORTED', `${what}: wait aborted`, { cause: signal.reason });
}

/** Short, single-line rendering of an observed value for error messages. */
export function describeValue(value: unknown): string {
  return inspect(value, { depth: 3, maxArrayLength: 20, maxStringLength: 300, breakLength: Infinity, compact: true });
}
