import { isTributaryError } from '@tributary/core';

/**
 * The `error.type` of a failure, low-cardinality as the conventions ask: a
 * TributaryError's stable code (`ERR_TIMEOUT`), else the error class name
 * (`TypeError`), else `_OTHER`.
 */
export function errorType(err: unknown): string {
  if (isTributaryError(err)) return err.code;
  if (err instanceof Error) return err.name || 'Error';
  return '_OTHER';
}
