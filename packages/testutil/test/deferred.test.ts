import { describe, expect, it } from '@jest/globals';
import { deferred } from '@tributary/testutil';

describe('deferred', () => {
  it('resolves from outside and reports settled', async () => {
    const d = deferred<number>();
    expect(d.settled).toBe(false);
    d.resolve(3);
    expect(d.settled).toBe(true);
    await expect(d.promise).resolves.toBe(3);
  });

  it('rejects from outside; later calls are ignored', async () => {
    const d = deferred();
    d.reject(new Error('no'));
    d.resolve();
    await expect(d.promise).rejects.toThrow('no');
  });
});
