/**
 * Circuit breaker middleware: when too many calls of the chain inside fail
 * (a dependency is down), stop calling it for a cool-down and pause the
 * consumer, instead of burning every record's retries against it.
 */
import {
  ConfigCheck,
  abortedError,
  isPermanentError,
  silentLogger,
  type ConsumerControl,
  type HandlerContext,
  type HandlerMiddleware,
  type Logger,
} from '@tributary/core';
import { RatioWindow } from './ratio-window';

/** closed: calls flow; open: calls wait (consumer paused); half-open: trial calls decide. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** A state change, as told to {@link CircuitBreakerOptions.onStateChange}. */
export interface CircuitStateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** Epoch ms of the change. */
  readonly at: number;
  /** The failure that opened the circuit, when it opened. */
  readonly error?: unknown;
}

export interface CircuitBreakerOptions {
  /** Open when failures / calls in the window reach this share (0–1]. Default 0.5. */
  readonly failureRatio?: number;
  /** …once the window holds at least this many calls. Default 10. */
  readonly minCalls?: number;
  /** Length of the sliding window of calls, in ms. Default 30 000. */
  readonly windowMs?: number;
  /** How long the circuit stays open before trial calls, in ms. Default 30 000. */
  readonly coolDownMs?: number;
  /** Trial calls let through when half-open; all must succeed to close. Default 1. */
  readonly halfOpenCalls?: number;
  /**
   * Which failures count against the dependency. Default: those that are not
   * permanent (`!isPermanentError`): a record that cannot be decoded says
   * nothing about the dependency's health. Aborts never count.
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** Pause the consumer (`ctx.control.pause()`) while open, resume when half-open. Default true. */
  readonly pauseConsumer?: boolean;
  /** Told every state change; a throw is logged and ignored. */
  readonly onStateChange?: (change: CircuitStateChange) => void;
  /** State changes are logged here (open at warn, the others at info). Default silent. */
  readonly logger?: Logger;
  /** Clock in ms (the window's and the cool-down's). Default Date.now. */
  readonly now?: () => number;
}

export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  failureRatio: 0.5,
  minCalls: 10,
  windowMs: 30_000,
  coolDownMs: 30_000,
  halfOpenCalls: 1,
  pauseConsumer: true,
});

/** The middleware, with its breaker's current state (for health checks and tests). */
export interface CircuitBreakerMiddleware extends HandlerMiddleware {
  readonly state: CircuitState;
}

