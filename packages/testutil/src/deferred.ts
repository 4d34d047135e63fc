/**
 * A promise settled from outside: how a test holds a handler, an ack or a
 * close "in flight" and releases it at a chosen moment, without sleeping.
 */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T | PromiseLike<T>): void;
  reject(reason: unknown): void;
  /** True once `resolve` or `reject` was called. */
  readonly settled: boolean;
}

/** Creates a {@link Deferred}. Later calls to `resolve`/`reject` after the first are ignored. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let settled = false;
  return {
    promise,
    resolve(value) {
      settled = true;
      resolve(value);
    },
    reject(reason) {
      settled = true;
      reject(reason);
    },
    get settled() {
      return settled;
    },
  };
}
