import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import type * as ErrorsModule from '../src/errors';
import {
  CONNECTION_PATTERNS,
  ConfigError,
  ErrorCodes,
  RETRYABLE_PATTERNS,
  RetriesExhaustedError,
  TributaryError,
  UnrecoverableError,
  causeChain,
  defaultErrorClassifier,
  errorMessage,
  isConnectionError,
  isPermanentError,
  isProgrammerError,
  isRetryableError,
  isTributaryError,
  isUnrecoverableError,
  unrecoverable,
  type ErrorCode,
} from '@tributary/core';

const codes = Object.keys(ErrorCodes) as ErrorCode[];

describe('TributaryError', () => {
  it('carries code, message, cause and context', () => {
    const cause = new Error('socket closed');
    const err = new TributaryError('ERR_COMMIT', 'commit failed', { cause, context: { topic: 't', partition: 1, offset: 9, key: 'k' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('TributaryError');
    expect(err.code).toBe('ERR_COMMIT');
    expect(err.message).toBe('commit failed');
    expect(err.cause).toBe(cause);
    expect(err.context).toEqual({ topic: 't', partition: 1, offset: 9, key: 'k' });
  });

  it('has no own cause property when none is given', () => {
    expect('cause' in new TributaryError('ERR_STATE', 'x')).toBe(false);
  });

  it.each(codes)('%s defaults retriable to the registry value', (code) => {
    expect(new TributaryError(code, 'm').retriable).toBe(ErrorCodes[code].retriable);
  });

  it('lets a single error override the default', () => {
    expect(new TributaryError('ERR_PRODUCE', 'too large', { retriable: false }).retriable).toBe(false);
    expect(new TributaryError('ERR_TRANSPORT', 'flaky', { retriable: true }).retriable).toBe(true);
  });

  it('every code has a non-empty one-line summary', () => {
    for (const code of codes) {
      expect(ErrorCodes[code].summary.length).toBeGreaterThan(0);
      expect(ErrorCodes[code].summary).not.toMatch(/\n/);
    }
  });
});

describe('isTributaryError', () => {
  it('is true for TributaryError and its subclasses', () => {
    expect(isTributaryError(new TributaryError('ERR_STATE', 'x'))).toBe(true);
    expect(isTributaryError(new ConfigError('c', [{ field: 'f', message: 'm' }]))).toBe(true);
    expect(isTributaryError(new RetriesExhaustedError(2, new Error('x')))).toBe(true);
    expect(isTributaryError(unrecoverable(new Error('x')))).toBe(true);
  });

  it('is false for other values', () => {
    for (const v of [new Error('x'), { code: 'ERR_STATE' }, null, undefined, 'ERR_STATE', 42, { [Symbol('@tributary/error')]: true }]) {
      expect(isTributaryError(v)).toBe(false);
    }
  });

  it('recognises errors from a second copy of the module (duplicate package install)', async () => {
    let copy: typeof ErrorsModule | undefined;
    await jest.isolateModulesAsync(async () => {
      copy = await import('../src/errors');
    });
    const foreign = new copy!.TributaryError('ERR_TIMEOUT', 'from the other copy');
    // Really a different class: instanceof fails, the brand does not.
    expect(copy!.TributaryError).not.toBe(TributaryError);
    expect(foreign instanceof TributaryError).toBe(false);
    expect(isTributaryError(foreign)).toBe(true);
    expect(copy!.isTributaryError(new TributaryError('ERR_TIMEOUT', 'from this copy'))).toBe(true);
    // Classification works across copies too.
    expect(isRetryableError(foreign)).toBe(true);
    expect(isPermanentError(new copy!.RetriesExhaustedError(3, new Error('x')))).toBe(true);
    expect(isUnrecoverableError(copy!.unrecoverable(new Error('x')))).toBe(true);
  });

  it('recognises any object branded with the global Symbol.for key', () => {
    class OtherCopyError extends Error {
      readonly code = 'ERR_CONNECTION' as const;
      readonly retriable = true;
      constructor() {
        super('branded elsewhere');
        Object.defineProperty(this, Symbol.for('@tributary/error'), { value: true });
      }
    }
    expect(isTributaryError(new OtherCopyError())).toBe(true);
  });
});

describe('isConnectionError', () => {
  it('matches ERR_CONNECTION anywhere in the cause chain', () => {
    const conn = new TributaryError('ERR_CONNECTION', 'down');
    expect(isConnectionError(conn)).toBe(true);
    expect(isConnectionError(new Error('outer', { cause: conn }))).toBe(true);
  });

  it('matches the generic patterns case-insensitively, in messages, codes and causes', () => {
    expect(isConnectionError(new Error('dial tcp 10.0.0.1:9092: Connection Refused'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('connect failed'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isConnectionError(new Error('publish failed', { cause: new Error('socket hang up') }))).toBe(true);
    expect(isConnectionError('broken pipe')).toBe(true);
    for (const pattern of CONNECTION_PATTERNS) expect(isConnectionError(new Error(`x ${pattern} y`))).toBe(true);
  });

  it('is false for other failures and for nothing', () => {
    expect(isConnectionError(new Error('invalid payload'))).toBe(false);
    expect(isConnectionError(null)).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
  });

  it('accepts broker-specific extra patterns', () => {
    const err = new Error('Local: Broker node update');
    expect(isConnectionError(err)).toBe(false);
    expect(isConnectionError(err, 'broker node update')).toBe(true);
    expect(isConnectionError(new Error('LEADER_NOT_AVAILABLE'), 'not_controller', 'leader_not_available')).toBe(true);
  });
});

describe('isRetryableError', () => {
  it('trusts a TributaryError\'s retriable flag', () => {
    expect(isRetryableError(new TributaryError('ERR_TIMEOUT', 'slow'))).toBe(true);
    expect(isRetryableError(new TributaryError('ERR_CONFIG', 'bad'))).toBe(false);
    // Even when the message looks transient: the code decides.
    expect(isRetryableError(new TributaryError('ERR_VALIDATION', 'temporary field missing'))).toBe(false);
    expect(isRetryableError(new TributaryError('ERR_TRANSPORT', 'x', { retriable: true }))).toBe(true);
  });

  it('is true for connection errors and the generic retryable patterns', () => {
    expect(isRetryableError(new Error('connection reset by peer'))).toBe(true);
    for (const pattern of RETRYABLE_PATTERNS) expect(isRetryableError(new Error(`a ${pattern} b`))).toBe(true);
  });

  it('is false for unclassified errors unless an extra pattern matches', () => {
    const err = new Error('Rate limit exceeded');
    expect(isRetryableError(err)).toBe(false);
    expect(isRetryableError(err, 'rate limit')).toBe(true);
    expect(isRetryableError(null)).toBe(false);
  });

  it('never retries programmer errors, whatever the message', () => {
    for (const err of [new TypeError('connection refused'), new RangeError('temporary'), new SyntaxError('timed out'), new ReferenceError('x')]) {
      expect(isProgrammerError(err)).toBe(true);
      expect(isRetryableError(err)).toBe(false);
      expect(isRetryableError(err, 'x', 'refused')).toBe(false);
      expect(isPermanentError(err)).toBe(true);
    }
  });

  it('judges a TypeError wrapper by its cause (fetch failed → ECONNREFUSED)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:80'), { code: 'ECONNREFUSED' });
    const fetchFailed = new TypeError('fetch failed', { cause: refused });
    expect(isProgrammerError(fetchFailed)).toBe(false);
    expect(isPermanentError(fetchFailed)).toBe(false);
    expect(isConnectionError(fetchFailed)).toBe(true);
    expect(isRetryableError(fetchFailed)).toBe(true);
    expect(isProgrammerError(new TypeError('wrapped', { cause: new RangeError('bad') }))).toBe(true);
  });

  it('never retries unrecoverable errors, even around a retriable cause', () => {
    const wrapped = unrecoverable(new TributaryError('ERR_CONNECTION', 'down'));
    expect(isRetryableError(wrapped)).toBe(false);
    expect(isRetryableError(new Error('outer', { cause: wrapped }))).toBe(false);
  });
});

describe('isPermanentError', () => {
  it('is true for non-retriable TributaryErrors, unrecoverable and exhausted retries', () => {
    expect(isPermanentError(new TributaryError('ERR_DECODE', 'x'))).toBe(true);
    expect(isPermanentError(unrecoverable('poison'))).toBe(true);
    expect(isPermanentError(new Error('outer', { cause: unrecoverable('poison') }))).toBe(true);
    // So an outer retry loop does not multiply an inner one.
    expect(isPermanentError(new RetriesExhaustedError(3, new TributaryError('ERR_TIMEOUT', 'slow')))).toBe(true);
  });

  it('is false for retriable and unclassified errors (retry loops retry those)', () => {
    expect(isPermanentError(new TributaryError('ERR_CONNECTION', 'x'))).toBe(false);
    expect(isPermanentError(new Error('db timeout'))).toBe(false);
    expect(isPermanentError('some string')).toBe(false);
  });
});

describe('unrecoverable', () => {
  it('wraps the cause with ERR_UNRECOVERABLE and keeps the context', () => {
    const cause = new Error('schema mismatch');
    const err = unrecoverable(cause, { topic: 'orders', partition: 2, offset: 5 });
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.name).toBe('UnrecoverableError');
    expect(err.code).toBe('ERR_UNRECOVERABLE');
    expect(err.retriable).toBe(false);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('unrecoverable: schema mismatch');
    expect(err.context).toEqual({ topic: 'orders', partition: 2, offset: 5 });
  });

  it('isUnrecoverableError looks through the cause chain', () => {
    expect(isUnrecoverableError(unrecoverable('x'))).toBe(true);
    expect(isUnrecoverableError(new Error('a', { cause: new Error('b', { cause: unrecoverable('x') }) }))).toBe(true);
    expect(isUnrecoverableError(new Error('plain'))).toBe(false);
    expect(isUnrecoverableError(null)).toBe(false);
  });
});

describe('RetriesExhaustedError', () => {
  it('keeps the last error as cause and the attempt count', () => {
    const last = new TributaryError('ERR_TIMEOUT', 'still slow');
    const err = new RetriesExhaustedError(4, last, { topic: 't', partition: 0, offset: 1 });
    expect(err.name).toBe('RetriesExhaustedError');
    expect(err.code).toBe('ERR_RETRIES_EXHAUSTED');
    expect(err.retriable).toBe(false);
    expect(err.attempts).toBe(4);
    expect(err.cause).toBe(last);
    expect(err.message).toBe('gave up after 4 attempts: still slow');
    expect(err.context?.offset).toBe(1);
  });
});

describe('ConfigError', () => {
  it('names every problem in its message and freezes the list', () => {
    const problems = [
      { field: 'a', message: 'must be a number' },
      { field: 'b.c', message: 'is required' },
    ];
    const err = new ConfigError('widget', problems);
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe('invalid widget config: a must be a number; b.c is required');
    expect(err.problems).toEqual(problems);
    expect(Object.isFrozen(err.problems)).toBe(true);
    problems.push({ field: 'z', message: 'late' });
    expect(err.problems).toHaveLength(2);
  });
});

describe('errorMessage and causeChain', () => {
  it('errorMessage describes any thrown value', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('text')).toBe('text');
    expect(errorMessage({ a: 1 })).toBe('{"a":1}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(errorMessage(cyclic)).toBe('[object Object]');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(Symbol('s'))).toBe('Symbol(s)');
    expect(errorMessage(10n)).toBe('10');
  });

  it('causeChain lists causes outermost first, stopping at cycles and after 16', () => {
    const inner = new Error('inner');
    const outer = new Error('outer', { cause: inner });
    expect(causeChain(outer)).toEqual([outer, inner]);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(b)).toEqual([b, a]);
    let deep: Error = new Error('0');
    for (let i = 1; i < 40; i++) deep = new Error(String(i), { cause: deep });
    expect(causeChain(deep)).toHaveLength(16);
    expect(causeChain(null)).toEqual([]);
  });
});

