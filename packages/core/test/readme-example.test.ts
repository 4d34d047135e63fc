// The quick start of the README, compiled and run. Between the README markers
// is exactly the snippet the README shows (its top-level awaits run inside
// the test function here); the last test checks the two are in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@tributary/testutil';
// README:start
import { createBus, createRouter, eventHandler, routeByEventType } from '@tributary/core';
import { memory } from '@tributary/memory'; // production: kafka({ brokers }) from @tributary/kafka
// README:pause

describe('README quick start', () => {
  it('publishes through the bus and routes by event type', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const listeners = process.listenerCount('SIGINT');
    try {
      // README:resume
      interface OrderCreated { orderId: string; totalCents: number }

      const transport = memory();
      await transport.admin().createTopics([{ topic: 'orders', partitions: 3 }, { topic: 'orders.dlq' }]);

      // Failed records are retried, then dead-lettered to orders.dlq.
      const bus = createBus({ transport, source: 'shop', consumer: { deadLetter: {} } });
      bus.register('order.created', 'orders').register('order.shipped', 'orders');

      const router = createRouter({ key: routeByEventType })
        .handle('order.created', eventHandler<OrderCreated>((e) => console.log('new order', e.data.orderId)))
        .handle('order.*', eventHandler((e) => console.log(e.type, e.subject))); // any other order event
      bus.subscribeTopic('orders', router.handler());

      await bus.start();
      await bus.publish('order.created', { orderId: 'o-1', totalCents: 4200 }, 'o-1'); // key: o-1
      await bus.publish('order.shipped', { carrier: 'dhl' }, 'o-1');

      process.once('SIGINT', () => void bus.shutdown().then(() => transport.close()));
      // README:end

      await waitFor(() => log.mock.calls.length === 2, { message: 'both events handled' });
      expect(log.mock.calls).toEqual([
        ['new order', 'o-1'],
        ['order.shipped', 'o-1'],
      ]);
      process.emit('SIGINT');
      await bus.shutdown(); // the same shutdown the signal started
      await transport.close();
      expect(bus.isRunning()).toBe(false);
      expect(process.listenerCount('SIGINT')).toBe(listeners);
    } finally {
      log.mockRestore();
    }
  });

  it('is the snippet the root README and the core README show', () => {
    const source = readFileSync(__filename, 'utf8');
    const between = (from: string, to: string): string => source.slice(source.indexOf(from) + from.length, source.indexOf(to));
    const dedent = (text: string): string =>
      text
        .split('\n')
        .map((line) => line.replace(/^ {6}/, ''))
        .join('\n')
        .trim();
    const snippet = `${between('// README:start', '// README:pause').trim()}\n\n${dedent(between('// README:resume', '// README:end'))}`;
    for (const readme of ['../../../README.md', '../README.md']) {
      const text = readFileSync(join(__dirname, readme), 'utf8');
      expect(text).toContain('```ts\n' + snippet + '\n```');
    }
  });
});
