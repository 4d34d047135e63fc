import {
  TributaryError,
  deadLetter,
  isPermanentError,
  isTributaryError,
  unrecoverable,
  type Consumer,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';
import { deferred, uniqueGroup, waitFor, withTimeout, type Deferred } from '@tributary/testutil';
import { RecordingLogger, runtimeFixture } from './support';

/** A dead-letter producer whose sends wait until the test fails them all. */
class HeldProducer implements TransportProducer {
  readonly pending: Deferred<SendResult[]>[] = [];
  connect(): Promise<void> {
    return Promise.resolve();
  }
  send(_records: readonly ProducerRecord[]): Promise<SendResult[]> {
    const d = deferred<SendResult[]>();
    this.pending.push(d);
    return d.promise;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    for (const d of this.pending) d.reject(new Error('closed'));
    return Promise.resolve();
  }
}

describe('consumer fatal paths', () => {
  const fx = runtimeFixture('fatal');
  const { consumer, committed } = fx;

  /** A topic with `count` records in each of its `partitions`. */
  function topicWith(count: number, partitions = 1): Promise<string> {
    const records = Array.from({ length: partitions }, (_, partition) =>
      Array.from({ length: count }, (_unused, i) => ({ partition, key: `k${i}`, value: String(i) })),
    ).flat();
    return fx.topicWith(records, { partitions });
  }

  async function failure(c: Consumer): Promise<unknown> {
    return withTimeout(
      c.wait().then(
        () => undefined,
        (e: unknown) => e,
      ),
      5_000,
      'the consumer to stop',
    );
  }

  describe('a deadLetter.topic function that throws', () => {
    it.each(['record', 'batch'] as const)(
      'stops a %s consumer cleanly with ERR_DEAD_LETTER (cause: the throw): earlier records committed, the record not, onError once',
      async (mode) => {
        const topic = await topicWith(3);
        const groupId = uniqueGroup();
        const errors: unknown[] = [];
        const routeError = new Error('no route for this tenant');
        const c = consumer({
          groupId,
          topics: [topic],
          retry: false,
          batch: { maxRecords: 1, maxWaitMs: 1 },
          deadLetter: {
            topic: () => {
              throw routeError;
            },
          },
          onError: (e) => errors.push(e),
        });
        const poison = unrecoverable(new Error('poison'));
        if (mode === 'record') {
          await c.start((m) => {
            if (m.offset === 1) throw poison;
          });
        } else {
          await c.startBatch((messages) => messages.map((m) => (m.offset === 1 ? deadLetter(poison) : { kind: 'ack' as const })));
        }

        const err = await failure(c);
        expect(isTributaryError(err) && err.code).toBe('ERR_DEAD_LETTER');
        const e = err as Error & { retriable: boolean; context: unknown };
        expect(e.cause).toBe(routeError);
        expect(e.retriable).toBe(false);
        expect(isPermanentError(e)).toBe(true);
        expect(e.context).toMatchObject({ topic, partition: 0, offset: 1 });
        expect(e.message).toContain('deadLetter.topic threw');
        expect(e.message).toContain(`${topic}/0@1`);
        expect(e.message).toContain('poison');
        expect(errors).toEqual([err]);
        expect(c.isRunning()).toBe(false);
        expect(c.metrics().deadLettered).toBe(0);
        expect(await committed(groupId, topic)).toEqual({ 0: 1 });
      },
    );

    it('treats a function that returns no topic name the same way', async () => {
      const topic = await topicWith(1);
      const c = consumer({
        groupId: uniqueGroup(),
        topics: [topic],
        retry: false,
        deadLetter: { topic: () => undefined as unknown as string },
      });
      await c.start(() => {
        throw unrecoverable(new Error('poison'));
      });
      const err = await failure(c);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER', retriable: false, context: { offset: 0 } });
      expect((err as Error).message).toContain('deadLetter.topic returned undefined');
    });
  });

  describe('several partitions failing at once', () => {
    it('report the first fatal error to onError once; the others are logged at warn', async () => {
      const partitions = 3;
      const topic = await topicWith(1, partitions);
      const groupId = uniqueGroup();
      const logger = new RecordingLogger();
      const errors: unknown[] = [];
      const dlq = new HeldProducer();
      const c = consumer({ groupId, topics: [topic], logger, retry: false, deadLetter: { producer: dlq }, onError: (e) => errors.push(e) });
      await c.start((m) => {
        throw unrecoverable(new Error(`poison ${m.partition}`));
      });
      // Every partition's dead-letter publish is in flight; then the dead-letter topic turns out to be unreachable.
      await waitFor(() => dlq.pending.length === partitions, { message: 'a dead-letter publish per partition' });
      for (const d of dlq.pending) d.resolve([{ ok: false, topic: `${topic}.dlq`, error: new TributaryError('ERR_PRODUCE', 'dlq topic unreachable') }]);

      const err = await failure(c);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER' });
      expect(errors).toEqual([err]);
      expect(logger.at('error', 'consumer stopping on error')).toHaveLength(1);
      const further = logger.at('warn', 'further fatal error');
      expect(further).toHaveLength(partitions - 1);
      expect(further.map((l) => l.fields['err'])).not.toContain(err);
      expect(await committed(groupId, topic)).toEqual({});
    });

    it('the dead-letter rate limit reached by several partitions is reported once', async () => {
      const partitions = 3;
      const topic = await topicWith(2, partitions);
      await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
      const errors: unknown[] = [];
      // One dead-letter per window: the first poison record takes it, the others of every partition hit the limit.
      const c = consumer({
        groupId: uniqueGroup(),
        topics: [topic],
        retry: false,
        deadLetter: { rateLimit: { max: 1, windowMs: 60_000 } },
        onError: (e) => errors.push(e),
      });
      let entered = 0;
      const allIn = deferred();
      await c.start(async (m) => {
        if (m.partition === 0 && m.offset === 0) throw unrecoverable(new Error('first poison'));
        // Records of every partition fail together: one barrier releases them in the same turn.
        if (++entered === partitions) allIn.resolve();
        await allIn.promise;
        throw unrecoverable(new Error(`poison ${m.partition}`));
      });
      const err = await failure(c);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE' });
      expect(errors).toEqual([err]);
    });
  });
});
