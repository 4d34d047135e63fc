import { describe, expect, it } from '@jest/globals';
import { ConfigCheck, ConfigError, freezeOptions } from '@tributary/core';

function configError(fn: () => void): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('ConfigCheck', () => {
  it('collects every problem and throws one ConfigError naming each field', () => {
    const options: Record<string, unknown> = { batchSize: 0, timeoutMs: -5, name: '', mode: 'fast', onError: 'log', ratio: Number.NaN };
    const err = configError(() =>
      new ConfigCheck('consumer')
        .integer(options.batchSize, 'batchSize', 1, 10_000)
        .number(options.timeoutMs, 'timeoutMs', 0)
        .nonEmptyString(options.name, 'name')
        .oneOf(options.mode, 'mode', ['eager', 'lazy'])
        .fn(options.onError, 'onError')
        .number(options.ratio, 'ratio', 0, 1)
        .throwIfInvalid(),
    );
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.problems.map((p) => p.field)).toEqual(['batchSize', 'timeoutMs', 'name', 'mode', 'onError', 'ratio']);
    expect(err.message).toMatch(/^invalid consumer config: /);
    for (const field of ['batchSize', 'timeoutMs', 'name', 'mode', 'onError', 'ratio']) expect(err.message).toContain(field);
  });

  it('says what was expected and what it got', () => {
    const err = configError(() =>
      new ConfigCheck('c')
        .integer(2.5, 'a', 1, 10)
        .integer(5, 'b', 10)
        .nonEmptyString(42, 'c')
        .oneOf('x', 'd', ['y', 'z'])
        .fn([], 'e')
        .number({}, 'f', 0)
        .throwIfInvalid(),
    );
    const byField = Object.fromEntries(err.problems.map((p) => [p.field, p.message]));
    expect(byField.a).toBe('must be an integer between 1 and 10 (got 2.5)');
    expect(byField.b).toBe('must be an integer between 10 and MAX_SAFE_INTEGER (got 5)');
    expect(byField.c).toBe('must be a non-empty string (got 42)');
    expect(byField.d).toBe('must be one of "y", "z" (got "x")');
    expect(byField.e).toBe('must be a function (got an array)');
    expect(byField.f).toBe('must be a number between 0 and MAX_VALUE (got an object)');
  });

  it('does not throw when everything is valid', () => {
    const check = new ConfigCheck('c')
      .integer(1, 'a', 1, 1)
      .number(0.5, 'b', 0, 1)
      .nonEmptyString('x', 'c')
      .oneOf('y', 'd', ['y'])
      .fn(undefined, 'e')
      .fn(() => 1, 'f', false)
      .check(true, 'g', 'never');
    expect(check.problems).toEqual([]);
    expect(() => check.throwIfInvalid()).not.toThrow();
  });

  it('treats a missing required function as a problem', () => {
    expect(new ConfigCheck('c').fn(undefined, 'handler', false).problems).toEqual([{ field: 'handler', message: 'must be a function (got undefined)' }]);
  });

  it('rejects NaN and Infinity as numbers, and non-integers as integers', () => {
    const check = new ConfigCheck('c').number(Number.NaN, 'a', 0).number(Infinity, 'b', 0).integer(Infinity, 'c', 0).integer('1', 'd', 0);
    expect(check.problems.map((p) => p.field)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('records free-form problems with check() and problem()', () => {
    const err = configError(() =>
      new ConfigCheck('router').check(false, 'routes', 'must not be empty').problem('default', 'conflicts with routes').throwIfInvalid(),
    );
    expect(err.problems).toEqual([
      { field: 'routes', message: 'must not be empty' },
      { field: 'default', message: 'conflicts with routes' },
    ]);
  });
});

describe('freezeOptions', () => {
  class Client {
    connected = false;
  }

  it('deep-freezes plain objects and arrays and returns the same object', () => {
    const options = { batch: { maxRecords: 10, tags: ['a', 'b'] }, topics: [{ name: 't' }] };
    const frozen = freezeOptions(options);
    expect(frozen).toBe(options);
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.batch)).toBe(true);
    expect(Object.isFrozen(options.batch.tags)).toBe(true);
    expect(Object.isFrozen(options.topics[0])).toBe(true);
    expect(() => {
      (options.batch as { maxRecords: number }).maxRecords = 11;
    }).toThrow(TypeError);
  });

  it("freezes copies of nested data, so the user's own arrays and objects stay theirs", () => {
    const topics = ['a'];
    const headers: Record<string, string> = { tenant: 'acme' };
    const options = freezeOptions({ topics, publish: { headers } });
    topics.push('b');
    headers.tenant = 'other';
    expect(Object.isFrozen(topics)).toBe(false);
    expect(Object.isFrozen(headers)).toBe(false);
    expect(options.topics).toEqual(['a']);
    expect(options.publish.headers).toEqual({ tenant: 'acme' });
    expect(Object.isFrozen(options.publish.headers)).toBe(true);
  });

  it('shares plain objects with methods (a logger) without freezing them', () => {
    const lines: string[] = [];
    const logger = { lines, info: (msg: string): void => void lines.push(msg) };
    const options = freezeOptions({ logger });
    expect(options.logger).toBe(logger);
    expect(Object.isFrozen(logger)).toBe(false);
    expect(Object.isFrozen(lines)).toBe(false);
    options.logger.info('still writable');
    expect(lines).toEqual(['still writable']);
  });

  it('leaves functions and class instances alone', () => {
    const client = new Client();
    const onError = (): void => undefined;
    const options = freezeOptions({ client, onError, signal: new AbortController().signal });
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(client)).toBe(false);
    expect(Object.isFrozen(onError)).toBe(false);
    client.connected = true;
    expect(options.client.connected).toBe(true);
  });

  it('passes primitives, null and undefined through', () => {
    expect(freezeOptions(5)).toBe(5);
    expect(freezeOptions('s')).toBe('s');
    expect(freezeOptions(null)).toBeNull();
    expect(freezeOptions(undefined)).toBeUndefined();
  });
});

describe('ConfigCheck.nested', () => {
  it('folds a nested ConfigError into the check under a prefix and returns undefined', () => {
    const check = new ConfigCheck('outer').integer(-1, 'size', 0);
    const built = check.nested('retry', () => {
      throw new ConfigError('Backoff', [
        { field: 'maxMs', message: 'too small' },
        { field: 'maxAttempts', message: 'must be at least 1' },
      ]);
    });
    expect(built).toBeUndefined();
    expect(check.problems.map((p) => p.field)).toEqual(['size', 'retry.maxMs', 'retry.maxAttempts']);
    expect(() => check.throwIfInvalid()).toThrow(ConfigError);
  });

  it('returns what the builder built, keeps fields as is without a prefix, and lets other errors through', () => {
    const check = new ConfigCheck('outer');
    expect(check.nested('x', () => 42)).toBe(42);
    check.nested('', () => {
      throw new ConfigError('inner', [{ field: 'a', message: 'bad' }]);
    });
    expect(check.problems).toEqual([{ field: 'a', message: 'bad' }]);
    expect(() =>
      check.nested('x', () => {
        throw new TypeError('boom');
      }),
    ).toThrow(TypeError);
  });
});
