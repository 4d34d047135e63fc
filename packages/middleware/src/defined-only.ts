/** A copy of `o` without the keys whose value is undefined, so spreading it over defaults keeps those defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
