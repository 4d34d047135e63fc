import { ConfigError, type Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import { createMarkerProducer, createQueueTopics, decodeMarkerKey, decodeMarkerValue, defaultMarkersTopic } from '@tributary/mq-markers';
import { uniqueTopic } from '@tributary/testutil';
import { ManualClock, faultyTransport, readTopic } from './support/fixture';

let transport: Transport;
let queue: string;
let markersTopic: string;
beforeEach(async () => {
  transport = memory();
  queue = uniqueTopic('markers');
  markersTopic = defaultMarkersTopic(queue);
  await createQueueTopics(transport, { queue, partitions: 3, deadLetterTopic: false });
});
afterEach(async () => {
  await transport.close();
});

const at = (partition: number, offset: number) => ({ topic: queue, partition, offset });
const key = (partition: number, offset: number) => ({ partition, offset });

describe('MarkerProducer', () => {
  it('writes each marker to the markers partition of the message’s queue partition, keyed by the message, in order', async () => {
    const clock = new ManualClock(1_000_000);
    const markers = createMarkerProducer(transport, { markersTopic, clock: clock.now });
    try {
      await markers.sendStart(at(2, 40), 5000);
      clock.advance(100);
      await markers.sendKeepAlive(at(2, 40), 5000);
      await markers.sendStarts([at(0, 7), at(1, 8)], 3000);
      await markers.sendEnd(at(2, 40));
      const written = await readTopic(transport, markersTopic);
      expect(
        written.map((r) => ({ partition: r.partition, target: decodeMarkerKey(r.key), marker: decodeMarkerValue(r.value), timestamp: r.timestamp })),
      ).toEqual([
        { partition: 0, target: key(0, 7), marker: { kind: 'start', deadline: 1_003_100 }, timestamp: 1_000_100 },
        { partition: 1, target: key(1, 8), marker: { kind: 'start', deadline: 1_003_100 }, timestamp: 1_000_100 },
        { partition: 2, target: key(2, 40), marker: { kind: 'start', deadline: 1_005_000 }, timestamp: 1_000_000 },
        { partition: 2, target: key(2, 40), marker: { kind: 'keep-alive', deadline: 1_005_100 }, timestamp: 1_000_100 },
        { partition: 2, target: key(2, 40), marker: { kind: 'end' }, timestamp: 1_000_100 },
      ]);
    } finally {
      await markers.close();
    }
  });

  it('keeps the order of markers sent without awaiting, across kinds', async () => {
    const markers = createMarkerProducer(transport, { markersTopic });
    try {
      const sends = [markers.sendKeepAlive(at(0, 1), 10), markers.sendEnd(at(0, 1)), markers.sendStart(at(0, 2), 10), markers.sendEnd(at(0, 2))];
      await Promise.all(sends);
      const kinds = (await readTopic(transport, markersTopic)).map((r) => `${decodeMarkerKey(r.key)!.offset}:${decodeMarkerValue(r.value)!.kind}`);
      expect(kinds).toEqual(['1:keep-alive', '1:end', '2:start', '2:end']);
    } finally {
      await markers.close();
    }
  });

  it('sends the start markers of many messages in one transport call', async () => {
    const faulty = faultyTransport(transport);
    const calls: number[] = [];
    faulty.faults.rejectSend = (records) => {
      calls.push(records.length);
      return undefined;
    };
    const markers = createMarkerProducer(faulty, { markersTopic });
    try {
      await markers.sendStarts(Array.from({ length: 50 }, (_, i) => at(i % 3, i)), 1000);
      expect(calls).toEqual([50]);
    } finally {
      await markers.close();
    }
  });

  it('rejects with the marker’s error, e.g. a markers partition that does not exist', async () => {
    const markers = createMarkerProducer(transport, { markersTopic });
    try {
      await expect(markers.sendEnd(at(5, 1))).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
      await expect(markers.sendStarts([at(0, 1), at(5, 1)], 10)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
    } finally {
      await markers.close();
    }
  });

  it('rejects invalid messages and timeouts with ERR_CONFIG without sending', async () => {
    const markers = createMarkerProducer(transport, { markersTopic });
    try {
      await expect(markers.sendEnd({ partition: -1, offset: 1.5 })).rejects.toMatchObject({
        code: 'ERR_CONFIG',
        problems: [{ field: 'partition' }, { field: 'offset' }],
      });
      await expect(markers.sendKeepAlive(at(0, 1), -5)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
      expect(await readTopic(transport, markersTopic)).toEqual([]);
    } finally {
      await markers.close();
    }
  });

  it('close flushes, refuses further markers and leaves a shared producer open', async () => {
    const producer = transport.producer();
    const markers = createMarkerProducer(transport, { markersTopic, producer });
    const pending = markers.sendEnd(at(0, 1));
    await markers.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(markers.sendEnd(at(0, 2))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(producer.send([{ topic: markersTopic, value: 'x' }])).resolves.toHaveLength(1);
  });

  it('reports every invalid option at once', () => {
    let error: unknown;
    try {
      createMarkerProducer(transport, { markersTopic: '', maxBatchRecords: 0, clock: 5 as unknown as () => number });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['markersTopic', 'clock', 'maxBatchRecords']);
  });
});
