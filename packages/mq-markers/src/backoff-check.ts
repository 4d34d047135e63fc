import { Backoff, isTributaryError, type BackoffOptions, type ConfigCheck, type ConfigProblem } from '@tributary/core';

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
  try {
    new Backoff(options);
  } catch (err) {
    const problems = isTributaryError(err) ? (err as { problems?: readonly ConfigProblem[] }).problems : undefined;
    if (problems === undefined) throw err;
    for (const p of problems) check.problem(`${field}.${p.field}`, p.message);
  }
}
