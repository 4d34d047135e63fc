// The quick start of the README, compiled and run. Between the README markers
// is exactly the snippet the README shows (its top-level awaits run inside the
// test function here, its indentation aside); the last test checks the two
// are in step.
import { markedSnippet, readmeBlock } from './support/readme-snippet';
import { waitFor } from '@tributary/testutil';
// README:start
import pino from 'pino';
import { chainHandlers, createConsumer, createEventPublisher, eventHandler, wrapProducer } from '@tributary/core';
import { memory } from '@tributary/memory'; // production: kafka({ brokers }) from @tributary/kafka
import {
  withCircuitBreaker,
  withDeadLetter,
  withDedup,
  withLogging,
  withMetrics,
  withRetry,
  withSendTracing,
  withTimeout,
  withTracing,
} from '@tributary/middleware';
// README:pause

describe('README quick start', () => {
  it('consumes through the recommended chain', async () => {
    // README:resume
    interface Order { orderId: string; totalCents: number }
    const billed: string[] = [];
    async function bill(order: Order, signal: AbortSignal): Promise<void> {
      signal.throwIfAborted(); // stands in for your payment call, which takes the signal
      billed.push(order.orderId);
    }

    const transport = memory();
    await transport.admin().createTopics([{ topic: 'orders', partitions: 3 }, { topic: 'orders.dlq' }]);
    const logger = pino({ level: 'info' });
    const system = transport.system; // messaging.system of spans and metrics

    // Producers inject the trace context into each record's headers.
    const producer = wrapProducer(transport.producer(), withSendTracing({ system }));
    const dlqProducer = wrapProducer(transport.producer(), withSendTracing({ system }));

    // The recommended order, outermost first.
    const handler = chainHandlers(
      eventHandler<Order>(async (event, _message, ctx) => {
        ctx.logger.debug({ orderId: event.data.orderId }, 'billing'); // bound to the record and the trace
        await bill(event.data, ctx.signal); // aborted by withTimeout after 10 s
      }),
      withTracing({ system }),
      withLogging({ logger }),
      withMetrics({ system }),
      withDeadLetter({ producer: dlqProducer }), // → orders.dlq once retries run out
      withDedup(), // skips events (by ce_id) this group already processed
      withRetry({ maxAttempts: 5, initialMs: 200 }),
      withCircuitBreaker({ minCalls: 20, failureRatio: 0.5, coolDownMs: 30_000 }),
      withTimeout({ timeoutMs: 10_000 }),
    );

    // The middleware owns retries and dead-letters: the runtime's own retry is turned off.
    const consumer = createConsumer(transport, { groupId: 'billing', topics: ['orders'], retry: false });
    await consumer.start(handler);

    const publisher = createEventPublisher(producer, { source: 'shop' });
    await publisher.publishKeyed('orders', 'order.created', { orderId: 'o-1', totalCents: 4200 }, 'o-1');
    // README:end

    try {
      await waitFor(() => billed.length === 1, { message: 'the order billed' });
      expect(billed).toEqual(['o-1']);
      expect(consumer.metrics().processed).toBe(1);
    } finally {
      await consumer.stop();
      await producer.close();
      await dlqProducer.close();
      await transport.close();
    }
  });

  it('is the snippet the README shows', () => {
    expect(readmeBlock(/## Quick start/)).toBe(markedSnippet(__filename));
  });
});

/** Removes the indentation common to every non-empty line. */
