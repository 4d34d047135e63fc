import { ClientRegistry, isTributaryError, type Closable } from '@tributary/core';

class FakeClient implements Closable {
  closes = 0;
  constructor(private readonly onClosed: () => void) {}
  async close(): Promise<void> {
    this.closes++;
    this.onClosed();
  }
}

describe('ClientRegistry', () => {
  it('closes every client still open, once, and forgets clients that closed themselves', async () => {
    const registry = new ClientRegistry('test transport');
    const a = registry.track('producer()', (onClosed) => new FakeClient(onClosed));
    const b = registry.track('admin()', (onClosed) => new FakeClient(onClosed));
    await b.close();
    const first = registry.closeAll();
    expect(registry.closeAll()).toBe(first);
    await first;
    expect(a.closes).toBe(1);
    expect(b.closes).toBe(1);
    expect(registry.closed).toBe(true);
  });

  it('refuses new clients after close with ERR_CLOSED naming the call', async () => {
    const registry = new ClientRegistry('test transport');
    await registry.closeAll();
    let created = false;
    let error: unknown;
    try {
      registry.track('groupConsumer()', (onClosed) => {
        created = true;
        return new FakeClient(onClosed);
      });
    } catch (e) {
      error = e;
    }
    expect(created).toBe(false);
    expect(isTributaryError(error) && error.code).toBe('ERR_CLOSED');
    expect((error as Error).message).toBe('test transport is closed: groupConsumer() is not allowed');
  });
});
