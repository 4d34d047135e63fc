import { ConfigError, type ConfigProblem } from './errors';

/**
 * Collects configuration problems so a constructor can report every bad field
 * in one ConfigError (fastify's habit: defaults → validate all → freeze).
 */
export class ConfigCheck {
  readonly #component: string;
  readonly #problems: ConfigProblem[] = [];

  constructor(component: string) {
    this.#component = component;
  }

  /** Records a problem with `field` when `ok` is false. */
  check(ok: boolean, field: string, message: string): this {
    if (!ok) this.#problems.push({ field, message });
    return this;
  }

  problem(field: string, message: string): this {
    this.#problems.push({ field, message });
    return this;
  }

  /** `value` must be an integer in [min, max]. */
  integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): this {
    return this.check(
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max,
      field,
      `must be an integer between ${min} and ${max === Number.MAX_SAFE_INTEGER ? 'MAX_SAFE_INTEGER' : max} (got ${describe(value)})`,
    );
  }

  /** `value` must be a finite number in [min, max]. */
  number(value: unknown, field: string, min: number, max = Number.MAX_VALUE): this {
    return this.check(
      typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max,
      field,
      `must be a number between ${min} and ${max === Number.MAX_VALUE ? 'MAX_VALUE' : max} (got ${describe(value)})`,
    );
  }

  /** `value` must be a non-empty string. */
  nonEmptyString(value: unknown, field: string): this {
    return this.check(typeof value === 'string' && value.length > 0, field, `must be a non-empty string (got ${describe(value)})`);
  }

  /** `value` must be one of `allowed`. */
  oneOf(value: unknown, field: string, allowed: readonly unknown[]): this {
    return this.check(allowed.includes(value), field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${describe(value)})`);
  }

  /** `value` must be a function (or undefined when optional). */
  fn(value: unknown, field: string, optional = true): this {
    return this.check((optional && value === undefined) || typeof value === 'function', field, `must be a function (got ${describe(value)})`);
  }

  /**
   * Runs `build` — a constructor or factory that validates its own options —
   * and folds a ConfigError it throws into this check, each field named
   * `<prefix>.<field>` (as is when `prefix` is empty). Returns what `build`
   * returned, or undefined when it was invalid; any other error propagates.
   */
  nested<T>(prefix: string, build: () => T): T | undefined {
    try {
      return build();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) this.problem(prefix ? `${prefix}.${p.field}` : p.field, p.message);
      return undefined;
    }
  }

  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  /** Throws one ConfigError naming every problem, if there are any. */
  throwIfInvalid(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#component, this.#problems);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/**
 * Freezes a resolved options object the caller built, deeply, without
 * touching anything a user still owns: nested arrays and plain data objects
 * (no function-valued properties) are replaced by frozen copies, so a user's
 * `topics` array or `headers` object stays theirs to change; functions,
 * class instances and plain objects with methods (a logger, a producer, a
 * store) are shared as they are, neither copied nor frozen. Returns `value`
 * itself, frozen when it is a plain object or an array.
 */
export function freezeOptions<T>(value: T): Readonly<T> {
  if (isPlainObject(value) || Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = frozenCopy(record[key]);
    Object.freeze(value);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function frozenCopy(value: unknown): unknown {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy));
  if (isPlainObject(value) && !Object.values(value).some((v) => typeof v === 'function')) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = frozenCopy(value[key]);
    return Object.freeze(copy);
  }
  return value;
}
