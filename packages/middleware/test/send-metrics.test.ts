import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
} from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { wrapProducer } from '@tributary/core';
import { MockProducer } from '@tributary/testutil';
import { withSendMetrics } from '@tributary/middleware';
import { histogramCounts, metricsPerTest, points } from './support/otel';

const sendAttrs = (topic: string): Record<string, string> => ({
  [ATTR_MESSAGING_SYSTEM]: 'kafka',
  [ATTR_MESSAGING_DESTINATION_NAME]: topic,
  [ATTR_MESSAGING_OPERATION_NAME]: 'send',
});

describe('withSendMetrics', () => {
  const otel = metricsPerTest();

  it('counts sent messages per record and times each call per topic', async () => {
    const producer = wrapProducer(new MockProducer({ maxRecordBytes: 10 }), withSendMetrics({ meterProvider: otel.provider }));
    const results = await producer.send([
      { topic: 'a', value: '1', partition: 0 },
      { topic: 'a', value: 'x'.repeat(20) },
      { topic: 'b', value: '3', partition: 0 },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const m = await otel.collect();
    expect(points(m.get(METRIC_MESSAGING_CLIENT_SENT_MESSAGES))).toEqual(
      expect.arrayContaining([
        [{ ...sendAttrs('a'), [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: '0' }, 1],
        [{ ...sendAttrs('a'), [ATTR_ERROR_TYPE]: 'ERR_RECORD_TOO_LARGE' }, 1],
        [{ ...sendAttrs('b'), [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: '0' }, 1],
      ]),
    );
    expect(points(m.get(METRIC_MESSAGING_CLIENT_SENT_MESSAGES))).toHaveLength(3);
    expect(histogramCounts(m.get(METRIC_MESSAGING_CLIENT_OPERATION_DURATION))).toEqual(
      expect.arrayContaining([
        [{ ...sendAttrs('a'), [ATTR_MESSAGING_OPERATION_TYPE]: 'send', [ATTR_ERROR_TYPE]: 'ERR_RECORD_TOO_LARGE' }, 1],
        [{ ...sendAttrs('b'), [ATTR_MESSAGING_OPERATION_TYPE]: 'send' }, 1],
      ]),
    );
    expect(m.get(METRIC_MESSAGING_CLIENT_OPERATION_DURATION)?.descriptor.unit).toBe('s');
  });

  it('counts every record of a rejected call as failed, and rethrows', async () => {
    const producer = wrapProducer(new MockProducer().rejectNextSend('ERR_CONNECTION'), withSendMetrics({ meterProvider: otel.provider, system: 'memory' }));
    await expect(producer.send([{ topic: 'a', value: '1' }, { topic: 'a', value: '2' }])).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    const m = await otel.collect();
    expect(points(m.get(METRIC_MESSAGING_CLIENT_SENT_MESSAGES))).toEqual([[{ ...sendAttrs('a'), [ATTR_MESSAGING_SYSTEM]: 'memory', [ATTR_ERROR_TYPE]: 'ERR_CONNECTION' }, 2]]);
  });
});
