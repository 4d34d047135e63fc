import { ConfigError, sleep, wrapProducer, type MetricsCollector, type ProducerMiddleware } from '@tributary/core';
import { MockProducer, waitFor } from '@tributary/testutil';
import { errorType, withSendCollector, type SendCollectorOptions } from '@tributary/middleware';
import { recordingLogger } from './support/context';
import { recordingCollector } from './support/recording-collector';

/** An inner middleware that makes each send call take at least `ms`. */
const slowSend =
  (ms: number): ProducerMiddleware =>
  (next) =>
  async (records) => {
    await sleep(ms);
    return next(records);
  };

describe('withSendCollector', () => {
  it('reports each record of a call once, in input order, with its partition and the call duration in ms', async () => {
    const collector = recordingCollector();
    const producer = wrapProducer(new MockProducer({ partitions: 3 }), withSendCollector(collector), slowSend(25));
    await producer.send([
      { topic: 'a', value: '1', partition: 2 },
      { topic: 'b', value: '2', partition: 0 },
      { topic: 'a', value: '3', partition: 1 },
    ]);
    const durationMs = expect.any(Number) as number;
    expect(collector.published).toEqual([
      { topic: 'a', partition: 2, durationMs, ok: true, error: undefined },
      { topic: 'b', partition: 0, durationMs, ok: true, error: undefined },
      { topic: 'a', partition: 1, durationMs, ok: true, error: undefined },
    ]);
    expect(new Set(collector.published.map((p) => p.durationMs)).size).toBe(1);
    expect(collector.published[0]?.durationMs).toBeGreaterThanOrEqual(20);
    expect(collector.consumed).toEqual([]);
  });

  it('respects per-record results: a partly failed call reports each record with its own outcome', async () => {
    const collector = recordingCollector();
    const producer = wrapProducer(new MockProducer({ maxRecordBytes: 10 }), withSendCollector(collector));
    const results = await producer.send([
      { topic: 'a', value: '1', partition: 0 },
      { topic: 'a', value: 'x'.repeat(20) },
      { topic: 'b', value: '3', partition: 0 },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(collector.published.map((p) => [p.topic, p.ok, p.partition])).toEqual([
      ['a', true, 0],
      ['a', false, undefined],
      ['b', true, 0],
    ]);
    const failed = results[1];
    expect(failed?.ok === false ? failed.error : 'not failed').toBe(collector.published[1]?.error);
    expect(errorType(collector.published[1]?.error)).toBe('ERR_RECORD_TOO_LARGE');
  });

  it('reports every record of a rejected call as failed with the rejection, and rethrows it unchanged', async () => {
    const collector = recordingCollector();
    const producer = wrapProducer(new MockProducer().rejectNextSend('ERR_CONNECTION'), withSendCollector(collector));
    const rejection = await producer.send([{ topic: 'a', value: '1' }, { topic: 'b', value: '2' }]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(rejection).toMatchObject({ code: 'ERR_CONNECTION' });
    expect(collector.published).toEqual([
      { topic: 'a', partition: undefined, durationMs: expect.any(Number) as number, ok: false, error: rejection },
      { topic: 'b', partition: undefined, durationMs: expect.any(Number) as number, ok: false, error: rejection },
    ]);
    expect(collector.published[0]?.error).toBe(rejection);
  });

  it('never lets a throwing collector break a send: results and rejections pass through, the throw is logged at warn', async () => {
    const logger = recordingLogger();
    const collector: MetricsCollector = {
      recordConsume: () => undefined,
      recordPublish: () => {
        throw new Error('registry exploded');
      },
    };
    const mock = new MockProducer({ maxRecordBytes: 10 });
    const producer = wrapProducer(mock, withSendCollector(collector, { logger }));
    const results = await producer.send([{ topic: 'a', value: '1' }, { topic: 'b', value: 'x'.repeat(20) }]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(mock.values()).toEqual(['1']);
    expect(logger.entries.map((e) => [e.level, e.fields.method, e.fields.topic, e.msg])).toEqual([
      ['warn', 'recordPublish', 'a', 'metrics collector failed: registry exploded'],
      ['warn', 'recordPublish', 'b', 'metrics collector failed: registry exploded'],
    ]);

    mock.rejectNextSend('ERR_CONNECTION');
    await expect(producer.send([{ topic: 'a', value: '2' }])).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    expect(logger.entries).toHaveLength(3);
  });

  it('logs the rejection of an async collector instead of leaving it unhandled', async () => {
    const logger = recordingLogger();
    const collector: MetricsCollector = {
      recordConsume: () => undefined,
      recordPublish: async () => {
        throw new Error('statsd socket closed');
      },
    };
    const results = await wrapProducer(new MockProducer(), withSendCollector(collector, { logger })).send([{ topic: 'a', value: '1' }]);
    expect(results.map((r) => r.ok)).toEqual([true]);
    await waitFor(() => logger.entries.length === 1, { message: 'the rejection logged' });
    expect(logger.entries[0]).toMatchObject({ level: 'warn', msg: 'metrics collector failed: statsd socket closed' });
  });

  it('validates the collector and options, every problem at once', () => {
    const fields = (collector: unknown, options?: unknown): unknown => {
      try {
        withSendCollector(collector as MetricsCollector, options as SendCollectorOptions);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.field);
        throw err;
      }
      return [];
    };
    expect(fields({ recordPublish: () => undefined })).toEqual(['collector.recordConsume']);
    expect(fields({ recordConsume: () => undefined }, { logger: {} })).toEqual(['collector.recordPublish', 'logger']);
    expect(fields('prometheus')).toEqual(['collector']);
    expect(fields(recordingCollector(), { logger: recordingLogger() })).toEqual([]);
    expect(fields(recordingCollector())).toEqual([]);
  });
});

