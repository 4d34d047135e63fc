import { chainHandlers, composeMiddleware, silentLogger, type HandlerContext, type HandlerMiddleware, type Message } from '@tributary/core';

const ctx: HandlerContext = {
  signal: new AbortController().signal,
  attempt: 1,
  groupId: 'g',
  logger: silentLogger,
  control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
};
const message: Message = { topic: 't', partition: 0, offset: 0, key: null, value: null, timestamp: 0, headers: {} };

function tracing(name: string, log: string[]): HandlerMiddleware {
  return (next) => async (m, c) => {
    log.push(`${name}>`);
    await next(m, c);
    log.push(`<${name}`);
  };
}

describe('chainHandlers', () => {
  it('runs the first middleware outermost', async () => {
    const log: string[] = [];
    const handler = chainHandlers(
      () => {
        log.push('base');
      },
      tracing('a', log),
      tracing('b', log),
      tracing('c', log),
    );
    await handler(message, ctx);
    expect(log).toEqual(['a>', 'b>', 'c>', 'base', '<c', '<b', '<a']);
  });

  it('returns the base handler itself without middleware', () => {
    const base = (): void => undefined;
    expect(chainHandlers(base)).toBe(base);
  });

  it('lets a middleware short-circuit and see errors from inside', async () => {
    const seen: unknown[] = [];
    const catching: HandlerMiddleware = (next) => async (m, c) => {
      try {
        await next(m, c);
      } catch (err) {
        seen.push(err);
        throw err;
      }
    };
    const skip: HandlerMiddleware = () => () => undefined;
    const boom = new Error('boom');
    await expect(chainHandlers(() => Promise.reject(boom), catching)(message, ctx)).rejects.toBe(boom);
    expect(seen).toEqual([boom]);
    let called = false;
    await chainHandlers(() => {
      called = true;
    }, skip)(message, ctx);
    expect(called).toBe(false);
  });

  it('builds the chain once, not per call', async () => {
    let built = 0;
    const counting: HandlerMiddleware = (next) => {
      built++;
      return next;
    };
    const handler = chainHandlers(() => undefined, counting, counting);
    await handler(message, ctx);
    await handler(message, ctx);
    expect(built).toBe(2);
  });
});

describe('composeMiddleware', () => {
  it('behaves as the middlewares listed in place', async () => {
    const log: string[] = [];
    const handler = chainHandlers(
      () => {
        log.push('base');
      },
      composeMiddleware(tracing('a', log), tracing('b', log)),
      tracing('c', log),
    );
    await handler(message, ctx);
    expect(log).toEqual(['a>', 'b>', 'c>', 'base', '<c', '<b', '<a']);
  });
});
