import { TributaryError } from '@tributary/core';
import { isReconnectRequired, isTimeoutError } from '@tributary/mq-markers';

describe('isReconnectRequired', () => {
  it('is true for connection failures, lost group membership and a client closed under us', () => {
    expect(isReconnectRequired(new TributaryError('ERR_CONNECTION', 'broker down'))).toBe(true);
    expect(isReconnectRequired(new Error('connect ECONNREFUSED 127.0.0.1:9092'))).toBe(true);
    expect(isReconnectRequired(new Error('Application maximum poll interval (300000ms) exceeded by 88ms'))).toBe(true);
    expect(isReconnectRequired(new Error('Broker: Unknown member'))).toBe(true);
    expect(isReconnectRequired(new TributaryError('ERR_CLOSED', 'group consumer is closed'))).toBe(true);
  });

  it('looks through the cause chain', () => {
    const wrapped = new TributaryError('ERR_COMMIT', 'commit failed', { cause: new Error('Local: All broker connections are down') });
    expect(isReconnectRequired(wrapped)).toBe(true);
  });

  it('is false for other failures and non-errors', () => {
    expect(isReconnectRequired(new TributaryError('ERR_PRODUCE', 'record rejected'))).toBe(false);
    expect(isReconnectRequired(new TributaryError('ERR_TIMEOUT', 'request timed out'))).toBe(false);
    expect(isReconnectRequired(new TypeError('x is undefined'))).toBe(false);
    expect(isReconnectRequired(undefined)).toBe(false);
    expect(isReconnectRequired(null)).toBe(false);
  });
});

describe('isTimeoutError', () => {
  it('is true for ERR_TIMEOUT, TimeoutError, ETIMEDOUT and timeout messages, anywhere in the cause chain', () => {
    expect(isTimeoutError(new TributaryError('ERR_TIMEOUT', 'slow'))).toBe(true);
    expect(isTimeoutError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe(true);
    expect(isTimeoutError(Object.assign(new Error('read failed'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(isTimeoutError(new Error('Local: Timed out'))).toBe(true);
    expect(isTimeoutError(new TributaryError('ERR_PRODUCE', 'send failed', { cause: new Error('Request timed out') }))).toBe(true);
    expect(isTimeoutError('operation timeout')).toBe(true);
  });

  it('is false otherwise', () => {
    expect(isTimeoutError(new TributaryError('ERR_CONNECTION', 'connection refused'))).toBe(false);
    expect(isTimeoutError(new Error('boom'))).toBe(false);
    expect(isTimeoutError(undefined)).toBe(false);
  });
});
