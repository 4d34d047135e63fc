import {
  ConfigError,
  TributaryError,
  chainHandlers,
  createConsumer,
  sleep,
  unrecoverable,
  wrapProducer,
  type Consumer,
  type ConsumeObservation,
  type Message,
  type MetricsCollector,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { memory } from '@tributary/memory';
import { MockProducer, buildMessage, textOf, uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';
import { errorType, withCollector, withDeadLetter, withDedup, withRetry, withSendCollector } from '@tributary/middleware';
import { recordingLogger, run, testContext } from './support/context';
import { recordingCollector } from './support/recording-collector';

const message = buildMessage({ topic: 'orders', partition: 1, offset: 5, key: 'k', headers: { ce_id: 'evt-1' } });

describe('withCollector', () => {
  it('reports a processed record once, with topic, partition, group and its duration in ms', async () => {
    const collector = recordingCollector();
    const handler = chainHandlers(() => sleep(25), withCollector(collector));
    await run(handler, message, testContext().ctx);
    expect(collector.consumed).toEqual([
      { topic: 'orders', partition: 1, groupId: 'test-group', durationMs: expect.any(Number) as number, outcome: 'processed', error: undefined, retries: 0 },
    ]);
    expect(collector.consumed[0]?.durationMs).toBeGreaterThanOrEqual(20);
    expect(collector.published).toEqual([]);
  });

  it('reports no group for partition consumers', async () => {
    const collector = recordingCollector();
    await run(chainHandlers(() => undefined, withCollector(collector)), message, testContext({ groupId: undefined }).ctx);
    expect(collector.consumed).toEqual([expect.objectContaining({ groupId: undefined, outcome: 'processed' })]);
  });

  it('reports a failure with the error thrown, and rethrows it unchanged', async () => {
    const collector = recordingCollector();
    const error = new TributaryError('ERR_TIMEOUT', 'slow');
    const handler = chainHandlers(() => {
      throw error;
    }, withCollector(collector));
    await expect(run(handler, message, testContext().ctx)).rejects.toBe(error);
    expect(collector.consumed).toEqual([expect.objectContaining({ topic: 'orders', partition: 1, outcome: 'failed', retries: 0 })]);
    expect(collector.consumed[0]?.error).toBe(error);
    expect(errorType(collector.consumed[0]?.error)).toBe('ERR_TIMEOUT');
  });

  it('reports a thrown undefined as failed: the outcome, not the error, says whether it succeeded', async () => {
    const collector = recordingCollector();
    const nothing: unknown = undefined;
    const handler = chainHandlers(() => {
      throw nothing;
    }, withCollector(collector));
    await expect(run(handler, message, testContext().ctx)).rejects.toBeUndefined();
    expect(collector.consumed).toEqual([expect.objectContaining({ outcome: 'failed', error: undefined })]);
  });

  it('reports retries, dead-letters and duplicates that happen further in', async () => {
    const collector = recordingCollector();
    let fail = true;
    const handler = chainHandlers(
      () => {
        if (fail) throw new Error('db down');
      },
      withCollector(collector),
      withDeadLetter({ producer: new MockProducer() }),
      withDedup(),
      withRetry({ initialMs: 1, maxMs: 1, maxAttempts: 3 }),
    );
    await run(handler, message, testContext().ctx); // 2 retries, then dead-lettered
    fail = false;
    await run(handler, message, testContext().ctx); // processed (a dead-letter is not committed to dedup)
    await run(handler, message, testContext().ctx); // duplicate
    expect(collector.consumed.map((o) => [o.outcome, o.retries, o.error === undefined ? undefined : errorType(o.error)])).toEqual([
      ['dead-lettered', 2, 'ERR_RETRIES_EXHAUSTED'],
      ['processed', 0, undefined],
      ['duplicate', 0, undefined],
    ]);
  });

  it('never lets a throwing collector change the outcome: the throw is logged at warn and dropped', async () => {
    const logger = recordingLogger();
    const collector: MetricsCollector = {
      recordConsume: () => {
        throw new Error('registry exploded');
      },
      recordPublish: () => undefined,
    };
    let calls = 0;
    const handlerError = new Error('handler failed');
    const handler = chainHandlers((m: Message) => {
      calls++;
      if (textOf(m.value) === 'bad') throw handlerError;
    }, withCollector(collector));
    await run(handler, message, testContext({ logger }).ctx);
    await expect(run(handler, buildMessage({ topic: 'orders', partition: 2, value: 'bad' }), testContext({ logger }).ctx)).rejects.toBe(handlerError);
    expect(calls).toBe(2);
    expect(logger.entries).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ method: 'recordConsume', topic: 'orders', partition: 1 }) as unknown }),
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ method: 'recordConsume', topic: 'orders', partition: 2 }) as unknown }),
    ]);
    expect(logger.entries[0]?.fields.err).toMatchObject({ message: 'registry exploded' });
    expect(logger.entries[0]?.msg).toBe('metrics collector failed: registry exploded');
  });

  it('logs the rejection of an async collector instead of leaving it unhandled', async () => {
    const logger = recordingLogger();
    const collector: MetricsCollector = {
      recordConsume: async () => {
        throw new Error('push gateway down');
      },
      recordPublish: () => undefined,
    };
    await run(chainHandlers(() => undefined, withCollector(collector)), message, testContext({ logger }).ctx);
    await waitFor(() => logger.entries.length === 1, { message: 'the rejection logged' });
    expect(logger.entries[0]).toMatchObject({ level: 'warn', msg: 'metrics collector failed: push gateway down' });
  });

  it('survives a logger that throws too', async () => {
    const collector: MetricsCollector = {
      recordConsume: () => {
        throw new Error('collector');
      },
      recordPublish: () => undefined,
    };
    const logger = {
      ...recordingLogger(),
      warn: () => {
        throw new Error('logger');
      },
    };
    let handled = false;
    await run(chainHandlers(() => void (handled = true), withCollector(collector)), message, testContext({ logger }).ctx);
    expect(handled).toBe(true);
  });

  it('calls the collector as a method, so class-based collectors keep their `this`', async () => {
    class Counting implements MetricsCollector {
      readonly seen: ConsumeObservation[] = [];
      recordConsume(observation: ConsumeObservation): void {
        this.seen.push(observation);
      }
      recordPublish(): void {}
    }
    const collector = new Counting();
    const logger = recordingLogger();
    await run(chainHandlers(() => undefined, withCollector(collector)), message, testContext({ logger }).ctx);
    expect(collector.seen).toHaveLength(1);
    expect(logger.entries).toEqual([]);
  });

  it('rejects a collector that is not one, naming each missing method', () => {
    const problems = (collector: unknown): unknown => {
      try {
        withCollector(collector as MetricsCollector);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.field);
        throw err;
      }
      return [];
    };
    expect(problems({ recordConsume: () => undefined })).toEqual(['collector.recordPublish']);
    expect(problems({ recordConsume: 'yes', recordPublished: () => undefined })).toEqual(['collector.recordConsume', 'collector.recordPublish']);
    expect(problems(undefined)).toEqual(['collector']);
    expect(problems(null)).toEqual(['collector']);
    expect(problems(recordingCollector())).toEqual([]);
  });

  describe('end to end (memory transport, core consumer runtime, wrapped producers)', () => {
    let transport: Transport;
    const consumers: Consumer[] = [];
    const producers: TransportProducer[] = [];

    beforeEach(() => {
      transport = memory();
    });

    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((c) => c.stop()));
      await Promise.all(producers.splice(0).map((p) => p.close()));
      await transport.close();
    });

    it('reports every record published and consumed, a partial send failure and a dead-letter included', async () => {
      const topic = uniqueTopic('orders');
      const missing = uniqueTopic('missing');
      const groupId = uniqueGroup('billing');
      await transport.admin().createTopics([{ topic, partitions: 2 }, { topic: `${topic}.dlq` }]);
      const collector = recordingCollector();
      const producer = wrapProducer(transport.producer(), withSendCollector(collector));
      const dlqProducer = wrapProducer(transport.producer(), withSendCollector(collector));
      producers.push(producer, dlqProducer);

      const values = ['a', 'b', 'bad', 'c', 'd', 'e'];
      const results = await producer.send([...values.map((value, i) => ({ topic, key: `k${i}`, value })), { topic: missing, value: 'lost' }]);

      // One observation per record; the record to the missing topic failed alone.
      expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, true, false]);
      expect(collector.published.map((p) => [p.topic, p.ok, p.partition])).toEqual(
        results.map((r) => [r.topic, r.ok, r.ok ? r.partition : undefined]),
      );
      expect(errorType(collector.published[6]?.error)).toBe('ERR_UNKNOWN_TOPIC');
      expect(new Set(collector.published.map((p) => p.durationMs)).size).toBe(1);

      const consumer = createConsumer(transport, { groupId, topics: [topic], retry: false });
      consumers.push(consumer);
      await consumer.start(
        chainHandlers(
          (m: Message) => {
            if (textOf(m.value) === 'bad') throw unrecoverable(new Error('malformed order'));
          },
          withCollector(collector),
          withDeadLetter({ producer: dlqProducer }),
        ),
      );
      await waitFor(() => collector.consumed.length === values.length, { message: `${values.length} records reported` });

      const partitionOf = new Map(results.flatMap((r, i) => (r.ok ? [[values[i], r.partition] as const] : [])));
      expect(collector.consumed.every((o) => o.topic === topic && o.groupId === groupId && o.retries === 0)).toBe(true);
      expect(collector.consumed.filter((o) => o.outcome === 'processed')).toHaveLength(5);
      const deadLettered = collector.consumed.filter((o) => o.outcome === 'dead-lettered');
      expect(deadLettered).toHaveLength(1);
      expect(deadLettered[0]?.partition).toBe(partitionOf.get('bad'));
      expect(errorType(deadLettered[0]?.error)).toBe('ERR_UNRECOVERABLE');
      for (const partition of [0, 1]) {
        expect(collector.consumed.filter((o) => o.partition === partition)).toHaveLength([...partitionOf.values()].filter((p) => p === partition).length);
      }

      // The dead-letter publish went through the collecting producer too.
      await waitFor(() => collector.published.length === 8, { message: 'the dead-letter publish reported' });
      expect(collector.published[7]).toMatchObject({ topic: `${topic}.dlq`, ok: true, partition: 0, error: undefined });
    });
  });
});
