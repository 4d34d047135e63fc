import {
  ConfigError,
  DeadLetterHeaders,
  createConsumer,
  deadLetter,
  isPermanentError,
  isTributaryError,
  unrecoverable,
  type Consumer,
  type ConsumerOptions,
  type StallInfo,
  type TributaryError,
} from '@tributary/core';
import { uniqueGroup, waitFor, wrapTransport } from '@tributary/testutil';
import { RecordingLogger, runtimeFixture, type TopicRecord } from './support';

/** Every API but the watchdog's (setInterval and its monotonic clock) stays real: the memory transport keeps running. */
const REAL_EXCEPT_WATCHDOG = [
  'Date',
  'hrtime',
  'nextTick',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setTimeout',
  'clearTimeout',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
] as const;

describe('consumer guardrails', () => {
  const fx = runtimeFixture('guard');
  const { consumer, committed, readAll } = fx;
  /** A gate a handler waits on; opened at teardown. */
  const gate = (): Promise<void> => fx.gate().promise;
  const topicWith = (records: readonly TopicRecord[], partitions = 1): Promise<string> => fx.topicWith(records, { partitions });
  const numbered = (count: number): TopicRecord[] => Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: String(i) }));

  async function highWatermark(topic: string): Promise<number> {
    return (await fx.transport.admin().fetchTopicOffsets(topic))[0]?.high ?? -1;
  }

  async function failure(c: Consumer): Promise<unknown> {
    return c.wait().then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  describe('stall watchdog', () => {
    it('warns once per stalled record, counts it, calls onStall, never aborts it, and logs the recovery', async () => {
      // Two partitions: P0's first record blocks throughout; P1's first record stalls and recovers,
      // then its second stalls too — by then P0 has been stalled for many watchdog ticks.
      const topic = await topicWith(
        [
          { key: 'a', value: 'p0-0', partition: 0 },
          { key: 'b', value: 'p0-1', partition: 0 },
          { key: 'c', value: 'p1-0', partition: 1 },
          { key: 'd', value: 'p1-1', partition: 1 },
        ],
        2,
      );
      const groupId = uniqueGroup();
      const logger = new RecordingLogger();
      const stalls: StallInfo[] = [];
      const p0 = gate();
      const p1First = fx.gate();
      const p1Second = gate();
      const signals: AbortSignal[] = [];
      const c = consumer({
        groupId,
        topics: [topic],
        logger,
        stallWarningMs: 50,
        onStall: (info) => {
          stalls.push(info);
          if (stalls.length === 1) throw new Error('a broken hook');
        },
      });
      await c.start(async (m, ctx) => {
        signals.push(ctx.signal);
        if (m.partition === 0 && m.offset === 0) await p0;
        if (m.partition === 1 && m.offset === 0) await p1First.promise;
        if (m.partition === 1 && m.offset === 1) await p1Second;
      });

      await waitFor(() => stalls.length === 2, { message: 'both first records reported stalled' });
      const first = stalls.find((s) => s.partition === 0);
      expect(first).toEqual({ groupId, topic, partition: 0, offset: 0, runningMs: expect.any(Number) as number });
      expect(first?.runningMs).toBeGreaterThanOrEqual(50);
      const warn = logger.at('warn', `${topic}/0 stalled`);
      expect(warn).toHaveLength(1);
      expect(warn[0]?.fields).toMatchObject({ groupId, topic, partition: 0, offset: 0, stallWarningMs: 50 });
      expect(warn[0]?.msg).toContain('offset 0');
      // The hook threw on its first call: logged, and the watchdog carried on.
      expect(logger.at('error', 'onStall threw')).toHaveLength(1);

      p1First.resolve();
      await waitFor(() => stalls.some((s) => s.partition === 1 && s.offset === 1), { message: 'P1 offset 1 reported stalled' });
      const p1Recovered = logger.at('info', `${topic}/1 recovered`);
      expect(p1Recovered).toHaveLength(1);
      expect(p1Recovered[0]?.fields).toMatchObject({ groupId, topic, partition: 1, offset: 0 });
      expect(p1Recovered[0]?.fields['durationMs']).toEqual(expect.any(Number));
      expect(p1Recovered[0]?.fields['durationMs'] as number).toBeGreaterThanOrEqual(50);

      // P0 has been stalled for at least another 50 ms of ticks: still one report.
      expect(stalls.filter((s) => s.partition === 0)).toHaveLength(1);
      expect(logger.at('warn', `${topic}/0 stalled`)).toHaveLength(1);
      expect(c.metrics().stalls).toBe(3);
      expect(signals.some((s) => s.aborted)).toBe(false);
      expect(c.metrics().processed).toBe(1);

      fx.openGates();
      await waitFor(() => c.metrics().processed === 4, { message: 'everything processed once released' });
      await waitFor(() => logger.at('info', `${topic}/0 recovered`).length === 1, { message: 'P0 recovery logged' });
      expect(logger.at('info', `${topic}/0 recovered`)[0]?.fields).toMatchObject({ partition: 0, offset: 0 });
      expect(logger.at('info', `${topic}/1 recovered`)).toHaveLength(2);
      await waitFor(async () => {
        const c2 = await committed(groupId, topic);
        return c2[0] === 2 && c2[1] === 2;
      }, { message: 'both partitions committed to the end' });
      expect(c.metrics().stalls).toBe(3);
    });

    it('for a batch handler, names the first record not yet done, counting retries as part of the work', async () => {
      const topic = await topicWith(numbered(3));
      const logger = new RecordingLogger();
      const stalls: StallInfo[] = [];
      const slowRetry = gate();
      const c = consumer({
        groupId: uniqueGroup(),
        topics: [topic],
        logger,
        stallWarningMs: 50,
        onStall: (info) => stalls.push(info),
        retry: { initialMs: 1, maxMs: 2, maxAttempts: 3 },
        batch: { maxRecords: 3, maxWaitMs: 10 },
      });
      const calls: number[][] = [];
      await c.startBatch(async (messages, ctx) => {
        calls.push(messages.map((m) => m.offset));
        if (ctx.attempt === 1) return messages.map((m) => (m.offset === 0 ? { kind: 'ack' } : { kind: 'retry' }));
        await slowRetry;
        return undefined;
      });
      await waitFor(() => stalls.length === 1, { message: 'the retried batch reported stalled' });
      expect(calls).toEqual([[0, 1, 2], [1, 2]]);
      expect(stalls[0]).toMatchObject({ topic, partition: 0, offset: 1 });
      expect(logger.at('warn', 'stalled')[0]?.fields).toMatchObject({ topic, partition: 0, offset: 1 });

      fx.openGates();
      await waitFor(() => c.metrics().processed === 3, { message: 'all processed' });
      const recovered = logger.at('info', 'recovered');
      expect(recovered).toHaveLength(1);
      expect(recovered[0]?.fields).toMatchObject({ topic, partition: 0, offset: 1 });
      expect(c.metrics().stalls).toBe(1);
    });

    it('defaults to 30 s, is off with false or 0, and runs one timer per consumer, cleared on stop', async () => {
      jest.useFakeTimers({ doNotFake: [...REAL_EXCEPT_WATCHDOG] });
      try {
        const blocked = gate();
        const start = async (stallWarningMs: number | false | undefined): Promise<{ c: Consumer; logger: RecordingLogger }> => {
          const topic = await topicWith(
            [0, 1, 2].map((partition) => ({ key: `k${partition}`, value: 'v', partition })),
            3,
          );
          const logger = new RecordingLogger();
          const c = consumer({ groupId: uniqueGroup(), topics: [topic], logger, ...(stallWarningMs === undefined ? {} : { stallWarningMs }) });
          let entered = 0;
          await c.start(async () => {
            entered++;
            await blocked;
          });
          await waitFor(() => entered === 3, { message: 'a handler running on each of three partitions' });
          return { c, logger };
        };
        const byDefault = await start(undefined);
        const off = await start(false);
        const zero = await start(0);
        // One watchdog for three busy partitions; none for the disabled consumers.
        expect(jest.getTimerCount()).toBe(1);

        jest.advanceTimersByTime(29_000);
        expect(byDefault.c.metrics().stalls).toBe(0);
        jest.advanceTimersByTime(2_000);
        expect(byDefault.c.metrics().stalls).toBe(3);
        expect(byDefault.logger.at('warn', 'stalled')).toHaveLength(3);
        expect(byDefault.logger.at('warn', 'stalled')[0]?.fields['runningMs'] as number).toBeGreaterThanOrEqual(30_000);
        jest.advanceTimersByTime(120_000);
        expect(byDefault.c.metrics().stalls).toBe(3);
        for (const { c, logger } of [off, zero]) {
          expect(c.metrics().stalls).toBe(0);
          expect(logger.at('warn', 'stalled')).toHaveLength(0);
        }

        fx.openGates();
        await waitFor(() => byDefault.c.metrics().processed === 3, { message: 'released' });
        expect(byDefault.logger.at('info', 'recovered')).toHaveLength(3);
        await Promise.all([byDefault.c.stop(), off.c.stop(), zero.c.stop()]);
        expect(jest.getTimerCount()).toBe(0);
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('dead-letter rate limit', () => {
    it('stops with ERR_DEAD_LETTER_RATE at the record past the limit: not dead-lettered, not committed, delivered again', async () => {
      const topic = await topicWith(numbered(4));
      await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
      const groupId = uniqueGroup();
      const logger = new RecordingLogger();
      const errors: unknown[] = [];
      const c = consumer({
        groupId,
        topics: [topic],
        logger,
        retry: false,
        deadLetter: { rateLimit: { max: 3, windowMs: 60_000 } },
        onError: (e) => errors.push(e),
      });
      await c.start((m) => {
        throw unrecoverable(new Error(`poison ${m.offset}`));
      });

      const err = await failure(c);
      expect(isTributaryError(err) && err.code).toBe('ERR_DEAD_LETTER_RATE');
      const e = err as TributaryError;
      expect(e.retriable).toBe(false);
      expect(isPermanentError(e)).toBe(true);
      expect(e.context).toMatchObject({ topic, partition: 0, offset: 3, key: 'k3' });
      expect(e.message).toContain(`${topic}/0@3`);
      expect(e.message).toContain('3 per 60000 ms');
      expect(e.message).toContain('poison 3');
      expect(errors).toContain(err);
      expect(logger.at('error', 'consumer stopping on error')[0]?.fields['err']).toBe(err);
      expect(c.isRunning()).toBe(false);

      expect(c.metrics().deadLettered).toBe(3);
      const dlq = await readAll(`${topic}.dlq`);
      expect(dlq.map((m) => m.headers[DeadLetterHeaders.offset])).toEqual(['0', '1', '2']);
      expect((await committed(groupId, topic))[0]).toBe(3);

      // Nothing lost: the next member of the group gets the record again.
      const seen: number[] = [];
      const again = consumer({ groupId, topics: [topic] });
      await again.start((m) => {
        seen.push(m.offset);
      });
      await waitFor(() => seen.length === 1, { message: 'offset 3 delivered again' });
      expect(seen).toEqual([3]);
    });

    it('limits dead-letter outcomes of a batch handler the same way', async () => {
      const topic = await topicWith(numbered(5));
      await fx.transport.admin().createTopics([{ topic: `${topic}.dlq` }]);
      const groupId = uniqueGroup();
      const c = consumer({
        groupId,
        topics: [topic],
        deadLetter: { rateLimit: { max: 2 } },
        batch: { maxRecords: 5, maxWaitMs: 20 },
      });
      await c.startBatch((messages) => messages.map(() => deadLetter(new Error('bad deploy'))));
      const err = await failure(c);
      expect(err).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE', context: { topic, partition: 0, offset: 2 } });
      expect((err as Error).message).toContain('2 per 60000 ms');
      expect(await highWatermark(`${topic}.dlq`)).toBe(2);
      expect((await committed(groupId, topic))[0]).toBe(2);
    });

    it('is on by default at 1 000 per minute, and off with rateLimit: false', async () => {
      const topic = await topicWith(numbered(1_001));
      const dlqOn = `${topic}.on`;
      const dlqOff = `${topic}.off`;
      await fx.transport.admin().createTopics([{ topic: dlqOn }, { topic: dlqOff }]);
      const poison = (): never => {
        throw unrecoverable(new Error('outage misread as poison'));
      };

      const groupOn = uniqueGroup();
      const on = consumer({ groupId: groupOn, topics: [topic], deadLetter: { topic: dlqOn } });
      await on.start(poison);
      expect(await failure(on)).toMatchObject({ code: 'ERR_DEAD_LETTER_RATE', context: { offset: 1_000 } });
      expect(await highWatermark(dlqOn)).toBe(1_000);
      expect((await committed(groupOn, topic))[0]).toBe(1_000);

      const groupOff = uniqueGroup();
      const off = consumer({ groupId: groupOff, topics: [topic], deadLetter: { topic: dlqOff, rateLimit: false } });
      await off.start(poison);
      await waitFor(async () => (await committed(groupOff, topic))[0] === 1_001, { message: 'every record dead-lettered and committed' });
      expect(await highWatermark(dlqOff)).toBe(1_001);
      expect(off.isRunning()).toBe(true);
    });
  });

  describe('commit failures', () => {
    it('log and report the group, topic, partition and offset', async () => {
      const topic = await topicWith(numbered(3));
      const groupId = uniqueGroup();
      const logger = new RecordingLogger();
      const errors: unknown[] = [];
      const inner = fx.transport;
      // The memory transport with a broker that refuses every commit.
      const refusing = wrapTransport(inner, {
        groupConsumer: (o) => {
          const group = inner.groupConsumer(o);
          group.commit = () => Promise.reject(new Error('not the coordinator'));
          return group;
        },
      });
      const c = consumer({ groupId, topics: [topic], logger, onError: (e) => errors.push(e) }, refusing);
      await c.start(() => undefined);
      await waitFor(() => logger.at('error', `commit failed for ${topic}/0@3`).length > 0, { message: 'commit failure logged' });
      const line = logger.at('error', 'commit failed')[0];
      expect(line?.msg).toContain('not the coordinator');
      expect(line?.fields).toMatchObject({ groupId, offsets: [{ topic, partition: 0, offset: 3 }] });
      expect(errors[0]).toMatchObject({ code: 'ERR_COMMIT' });
      expect((errors[0] as Error).message).toContain(`${topic}/0@3`);
    });
  });

  it('validates the guardrail options, naming each bad field', () => {
    const problems = (options: Partial<ConsumerOptions>): string[] => {
      try {
        createConsumer(fx.transport, { groupId: 'g', topics: ['t'], ...options });
        return [];
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems.map((p) => p.field);
      }
    };
    expect(
      problems({
        stallWarningMs: -1,
        onStall: 'loud' as unknown as () => void,
        deadLetter: { rateLimit: { max: 0, windowMs: 1.5 } },
      }),
    ).toEqual(['stallWarningMs', 'onStall', 'deadLetter.rateLimit.max', 'deadLetter.rateLimit.windowMs']);
    expect(problems({ stallWarningMs: true as unknown as number, deadLetter: { rateLimit: 'fast' as unknown as false } })).toEqual([
      'stallWarningMs',
      'deadLetter.rateLimit',
    ]);
    expect(problems({ stallWarningMs: 86_400_001 })).toEqual(['stallWarningMs']);
    expect(problems({ stallWarningMs: false, deadLetter: { rateLimit: false } })).toEqual([]);
    expect(problems({ stallWarningMs: 0, deadLetter: { rateLimit: { windowMs: 1_000 } } })).toEqual([]);
  });
});
