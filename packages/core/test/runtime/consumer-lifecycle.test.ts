import {
  ConfigError,
  ack,
  createConsumer,
  deadLetter,
  isTributaryError,
  retry,
  type Consumer,
  type ConsumerOptions,
  type DeadLetter,
  type ConsumerHandlers,
  type GroupConsumer,
  type GroupConsumerOptions,
  type Message,
  type HandlerContext,
  type Logger,
  type RecordOutcome,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { deferred, uniqueGroup, waitFor, withTimeout, wrapTransport } from '@tributary/testutil';
import { runtimeFixture } from './support';

interface LogEntry {
  readonly level: string;
  readonly msg: string;
}

/** A logger that keeps what it is given; `throwOn` levels throw after recording. */
function recordingLogger(entries: LogEntry[], throwOn: readonly string[] = []): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      entries.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? '') });
      if (throwOn.includes(level)) throw new Error(`logger.${level} is broken`);
    };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** How a promise settled, read once it has. */
function outcome(p: Promise<unknown>): Promise<{ readonly ok: boolean; readonly error?: unknown }> {
  return p.then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, error }),
  );
}

describe('consumer lifecycle edges', () => {
  const fx = runtimeFixture('life');
  const { consumer, gate } = fx;

  /** A topic with `records` records, spread round-robin over `partitions`. */
  function topicWith(records: number, partitions = 1): Promise<string> {
    return fx.topicWith(Array.from({ length: records }, (_, i) => ({ partition: i % partitions, key: `k${i}`, value: String(i) })), { partitions });
  }

  /** The group's committed offsets as the admin client lists them. */
  async function committed(groupId: string, topic: string): Promise<readonly unknown[]> {
    return fx.transport.admin().fetchCommittedOffsets(groupId, [topic]);
  }

  describe('a start that fails synchronously in the transport', () => {
    it('leaves the consumer stopped: wait() rejects with the error, a second start() is refused, the DLQ producer it made is closed', async () => {
      const topic = await topicWith(1);
      const refused = new Error('group consumers are not available');
      let producersClosed = 0;
      const failing = wrapTransport(fx.transport, {
        producer: (o) => {
          const p = fx.transport.producer(o);
          return { send: (records) => p.send(records), close: async () => void (await p.close(), producersClosed++) } as TransportProducer;
        },
        groupConsumer: () => {
          throw refused;
        },
      });
      const c = consumer({ groupId: uniqueGroup(), topics: [topic], deadLetter: {}, stallWarningMs: 10 }, failing);
      await expect(c.start(() => undefined)).rejects.toBe(refused);
      expect(c.isRunning()).toBe(false);
      await expect(withTimeout(c.wait(), 2_000, 'wait()')).rejects.toBe(refused);
      expect(producersClosed).toBe(1);
      await expect(c.start(() => undefined)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      await withTimeout(c.stop(), 2_000, 'stop()');
    });

    it('on a closed transport (the DLQ producer cannot be made either), wait() settles', async () => {
      const topic = await topicWith(1);
      await fx.transport.close();
      const c = consumer({ groupId: uniqueGroup(), topics: [topic], deadLetter: {} });
      const started = await outcome(c.start(() => undefined));
      expect(started.ok).toBe(false);
      expect(c.isRunning()).toBe(false);
      const waited = await outcome(withTimeout(c.wait(), 2_000, 'wait()'));
      expect(waited).toEqual({ ok: false, error: started.error });
    });
  });

  describe('the transport bound (rebalanceTimeoutMs) against the drain', () => {
    it('asks the transport for a rebalanceTimeoutMs that outlasts drainTimeoutMs and stop()’s grace, within the transports’ range', async () => {
      const topic = await topicWith(1);
      const seen: GroupConsumerOptions[] = [];
      const spy = wrapTransport(fx.transport, { groupConsumer: (o) => (seen.push(o), fx.transport.groupConsumer(o)) });
      for (const drainTimeoutMs of [0, 2_000, 3_600_000]) {
        const c = consumer({ groupId: uniqueGroup(), topics: [topic], drainTimeoutMs }, spy);
        await c.start(() => undefined);
        await c.stop();
      }
      const bounds = seen.map((o) => o.rebalanceTimeoutMs);
      expect(bounds[0]).toBeGreaterThanOrEqual(1_000);
      expect(bounds[1]).toBeGreaterThanOrEqual(3_000);
      expect(bounds[2]).toBe(3_600_000);
    });

    /** A transport whose group consumers give up on onRevoked and close after 200 ms, whatever the runtime asks. */
    function shortBound(): Transport {
      return wrapTransport(fx.transport, { groupConsumer: (o) => fx.transport.groupConsumer({ ...o, rebalanceTimeoutMs: 200 }) });
    }

    it('when the transport closes before the drain ended, handlers see ctx.signal abort, and late work neither commits nor reports', async () => {
      const topic = await topicWith(1);
      const groupId = uniqueGroup();
      const errors: unknown[] = [];
      const logs: LogEntry[] = [];
      const release = gate();
      const returned = deferred();
      let ctxSeen: HandlerContext | undefined;
      const c = consumer(
        { groupId, topics: [topic], drainTimeoutMs: 5_000, stallWarningMs: false, onError: (e) => errors.push(e), logger: recordingLogger(logs) },
        shortBound(),
      );
      await c.start(async (_m, ctx) => {
        ctxSeen = ctx;
        await release.promise; // ignores its signal
        returned.resolve();
      });
      await waitFor(() => ctxSeen !== undefined);
      await withTimeout(c.stop(), 4_000, 'stop()');
      expect(ctxSeen?.signal.aborted).toBe(true);
      expect(ctxSeen?.signal.reason).toMatchObject({ code: 'ERR_ABORTED' });
      const reportedAtStop = errors.length;
      release.resolve();
      await returned.promise;
      await waitFor(() => logs.some((l) => l.level === 'debug' && l.msg.includes('the consumer has closed')));
      expect(errors).toHaveLength(reportedAtStop);
      expect(await committed(groupId, topic)).toEqual([]);
      await expect(c.wait()).resolves.toBeUndefined();
    });

    it('a dead-letter write that ends after stop() resolved is not committed nor counted', async () => {
      const topic = await topicWith(1);
      const groupId = uniqueGroup();
      const logs: LogEntry[] = [];
      const writing = deferred();
      const release = gate();
      const written: DeadLetter[] = [];
      const c = consumer(
        {
          groupId,
          topics: [topic],
          retry: false,
          drainTimeoutMs: 5_000,
          logger: recordingLogger(logs),
          deadLetter: {
            writer: {
              write: async (letters) => {
                writing.resolve();
                await release.promise;
                written.push(...letters);
              },
            },
          },
        },
        shortBound(),
      );
      await c.start(() => {
        throw new Error('bad record');
      });
      await writing.promise;
      await withTimeout(c.stop(), 4_000, 'stop()');
      release.resolve();
      await waitFor(() => logs.some((l) => l.level === 'debug' && l.msg.includes('dead-letter finished after the consumer closed')));
      expect(written).toHaveLength(1);
      expect(c.metrics().deadLettered).toBe(0);
      expect(await committed(groupId, topic)).toEqual([]);
    });
  });

  describe('a fatal stop whose reason is undefined', () => {
    async function expectStoppedWithUndefined(c: Consumer): Promise<void> {
      const err: unknown = await withTimeout(c.wait(), 5_000, 'wait()').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTributaryError(err) && err.code).toBe('ERR_STOPPED');
      expect(err).toHaveProperty('cause', undefined);
      expect(Object.hasOwn(err as object, 'cause')).toBe(true);
    }

    it('a record handler that throws undefined (no retry, no dead-letter destination): wait() rejects, nothing committed', async () => {
      const topic = await topicWith(1);
      const groupId = uniqueGroup();
      const c = consumer({ groupId, topics: [topic], retry: false });
      await c.start(() => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
        throw undefined;
      });
      await expectStoppedWithUndefined(c);
      expect(await committed(groupId, topic)).toEqual([]);
    });

    it('control.stop(undefined)', async () => {
      const topic = await topicWith(1);
      const c = consumer({ groupId: uniqueGroup(), topics: [topic] });
      await c.start((_m, ctx) => ctx.control.stop(undefined));
      await expectStoppedWithUndefined(c);
    });

    it('a batch deadLetter(undefined) outcome without a dead-letter destination', async () => {
      const topic = await topicWith(1);
      const c = consumer({ groupId: uniqueGroup(), topics: [topic], batch: { maxWaitMs: 0 } });
      await c.startBatch((ms) => ms.map(() => deadLetter(undefined)));
      await expectStoppedWithUndefined(c);
    });
  });

  describe('batch outcomes once the consumer stops (ctx.stopping aborted)', () => {
    /** Starts a batch consumer whose first call returns `outcomes` only once ctx.stopping aborted; resolves once stop() is under way. */
    async function returnWhileStopping(options: Omit<ConsumerOptions, 'groupId' | 'topics'>, make: (n: number) => RecordOutcome[]) {
      const topic = await topicWith(2);
      const groupId = uniqueGroup();
      const c = consumer({ groupId, topics: [topic], batch: { maxWaitMs: 0 }, ...options });
      const called = deferred();
      await c.startBatch(async (ms, ctx) => {
        called.resolve();
        const stopping = ctx.stopping as AbortSignal;
        if (!stopping.aborted) await new Promise((resolve) => stopping.addEventListener('abort', resolve, { once: true }));
        return make(ms.length);
      });
      await called.promise;
      return { c, groupId, topic, stopped: c.stop() };
    }

    it('dead-letter outcomes are left, not written, with a writer', async () => {
      const written: DeadLetter[] = [];
      const { c, groupId, topic, stopped } = await returnWhileStopping(
        { deadLetter: { writer: { write: async (ls) => void written.push(...ls) } } },
        (n) => Array.from({ length: n }, () => deadLetter(new Error('bad'))),
      );
      await stopped;
      await expect(c.wait()).resolves.toBeUndefined();
      expect(written).toEqual([]);
      expect(c.metrics().deadLettered).toBe(0);
      expect(await committed(groupId, topic)).toEqual([]);
    });

    it('dead-letter outcomes without a destination do not turn a graceful stop fatal', async () => {
      const errors: unknown[] = [];
      const { c, stopped } = await returnWhileStopping({ onError: (e) => errors.push(e) }, (n) => Array.from({ length: n }, () => deadLetter(new Error('bad'))));
      await stopped;
      await expect(c.wait()).resolves.toBeUndefined();
      expect(errors).toEqual([]);
    });

    it('the dead-letter rate limit does not turn a graceful stop fatal', async () => {
      const written: DeadLetter[] = [];
      const { c, stopped } = await returnWhileStopping(
        { deadLetter: { writer: { write: async (ls) => void written.push(...ls) }, rateLimit: { max: 1 } } },
        (n) => Array.from({ length: n }, () => deadLetter(new Error('bad'))),
      );
      await stopped;
      await expect(c.wait()).resolves.toBeUndefined();
      expect(written).toEqual([]);
    });

    it('acks stand, retries are left, and a left batch does not count in batchesFailed', async () => {
      const { c, groupId, topic, stopped } = await returnWhileStopping({}, () => [ack, retry(new Error('later'))]);
      await stopped;
      await expect(c.wait()).resolves.toBeUndefined();
      expect(c.metrics()).toMatchObject({ processed: 1, batchesFailed: 0 });
      expect(await committed(groupId, topic)).toEqual([{ topic, partition: 0, offset: 1 }]);
    });
  });

  it('a partition assigned again while its revocation drains gets fresh timers: the old state’s drain deadline does not fire', async () => {
    const topic = await topicWith(1);
    const logs: LogEntry[] = [];
    const release = gate();
    const firstSignal = new AbortController();
    let handlers: ConsumerHandlers | undefined;
    // Memory's group consumer, with the batch signal and the callbacks in the test's hands.
    const steered = wrapTransport(fx.transport, {
      groupConsumer: (o) => {
        const g = fx.transport.groupConsumer(o);
        const run = (h: ConsumerHandlers): Promise<void> => {
          handlers = h;
          return g.run({ ...h, onBatch: (b) => h.onBatch({ ...b, signal: firstSignal.signal }) });
        };
        return new Proxy(g, {
          get: (target, key): unknown => {
            if (key === 'run') return run;
            const v: unknown = Reflect.get(target, key, target);
            return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
          },
        }) satisfies GroupConsumer;
      },
    });
    let ctxSeen: HandlerContext | undefined;
    let seen: Message | undefined;
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], drainTimeoutMs: 50, stallWarningMs: false, logger: recordingLogger(logs) }, steered);
    await c.start(async (m, ctx) => {
      ctxSeen ??= ctx;
      seen ??= m;
      await release.promise;
    });
    await waitFor(() => ctxSeen !== undefined);
    const h = handlers as ConsumerHandlers;
    const tp = { topic, partition: 0 };
    firstSignal.abort(new Error('revocation begins')); // the old state's 50 ms drain deadline starts
    await h.onAssigned?.([tp]); // assigned again without onRevoked: the state is replaced
    // The new assignment's revocation begins too: its deadline, set later with the same length, fires after the old one would have.
    const secondSignal = new AbortController();
    secondSignal.abort(new Error('revocation begins again'));
    await h.onBatch({ ...tp, messages: [seen as Message], signal: secondSignal.signal });
    await waitFor(() => logs.some((l) => l.msg.includes('revocation drain timed out')));
    expect(logs.filter((l) => l.msg.includes('revocation drain timed out'))).toHaveLength(1);
    expect(ctxSeen?.signal.aborted).toBe(false);
    release.resolve();
  });

  it('ctx.stopping aborts with a TributaryError ERR_ABORTED on stop(), as on a revocation', async () => {
    const topic = await topicWith(1);
    const release = gate();
    let ctxSeen: HandlerContext | undefined;
    const c = consumer({ groupId: uniqueGroup(), topics: [topic] });
    await c.start(async (_m, ctx) => {
      ctxSeen = ctx;
      await release.promise;
    });
    await waitFor(() => ctxSeen !== undefined);
    const stopped = c.stop();
    expect(ctxSeen?.stopping?.aborted).toBe(true);
    expect(isTributaryError(ctxSeen?.stopping?.reason) && (ctxSeen?.stopping?.reason as { code: string }).code).toBe('ERR_ABORTED');
    release.resolve();
    await stopped;
  });

  it('stop() bounds the close of its own dead-letter producer by its budget and the 1 s grace', async () => {
    const topic = await topicWith(0);
    const logs: LogEntry[] = [];
    const hang = gate();
    const hanging = wrapTransport(fx.transport, {
      producer: (o) => {
        const p = fx.transport.producer(o);
        return { send: (records) => p.send(records), close: async () => (await hang.promise, await p.close()) } as TransportProducer;
      },
    });
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], deadLetter: {}, logger: recordingLogger(logs) }, hanging);
    await c.start(() => undefined);
    await withTimeout(c.stop({ timeoutMs: 100 }), 3_000, 'stop()');
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('dead-letter producer close did not finish'))).toBe(true);
  });

  it('a throwing logger does not crash the process from the stall watchdog', async () => {
    const topic = await topicWith(1);
    const release = gate();
    const logs: LogEntry[] = [];
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], stallWarningMs: 20, logger: recordingLogger(logs, ['warn']) });
    await c.start(async () => {
      await release.promise;
    });
    await waitFor(() => c.metrics().stalls === 1);
    release.resolve();
    await waitFor(() => c.metrics().processed === 1);
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('stalled'))).toBe(true);
    await c.stop();
    await expect(c.wait()).resolves.toBeUndefined();
  });

  describe('option checks', () => {
    function problemFields(build: () => unknown): string[] {
      try {
        build();
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.field);
        throw err;
      }
      return [];
    }

    it.each([['orders-dlq'], [true], [null]])('deadLetter must be an object or false (got %p)', (given) => {
      expect(problemFields(() => createConsumer(fx.transport, { groupId: 'g', topics: ['t'], deadLetter: given as never }))).toEqual(['deadLetter']);
    });

    it('names unknown keys of deadLetter and deadLetter.rateLimit, and an empty clientId', () => {
      const options = { groupId: 'g', topics: ['t'], clientId: '', deadLetter: { topc: 'x', rateLimit: { maxx: 1 } } };
      expect(problemFields(() => createConsumer(fx.transport, options as never))).toEqual(['clientId', 'deadLetter.topc', 'deadLetter.rateLimit.maxx']);
    });

    it('stop() rejects unknown keys, naming them, and does nothing else', async () => {
      const topic = await topicWith(0);
      const c = consumer({ groupId: uniqueGroup(), topics: [topic] });
      await c.start(() => undefined);
      const err: unknown = await c.stop({ timeout: 5 } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.field)).toEqual(['timeout']);
      expect(c.isRunning()).toBe(true);
    });

    it.each([
      ['a hole', (n: number) => new Array<RecordOutcome>(n)],
      ['undefined entries', (n: number) => Array.from({ length: n }, () => undefined as unknown as RecordOutcome)],
    ])('a batch handler returning outcomes with %s stops the consumer with a TypeError, acking nothing', async (_what, make) => {
      const topic = await topicWith(3);
      const groupId = uniqueGroup();
      const c = consumer({ groupId, topics: [topic], batch: { maxWaitMs: 0 } });
      await c.startBatch((ms) => make(ms.length));
      await expect(withTimeout(c.wait(), 5_000, 'wait()')).rejects.toThrow(TypeError);
      expect(c.metrics().processed).toBe(0);
      expect(await committed(groupId, topic)).toEqual([]);
    });
  });

  it('a dead-letter send with fewer results than letters fails them: the consumer stops, nothing dead-lettered nor committed', async () => {
    const topic = await topicWith(1);
    const groupId = uniqueGroup();
    const short = { send: async () => [], close: async () => undefined } as unknown as TransportProducer;
    const c = consumer({ groupId, topics: [topic], retry: false, deadLetter: { producer: short } });
    await c.start(() => {
      throw new Error('bad record');
    });
    await expect(withTimeout(c.wait(), 5_000, 'wait()')).rejects.toMatchObject({ code: 'ERR_DEAD_LETTER' });
    expect(c.metrics().deadLettered).toBe(0);
    expect(await committed(groupId, topic)).toEqual([]);
  });
});