describe('defaultErrorClassifier', () => {
  it('delegates to the generic functions and is frozen', () => {
    expect(defaultErrorClassifier.isConnectionError(new Error('ECONNREFUSED'))).toBe(true);
    expect(defaultErrorClassifier.isRetryableError(new Error('request timed out'))).toBe(true);
    expect(defaultErrorClassifier.isRetryableError(new TypeError('timed out'))).toBe(false);
    expect(Object.isFrozen(defaultErrorClassifier)).toBe(true);
  });
});

describe('README error-code table', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.split(/^## Error codes$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`?(ERR_[A-Z_]+)`?\s*\|(.*)\|\s*$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.split('|').map((c) => c.trim()));
  }

  it('has an "## Error codes" section with a | code | retriable | meaning | table', () => {
    expect(section).toMatch(/\|\s*code\s*\|\s*retriable\s*\|\s*meaning\s*\|/);
  });

  it.each(codes)('documents %s with its retriable default and a meaning', (code) => {
    const row = rows.get(code);
    expect(row).toBeDefined();
    expect(row![0]).toBe(ErrorCodes[code].retriable ? 'yes' : 'no');
    expect(row![1]!.length).toBeGreaterThan(0);
  });

  it('documents no code that does not exist', () => {
    expect([...rows.keys()].filter((c) => !(c in ErrorCodes))).toEqual([]);
  });
});
