import { silentLogger, type HandlerContext } from '@tributary/core';

/** A HandlerContext for calling handlers and middleware directly. */
export function testContext(overrides: Partial<HandlerContext> = {}): HandlerContext {
  return {
    signal: new AbortController().signal,
    attempt: 1,
    groupId: 'g',
    logger: silentLogger,
    control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
    ...overrides,
  };
}
