import { AssertionError } from 'node:assert';

/**
 * Throws one node `AssertionError` (what test runners render as a test
 * failure) listing every violation — at most 20, then a count — or returns
 * when there are none. Test helpers report with it instead of a
 * TributaryError: a failed assertion is a test outcome, not a runtime error.
 */
export function assertNoViolations(what: string, violations: readonly string[]): void {
  if (violations.length === 0) return;
  const shown = violations.slice(0, 20).map((v) => `  - ${v}`);
  if (violations.length > 20) shown.push(`  … and ${violations.length - 20} more`);
  throw new AssertionError({ message: `${what}: ${violations.length} violation(s)\n${shown.join('\n')}` });
}
