import { buildRecord, deferred } from '@tributary/testutil';
import { ProduceFuture } from '../../src/producer/produce-future';
import type { ProduceResult } from '../../src/producer/produce-result';

describe('ProduceFuture', () => {
  it('exposes the outcome once known', async () => {
    const outcome = deferred<ProduceResult>();
    const future = new ProduceFuture(buildRecord(), outcome.promise);
    expect(future.done).toBe(false);
    expect(future.result).toBeUndefined();
    outcome.resolve({ topic: 't', partition: 0, offset: 3 });
    await expect(future.wait()).resolves.toEqual({ topic: 't', partition: 0, offset: 3 });
    expect(future.done).toBe(true);
    expect(future.result).toEqual({ topic: 't', partition: 0, offset: 3 });
  });

  it('a failure nobody awaits is not an unhandled rejection; wait() still rejects with it', async () => {
    const outcome = deferred<ProduceResult>();
    const future = new ProduceFuture(buildRecord(), outcome.promise);
    const boom = new Error('boom');
    outcome.reject(boom);
    await new Promise((resolve) => setImmediate(resolve));
    expect(future.done).toBe(true);
    expect(future.error).toBe(boom);
    await expect(future.wait()).rejects.toBe(boom);
  });

  it('is not a thenable, so awaiting produceAsync yields the handle, not the outcome', () => {
    const future = new ProduceFuture(buildRecord(), new Promise(() => undefined));
    expect((future as unknown as { then?: unknown }).then).toBeUndefined();
  });
});
