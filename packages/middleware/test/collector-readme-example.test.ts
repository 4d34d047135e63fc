// The withCollector example of the README, compiled and run on the memory
// transport. Between the README markers is exactly the snippet the README
// shows (its indentation aside); the last test checks the two are in step.
import { markedSnippet, readmeBlock } from './support/readme-snippet';
import { createConsumer, silentLogger, type Message } from '@tributary/core';
import { memory } from '@tributary/memory';
import { textOf, uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';
// README:start
import { chainHandlers, wrapProducer, type MetricsCollector } from '@tributary/core';
import { errorType, withCollector, withRetry, withSendCollector } from '@tributary/middleware';
// README:pause

describe('README collector example', () => {
  it('counts records consumed and published in Prometheus text format', async () => {
    const transport = memory();
    const topic = uniqueTopic('orders');
    const missing = uniqueTopic('missing');
    const groupId = uniqueGroup('billing');
    await transport.admin().createTopics([{ topic, partitions: 1 }]);
    const logger = silentLogger;
    const consumer = createConsumer(transport, { groupId, topics: [topic], retry: false });
    let failedOnce = false;
    const handler = (m: Message): void => {
      if (textOf(m.value) === 'flaky' && !failedOnce) {
        failedOnce = true;
        throw new Error('db hiccup');
      }
    };
    // README:resume
    const series = new Map<string, number>(); // Prometheus text format by hand; prom-client's inc/observe fit here too
    const add = (name: string, by = 1): void => void series.set(name, (series.get(name) ?? 0) + by);
    const collector: MetricsCollector = {
      recordConsume({ topic, groupId, outcome, error, durationMs }) {
        const labels = `topic="${topic}",group="${groupId ?? ''}",outcome="${outcome}",error_type="${error === undefined ? '' : errorType(error)}"`;
        add(`tributary_consumed_total{${labels}}`);
        add(`tributary_consume_seconds_sum{${labels}}`, durationMs / 1000);
      },
      recordPublish: ({ topic, ok, error }) => add(`tributary_published_total{topic="${topic}",error_type="${ok ? '' : errorType(error)}"}`),
    };
    const metricsText = (): string => [...series].map(([name, value]) => `${name} ${value}`).join('\n'); // serve on GET /metrics

    const producer = wrapProducer(transport.producer(), withSendCollector(collector, { logger }));
    await consumer.start(chainHandlers(handler, withCollector(collector), withRetry()));
    // README:end

    try {
      await producer.send([
        { topic, value: 'ok' },
        { topic, value: 'flaky' },
        { topic: missing, value: 'lost' },
      ]);
      const consumed = `tributary_consumed_total{topic="${topic}",group="${groupId}",outcome="processed",error_type=""}`;
      await waitFor(() => series.get(consumed) === 2, { message: 'two records counted as processed' });
      const lines = metricsText().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          `${consumed} 2`,
          `tributary_published_total{topic="${topic}",error_type=""} 2`,
          `tributary_published_total{topic="${missing}",error_type="ERR_UNKNOWN_TOPIC"} 1`,
        ]),
      );
      expect(lines).toHaveLength(4); // the two above, their duration sum, and the failed publish
      expect(failedOnce).toBe(true); // the flaky record was retried inside, not reported as failed
    } finally {
      await consumer.stop();
      await producer.close();
      await transport.close();
    }
  });

  it('is the snippet the README shows', () => {
    expect(readmeBlock(/### withCollector, withSendCollector/)).toBe(markedSnippet(__filename));
  });
});

/** Removes the indentation common to every non-empty line. */
