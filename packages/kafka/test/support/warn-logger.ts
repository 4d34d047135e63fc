import type { Logger } from '@tributary/core';

/** A silent logger that keeps the messages logged at warn. */
export function warnLogger(): Logger & { readonly warned: string[] } {
  const warned: string[] = [];
  const ignore = (): void => undefined;
  const logger = {
    warned,
    trace: ignore,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (objOrMsg: object | string, msg?: string): void => void warned.push(typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '')),
    child: () => logger,
  };
  return logger;
}
