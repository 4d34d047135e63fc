import { Backoff, type BackoffOptions, type ConfigCheck } from '@tributary/core';

/**
 * Validates a nested backoff policy into `check` (problems named
 * `<field>.<option>`), so a bad policy fails at construction with the other
 * problems instead of at its first retry.
 */
export function checkBackoff(check: ConfigCheck, options: BackoffOptions | undefined, field: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    check.problem(field, 'must be backoff options (an object)');
    return;
  }
  check.nested(field, () => new Backoff(options));
}
