import { type RecordBatch } from '@tributary/core';
import { memory } from '@tributary/memory';
import { createRedeliverer, encodeMarkerKey, encodeMarkerValue } from '@tributary/mq-markers';
import { buildMessage, drivenTransport, waitFor } from '@tributary/testutil';
import { ManualClock, queueFixture, readTopic, text } from './support/fixture';

const T = 10_000;

/**
 * A markers partition that comes back to the same redeliverer while its
 * previous revocation has begun (batch signal aborted) but its onRevoked has
 * not run: the memory transport skips that onRevoked when the partition was
 * reassigned after the rebalance timeout, Kafka may run it late. The new
 * assignment's markers must be tracked and redelivered.
 */
describe('Redeliverer: a markers partition assigned again during its old revocation', () => {
  it('tracks the new assignment’s markers and redelivers its due messages', async () => {
    const base = memory();
    const fx = await queueFixture(base, 1, 'redeliverer-reassign');
    const driven = drivenTransport(base);
    const clock = new ManualClock();
    const producer = fx.track(base.producer());
    await producer.send([{ topic: fx.queue, value: 'job', partition: 0 }]); // queue offset 0
    try {
      const r = fx.track(createRedeliverer(driven.transport, { queue: fx.queue, clock: clock.now, checkIntervalMs: 5, commitIntervalMs: 5 }));
      await r.start();
      const h = driven.handlers();
      const tp = { topic: fx.markersTopic, partition: 0 };
      // The start marker of queue message 0/0 at markers offset 0, as each assignment reads it from the committed offset.
      const batch = (signal: AbortSignal): RecordBatch => ({
        topic: fx.markersTopic,
        partition: 0,
        messages: [
          buildMessage({
            topic: fx.markersTopic,
            partition: 0,
            offset: 0,
            key: encodeMarkerKey({ partition: 0, offset: 0 }),
            value: encodeMarkerValue({ kind: 'start', deadline: clock.now() + T }),
          }),
        ],
        signal,
      });

      await h.onAssigned?.([tp]);
      const first = new AbortController();
      await h.onBatch(batch(first.signal));
      first.abort(); // the revocation begins; the partition comes back before its onRevoked
      await h.onAssigned?.([tp]);
      await h.onBatch(batch(new AbortController().signal));
      expect(r.metrics()).toMatchObject({ markers: 2, open: 1 });
      expect(r.assignment()).toEqual([0]);

      clock.advance(T + 1);
      await waitFor(() => r.metrics().redelivered === 1, { message: 'the due message redelivered', timeoutMs: 3000 });
      expect((await readTopic(base, fx.queue)).map(text)).toEqual(['job', 'job']);
      // Ended by the redelivery: the markers partition commits past its start marker.
      await waitFor(() => driven.commits.flat().some((c) => c.partition === 0 && c.offset === 1), { message: 'committed past the marker' });
    } finally {
      await fx.close();
      await base.close();
    }
  });
});
