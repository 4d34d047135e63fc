import { AssertionError } from 'node:assert';
import { describe, expect, it } from '@jest/globals';
import { assertNoViolations } from '@tributary/testutil';

describe('assertNoViolations', () => {
  it('passes without violations', () => {
    expect(() => assertNoViolations('order', [])).not.toThrow();
  });

  it('throws one AssertionError listing them, at most 20', () => {
    let error: unknown;
    try {
      assertNoViolations('order', Array.from({ length: 25 }, (_, i) => `v${i}`));
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(AssertionError);
    const lines = (error as Error).message.split('\n');
    expect(lines[0]).toBe('order: 25 violation(s)');
    expect(lines.slice(1, 3)).toEqual(['  - v0', '  - v1']);
    expect(lines).toHaveLength(22);
    expect(lines.at(-1)).toBe('  … and 5 more');
  });
});
