import {
  createRouter,
  isTributaryError,
  routeByEventType,
  routeByHeader,
  silentLogger,
  type HandlerContext,
  type Message,
  type MessageHandler,
} from '@tributary/core';

/** What `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const ctx: HandlerContext = {
  signal: new AbortController().signal,
  attempt: 1,
  groupId: 'g',
  logger: silentLogger,
  control: { pause: () => undefined, resume: () => undefined, stop: () => undefined },
};

function msg(topic: string, headers: Record<string, string> = {}): Message {
  return { topic, partition: 0, offset: 7, key: 'k', value: null, timestamp: 0, headers };
}

/** A handler that records its name when it runs. */
function named(name: string, log: string[]): MessageHandler {
  return () => {
    log.push(name);
  };
}

async function routeAll(handler: MessageHandler, topics: string[]): Promise<void> {
  for (const t of topics) await handler(msg(t), ctx);
}

describe('createRouter', () => {
  it('prefers exact over wildcard over default', async () => {
    const log: string[] = [];
    const router = createRouter()
      .default(named('default', log))
      .handle('orders.*', named('wildcard', log))
      .handle('orders.created', named('exact', log));
    await routeAll(router.handler(), ['orders.created', 'orders.paid', 'payments.done']);
    expect(log).toEqual(['exact', 'wildcard', 'default']);
  });

  it('picks the longest matching wildcard whatever the registration order', async () => {
    const log: string[] = [];
    const router = createRouter().handle('orders.*', named('short', log)).handle('orders.eu.*', named('long', log));
    const reversed = createRouter().handle('orders.eu.*', named('long', log)).handle('orders.*', named('short', log));
    await routeAll(router.handler(), ['orders.eu.created', 'orders.us.created']);
    await routeAll(reversed.handler(), ['orders.eu.created', 'orders.us.created']);
    expect(log).toEqual(['long', 'short', 'long', 'short']);
  });

  it('matches wildcards by prefix as the seed does', () => {
    const h: MessageHandler = () => undefined;
    const router = createRouter().handle('orders.*', h);
    expect(router.match('orders.created')).toBe(h);
    expect(router.match('orders.eu.created')).toBe(h); // `*` spans dots
    expect(router.match('orders.')).toBe(h); // empty suffix
    expect(router.match('orders')).toBeUndefined();
    expect(router.match('ordersx.created')).toBeUndefined();
    expect(router.match('x.orders.created')).toBeUndefined();
  });

  it('fails an unroutable record with a non-retriable ERR_UNROUTABLE carrying its coordinates', async () => {
    const router = createRouter().handle('orders.created', () => undefined);
    const handler = router.handler();
    let caught: unknown;
    try {
      await handler(msg('payments.done'), ctx);
    } catch (err) {
      caught = err;
    }
    expect(isTributaryError(caught) && caught.code).toBe('ERR_UNROUTABLE');
    expect(isTributaryError(caught) && caught.retriable).toBe(false);
    expect(isTributaryError(caught) && caught.context).toEqual({ topic: 'payments.done', partition: 0, offset: 7, key: 'k' });
  });

  it('propagates the chosen handler’s result and error', async () => {
    const boom = new Error('boom');
    const handler = createRouter()
      .handle('a', () => Promise.reject(boom))
      .handle('b', async () => undefined)
      .handler();
    await expect(handler(msg('a'), ctx)).rejects.toBe(boom);
    await expect(handler(msg('b'), ctx)).resolves.toBeUndefined();
  });

  it('routes by a custom key such as the event type header', async () => {
    const log: string[] = [];
    const handler = createRouter({ key: routeByEventType })
      .handle('order.created', named('created', log))
      .handle('order.*', named('other-order', log))
      .default(named('default', log))
      .handler();
    await handler(msg('orders', { ce_type: 'order.created' }), ctx);
    await handler(msg('orders', { ce_type: 'order.paid' }), ctx);
    await handler(msg('orders', {}), ctx); // no key: only the default can take it
    expect(log).toEqual(['created', 'other-order', 'default']);
  });

  it('fails a record without a routing key when there is no default', async () => {
    const handler = createRouter({ key: routeByHeader('x-kind') }).handle('a', () => undefined).handler();
    await expect(Promise.resolve().then(() => handler(msg('a'), ctx))).rejects.toMatchObject({ code: 'ERR_UNROUTABLE' });
  });

  it('rejects bad and duplicate patterns with one ConfigError', () => {
    const h: MessageHandler = () => undefined;
    const router = createRouter().handle('a.*', h).handle('a', h);
    expect(thrown(() => router.handle('a', h))).toMatchObject({ code: 'ERR_CONFIG' });
    expect(() => router.handle('a.*', h)).toThrow(/already registered/);
    expect(() => router.handle('', h)).toThrow(/non-empty/);
    expect(() => router.handle('a*', h)).toThrow(/only allowed as a final/);
    expect(() => router.handle('*.b', h)).toThrow(/only allowed as a final/);
    expect(() => router.handle('*', h)).toThrow(/only allowed as a final/);
    expect(() => router.handle('c', 'nope' as unknown as MessageHandler)).toThrow(/handler must be a function/);
    expect(() => createRouter({ key: 'topic' as unknown as () => string })).toThrow(/key must be a function/);
  });

  it('takes registrations made while its handler is running; a dispatched record keeps its handler', async () => {
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const router = createRouter().default(async () => {
      await gate;
      log.push('default');
    });
    const handler = router.handler();
    const inflight = handler(msg('orders.created'), ctx); // dispatched to the default, now blocked
    router.handle('orders.*', named('late-wildcard', log));
    await handler(msg('orders.created'), ctx); // the next record sees the new route
    release();
    await inflight;
    expect(log).toEqual(['late-wildcard', 'default']);
  });
});
