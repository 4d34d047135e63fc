import { createEventRegistry, isTributaryError } from '@tributary/core';

/** What `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('createEventRegistry', () => {
  it('maps event types to topics', () => {
    const registry = createEventRegistry({ 'order.created': 'orders' }).register('order.paid', 'orders').register('user.joined', 'users');
    expect(registry.topicOf('order.created')).toBe('orders');
    expect(registry.topicOf('order.paid')).toBe('orders');
    expect(registry.topicOf('user.joined')).toBe('users');
    expect(registry.find('nope')).toBeUndefined();
    expect(registry.has('order.paid')).toBe(true);
    expect([...registry.entries()]).toEqual([
      ['order.created', 'orders'],
      ['order.paid', 'orders'],
      ['user.joined', 'users'],
    ]);
  });

  it('fails topicOf an unknown type with a non-retriable ERR_EVENT_NOT_FOUND', () => {
    let caught: unknown;
    try {
      createEventRegistry().topicOf('order.created');
    } catch (err) {
      caught = err;
    }
    expect(isTributaryError(caught) && [caught.code, caught.retriable]).toEqual(['ERR_EVENT_NOT_FOUND', false]);
    expect((caught as Error).message).toContain('order.created');
  });

  it('accepts the same registration twice but refuses to move a type to another topic', () => {
    const registry = createEventRegistry().register('a', 't1').register('a', 't1');
    expect(thrown(() => registry.register('a', 't2'))).toMatchObject({ code: 'ERR_CONFIG' });
    expect(registry.topicOf('a')).toBe('t1');
    expect(() => registry.register('', '')).toThrow(/eventType must be a non-empty string.*topic must be a non-empty string/);
  });

  it('hands out a copy of its entries', () => {
    const registry = createEventRegistry({ a: 't' });
    (registry.entries() as Map<string, string>).set('b', 't');
    expect(registry.has('b')).toBe(false);
  });
});
