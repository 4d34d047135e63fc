/**
 * Error classification for queue clients (seed 002's IsReconnectRequired and
 * IsTimeoutError), on Tributary errors and on whatever a transport wraps as
 * their `cause`, so it works for every transport.
 */
import { causeChain, errorMessage, isConnectionError, isTributaryError } from '@tributary/core';

/**
 * Messages (lower case) of failures after which a group member has lost its
 * membership and only a new consumer gets it back: librdkafka's poll interval
 * expiry ("Application maximum poll interval (300000ms) exceeded"), the
 * broker's UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / FENCED_INSTANCE_ID, and a
 * fatal client error.
 */
export const RECONNECT_PATTERNS: readonly string[] = Object.freeze([
  'poll interval',
  'max.poll.interval',
  'unknown member',
  'unknown_member_id',
  'illegal generation',
  'illegal_generation',
  'fenced instance',
  'session timed out',
  'fatal error',
]);

/** Messages (lower case) that mean an operation ran out of time. */
export const TIMEOUT_PATTERNS: readonly string[] = Object.freeze(['timed out', 'timeout', 'etimedout']);

/**
 * True when `err` means the underlying consumer must be rebuilt
 * (`MqClient.reconnect()`): a connection failure (core's `isConnectionError`,
 * ERR_CONNECTION included), a lost group membership (RECONNECT_PATTERNS), or
 * an ERR_CLOSED from a client that closed under us. Anywhere in the cause chain.
 */
export function isReconnectRequired(err: unknown): boolean {
  if (err === null || err === undefined) return false;
  if (isConnectionError(err, ...RECONNECT_PATTERNS)) return true;
  return causeChain(err).some((e) => isTributaryError(e) && e.code === 'ERR_CLOSED');
}

/**
 * True when `err` is a timeout: an ERR_TIMEOUT TributaryError, an error named
 * `TimeoutError` (what `AbortSignal.timeout()` aborts with), an `ETIMEDOUT`
 * code, or a message matching TIMEOUT_PATTERNS — anywhere in the cause chain.
 *
 * `MqClient.nextMessage` does not throw when no message arrives in time (it
 * resolves with `null`); this classifies the errors of operations that do.
 */
export function isTimeoutError(err: unknown): boolean {
  if (err === null || err === undefined) return false;
  for (const e of causeChain(err)) {
    if (isTributaryError(e) && e.code === 'ERR_TIMEOUT') return true;
    if (typeof e !== 'object' || e === null) {
      if (matches(errorMessage(e))) return true;
      continue;
    }
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'TimeoutError' || code === 'ETIMEDOUT') return true;
    if (matches(errorMessage(e))) return true;
  }
  return false;
}

function matches(message: string): boolean {
  const text = message.toLowerCase();
  return TIMEOUT_PATTERNS.some((p) => text.includes(p));
}