/**
 * Guards the chain inside with a circuit breaker.
 *
 * - **closed**: calls go through; outcomes are counted over a sliding
 *   window. When the window holds `minCalls` calls and the failure share
 *   reaches `failureRatio`, the circuit opens.
 * - **open**: the failing call's error still propagates (an outer withRetry
 *   retries it). Every consumer that brings a record is paused
 *   (`ctx.control.pause()`), and calls — the retry included — wait,
 *   holding their record, for the cool-down to end. Nothing is failed or
 *   dead-lettered because the circuit is open. A consumer stopping while a
 *   call waits ends the wait with ERR_ABORTED (the record is redelivered).
 * - **half-open** (after `coolDownMs`, on a timer): paused consumers are
 *   resumed and `halfOpenCalls` trial calls go through while the others
 *   wait. All trials succeeding closes the circuit (with a fresh window); a
 *   trial failing opens it again for another cool-down.
 *
 * One middleware instance is one breaker: share it between consumers that
 * call the same dependency, or create one per dependency.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerMiddleware {
  const o = {
    failureRatio: options.failureRatio ?? CIRCUIT_BREAKER_DEFAULTS.failureRatio,
    minCalls: options.minCalls ?? CIRCUIT_BREAKER_DEFAULTS.minCalls,
    windowMs: options.windowMs ?? CIRCUIT_BREAKER_DEFAULTS.windowMs,
    coolDownMs: options.coolDownMs ?? CIRCUIT_BREAKER_DEFAULTS.coolDownMs,
    halfOpenCalls: options.halfOpenCalls ?? CIRCUIT_BREAKER_DEFAULTS.halfOpenCalls,
    pauseConsumer: options.pauseConsumer ?? CIRCUIT_BREAKER_DEFAULTS.pauseConsumer,
    isFailure: options.isFailure ?? ((error: unknown) => !isPermanentError(error)),
    onStateChange: options.onStateChange,
    logger: options.logger ?? silentLogger,
    now: options.now ?? Date.now,
  };
  new ConfigCheck('withCircuitBreaker')
    .check(typeof o.failureRatio === 'number' && o.failureRatio > 0 && o.failureRatio <= 1, 'failureRatio', `must be a number in (0, 1] (got ${String(o.failureRatio)})`)
    .integer(o.minCalls, 'minCalls', 1)
    .integer(o.windowMs, 'windowMs', 1)
    .integer(o.coolDownMs, 'coolDownMs', 0, 2_147_483_647)
    .integer(o.halfOpenCalls, 'halfOpenCalls', 1)
    .oneOf(o.pauseConsumer, 'pauseConsumer', [true, false])
    .fn(o.isFailure, 'isFailure', false)
    .fn(o.onStateChange, 'onStateChange')
    .fn(o.now, 'now', false)
    .check(typeof o.logger?.warn === 'function' && typeof o.logger?.info === 'function', 'logger', 'must be a Logger')
    .throwIfInvalid();

  const breaker = new Breaker(o);
  const middleware: HandlerMiddleware = (next) => async (message, ctx) => {
    const trial = await breaker.admit(ctx);
    try {
      await next(message, ctx);
    } catch (error) {
      breaker.settle(trial, ctx.signal.aborted ? 'ignored' : o.isFailure(error) ? 'failure' : 'ignored', error, ctx.control);
      throw error;
    }
    breaker.settle(trial, 'success', undefined, ctx.control);
  };
  return Object.defineProperty(middleware, 'state', { get: () => breaker.state, enumerable: true }) as CircuitBreakerMiddleware;
}

type Outcome = 'success' | 'failure' | 'ignored';

interface BreakerSettings {
  readonly failureRatio: number;
  readonly minCalls: number;
  readonly windowMs: number;
  readonly coolDownMs: number;
  readonly halfOpenCalls: number;
  readonly pauseConsumer: boolean;
  readonly onStateChange: ((change: CircuitStateChange) => void) | undefined;
  readonly logger: Logger;
  readonly now: () => number;
}

class Breaker {
  state: CircuitState = 'closed';
  readonly #o: BreakerSettings;
  readonly #window: RatioWindow;
  /** Consumers paused while open, resumed when half-open. */
  readonly #paused = new Set<ConsumerControl>();
  #trialsInFlight = 0;
  #trialSuccesses = 0;
  #coolDownTimer: NodeJS.Timeout | undefined;
  /** Resolved (and replaced) on every state change and freed trial slot: what waiting calls wait for. */
  #changed = signalled();

  constructor(o: BreakerSettings) {
    this.#o = o;
    this.#window = new RatioWindow(o.windowMs, o.now);
  }

  /** Waits until the call may go; true when it goes as a half-open trial. */
  async admit(ctx: HandlerContext): Promise<boolean> {
    for (;;) {
      const wait = ctx.stopping ?? ctx.signal;
      if (wait.aborted) throw abortedError(wait);
      if (this.state === 'closed') return false;
      if (this.state === 'half-open' && this.#trialsInFlight < this.#o.halfOpenCalls) {
        this.#trialsInFlight++;
        return true;
      }
      if (this.state === 'open') this.#pause(ctx.control);
      await this.#waitForChange(wait);
    }
  }

  /** Counts the outcome of an admitted call; `control` is the consumer that made it (paused if the circuit opens). */
  settle(trial: boolean, outcome: Outcome, error: unknown, control: ConsumerControl): void {
    if (trial) {
      this.#trialsInFlight--;
      if (this.state !== 'half-open') return;
      if (outcome === 'failure') {
        this.#open(error, control);
      } else if (outcome === 'success' && ++this.#trialSuccesses >= this.#o.halfOpenCalls) {
        this.#window.reset();
        this.#transition('closed');
      } else {
        // A slot is free for the next trial.
        this.#notify();
      }
      return;
    }
    // Outcomes of calls admitted while closed; late ones after the circuit opened are not counted.
    if (this.state !== 'closed' || outcome === 'ignored') return;
    this.#window.add(outcome === 'failure');
    if (outcome !== 'failure') return;
    const { total, hits } = this.#window.counts();
    if (total >= this.#o.minCalls && hits / total >= this.#o.failureRatio) this.#open(error, control);
  }

  #open(error: unknown, control: ConsumerControl): void {
    this.#trialSuccesses = 0;
    this.#transition('open', error);
    this.#pause(control);
    clearTimeout(this.#coolDownTimer);
    // Unref'd: a breaker must not keep a process alive on its own.
    this.#coolDownTimer = setTimeout(() => {
      this.#coolDownTimer = undefined;
      if (this.state !== 'open') return;
      this.#trialSuccesses = 0;
      this.#transition('half-open');
      this.#resumeAll();
    }, this.#o.coolDownMs);
    this.#coolDownTimer.unref();
  }

  #transition(to: CircuitState, error?: unknown): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    const change: CircuitStateChange = { from, to, at: this.#o.now(), ...(error === undefined ? {} : { error }) };
    const fields = { from, to, ...(error === undefined ? {} : { err: error }) };
    if (to === 'open') this.#o.logger.warn(fields, 'circuit open');
    else this.#o.logger.info(fields, `circuit ${to}`);
    try {
      this.#o.onStateChange?.(change);
    } catch (err) {
      this.#o.logger.warn({ err }, 'withCircuitBreaker: onStateChange threw; ignored');
    }
    this.#notify();
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = signalled();
  }

  #pause(control: ConsumerControl): void {
    if (!this.#o.pauseConsumer || this.#paused.has(control)) return;
    this.#paused.add(control);
    control.pause();
  }

  #resumeAll(): void {
    for (const control of this.#paused) control.resume();
    this.#paused.clear();
  }

  #waitForChange(signal: AbortSignal): Promise<void> {
    const changed = this.#changed.promise;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortedError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      void changed.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

/** A promise with its resolve function, as Promise.withResolvers (Node 22) gives. */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
