import { ConfigCheck, type ConfigError } from '@tributary/core';
import { checkMiddlewareList, checkTopicHandlers, middlewareForTopic } from '../src/handler-chain';

const problemsOf = (run: (check: ConfigCheck) => void): string[] => {
  const check = new ConfigCheck('test');
  run(check);
  try {
    check.throwIfInvalid();
    return [];
  } catch (err) {
    return (err as ConfigError).problems.map((p) => p.field);
  }
};

describe('middlewareForTopic', () => {
  it('append runs the global list first, then the topic list; replace runs the topic list only; none gives the global list', () => {
    expect(middlewareForTopic(['g1', 'g2'], { mode: 'append', handlers: ['t1'] })).toEqual(['g1', 'g2', 't1']);
    expect(middlewareForTopic(['g1', 'g2'], { mode: 'replace', handlers: ['t1'] })).toEqual(['t1']);
    expect(middlewareForTopic(['g1'], undefined)).toEqual(['g1']);
  });
});

describe('checkTopicHandlers', () => {
  it('defaults the mode to append and freezes the handler list', () => {
    const f = (): void => undefined;
    const check = new ConfigCheck('test');
    const resolved = checkTopicHandlers(check, { a: { handlers: [f] } }, 'topicHandlers', ['a']);
    check.throwIfInvalid();
    expect(resolved.get('a')).toEqual({ mode: 'append', handlers: [f] });
    expect(Object.isFrozen(resolved.get('a')?.handlers)).toBe(true);
  });

  it('reports every problem: unknown topic, bad mode, missing or non-function handlers', () => {
    const fields = problemsOf((check) =>
      checkTopicHandlers(
        check,
        {
          typo: { handlers: [] },
          a: { mode: 'prepend', handlers: [() => undefined, 'x'] },
          b: {},
        },
        'topicHandlers',
        ['a', 'b'],
      ),
    );
    expect(fields).toEqual(['topicHandlers.typo', 'topicHandlers.a.mode', 'topicHandlers.a.handlers[1]', 'topicHandlers.b.handlers']);
    expect(problemsOf((check) => checkTopicHandlers(check, [], 'topicHandlers'))).toEqual(['topicHandlers']);
  });

  it('checkMiddlewareList rejects non-arrays and non-functions', () => {
    expect(problemsOf((check) => checkMiddlewareList(check, 'x', 'globalHandlers'))).toEqual(['globalHandlers']);
    expect(problemsOf((check) => checkMiddlewareList(check, [1], 'globalHandlers'))).toEqual(['globalHandlers[0]']);
    expect(problemsOf((check) => checkMiddlewareList(check, undefined, 'globalHandlers'))).toEqual([]);
  });
});
