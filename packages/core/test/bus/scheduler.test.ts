import {
  ConfigError,
  createEvent,
  createEventRegistry,
  createSubscriberScheduler,
  eventToRecord,
  isTributaryError,
  valueAsString,
  type HandlerMiddleware,
  type Message,
  type ProducerRecord,
  type ReadTask,
  type SubscriberScheduler,
  type SubscriberSchedulerOptions,
  type Transport,
} from '@tributary/core';
import { memory } from '@tributary/memory';
import { deferred, uniqueName, uniqueTopic, waitFor, waitForCount, withTimeout, wrapGroupConsumer, wrapTransport } from '@tributary/testutil';

let transport: Transport;
const schedulers: SubscriberScheduler[] = [];

beforeEach(() => {
  transport = memory();
});

afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.shutdown()));
  await transport.close();
});

function scheduler(options: Partial<SubscriberSchedulerOptions> = {}): SubscriberScheduler {
  const s = createSubscriberScheduler({ transport, service: uniqueName('svc'), consumer: { batch: { maxWaitMs: 1 } }, ...options });
  schedulers.push(s);
  return s;
}

async function topic(partitions = 1): Promise<string> {
  const name = uniqueTopic('sched');
  const admin = transport.admin();
  await admin.createTopics([{ topic: name, partitions }]);
  await admin.close();
  return name;
}

async function send(records: ProducerRecord[]): Promise<void> {
  const producer = transport.producer();
  const results = await producer.send(records);
  await producer.close();
  expect(results.every((r) => r.ok)).toBe(true);
}

function eventRecord(topicName: string, type: string, data: unknown): ProducerRecord {
  return eventToRecord(createEvent({ type, source: 'test', data }), { topic: topicName });
}

async function committed(groupId: string, topicName: string): Promise<number | undefined> {
  const admin = transport.admin();
  const offsets = await admin.fetchCommittedOffsets(groupId, [topicName]);
  await admin.close();
  return offsets.find((o) => o.partition === 0)?.offset;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('SubscriberScheduler', () => {
  it('runs one worker per task and delivers each topic to its handler', async () => {
    const [a, b] = [await topic(), await topic(2)];
    const seenA: string[] = [];
    const seenB: string[] = [];
    const s = scheduler();
    s.subscribeTopic(a, (m) => void seenA.push(valueAsString(m)!));
    s.subscribeTopic(b, (m) => void seenB.push(valueAsString(m)!));
    await s.start();
    expect(s.isRunning()).toBe(true);
    expect(s.metrics()).toHaveLength(2);
    await send([
      { topic: a, value: 'a1' },
      { topic: b, value: 'b1', key: 'x' },
      { topic: a, value: 'a2' },
      { topic: b, value: 'b2', key: 'y' },
    ]);
    await waitFor(() => seenA.length === 2 && seenB.length === 2, { message: 'both topics delivered' });
    expect(seenA).toEqual(['a1', 'a2']);
    expect(seenB.sort()).toEqual(['b1', 'b2']);
  });

  it('derives group ids from the service and topic (plus the event type for event tasks), and honours setArg', async () => {
    const t = await topic();
    const registry = createEventRegistry({ 'thing.made': t });
    const s = scheduler({ service: 'billing', registry });
    s.subscribeTopic(t, () => undefined);
    s.subscribeEvent('thing.made', () => undefined);
    const custom = uniqueName('custom');
    s.subscribeTopic(t, () => undefined).setArg('groupId', custom);
    await s.start();
    expect(s.metrics().map((m) => m.groupId)).toEqual([`billing.${t}`, `billing.${t}.thing.made`, custom]);
  });

  it('delivers to an event task only the records of its type', async () => {
    const t = await topic();
    const s = scheduler({ registry: createEventRegistry({ 'order.created': t }) });
    const created: string[] = [];
    const all: string[] = [];
    s.subscribeEvent('order.created', (m) => void created.push(m.headers.ce_type!));
    s.subscribeTopic(t, (m) => void all.push(m.headers.ce_type ?? 'plain'));
    await s.start();
    await send([eventRecord(t, 'order.created', 1), eventRecord(t, 'order.paid', 2), { topic: t, value: 'not an event' }, eventRecord(t, 'order.created', 3)]);
    await waitForCount(() => all, 4, { message: 'topic task saw every record' });
    await waitFor(() => s.metrics()[0]!.metrics.processed === 4, { message: 'event task acked all 4 (handled 2, skipped 2)' });
    expect(created).toEqual(['order.created', 'order.created']);
    expect(all).toEqual(['order.created', 'order.paid', 'plain', 'order.created']);
  });

  it('fails subscribeEvent for an unregistered type; subscribeEventSafe returns the error instead', () => {
    const s = scheduler();
    const err = caught(() => s.subscribeEvent('order.created', () => undefined));
    expect(isTributaryError(err) && err.code).toBe('ERR_EVENT_NOT_FOUND');
    const result = s.subscribeEventSafe('order.created', () => undefined);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('ERR_EVENT_NOT_FOUND');
    expect(s.tasks()).toHaveLength(0);
    s.registry.register('order.created', 'orders');
    const ok = s.subscribeEventSafe('order.created', () => undefined);
    expect(ok.ok && [ok.task.topic, ok.task.eventType]).toEqual(['orders', 'order.created']);
  });

  it('subscribe(topic, type) registers a missing type, and refuses one registered elsewhere', () => {
    const s = scheduler();
    const task = s.subscribe('orders', 'order.created', () => undefined);
    expect(s.registry.topicOf('order.created')).toBe('orders');
    expect([task.topic, task.eventType]).toEqual(['orders', 'order.created']);
    s.subscribe('orders', 'order.created', () => undefined).setArg('groupId', 'second');
    expect(caught(() => s.subscribe('payments', 'order.created', () => undefined))).toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('refuses to start without tasks (ERR_NO_SUBSCRIBERS)', async () => {
    await expect(scheduler().start()).rejects.toMatchObject({ code: 'ERR_NO_SUBSCRIBERS' });
  });

  it('rejects misuse by state: ERR_STATE while running, ERR_CLOSED after shutdown', async () => {
    const t = await topic();
    const s = scheduler();
    const task = s.subscribeTopic(t, () => undefined);
    await s.start();
    await expect(s.start()).rejects.toMatchObject({ code: 'ERR_STATE' });
    expect(caught(() => s.subscribeTopic(t, () => undefined))).toMatchObject({ code: 'ERR_STATE' });
    expect(caught(() => task.setArg('groupId', 'late'))).toMatchObject({ code: 'ERR_STATE' });
    expect(caught(() => task.withMiddleware((next) => next))).toMatchObject({ code: 'ERR_STATE' });
    await s.shutdown();
    expect(s.isRunning()).toBe(false);
    expect(caught(() => s.subscribeTopic(t, () => undefined))).toMatchObject({ code: 'ERR_CLOSED' });
    await expect(s.start()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(s.shutdown()).toBe(s.shutdown());
  });

  it('shutdown blocks until in-flight work drained, then commits it', async () => {
    const t = await topic();
    const s = scheduler();
    const groupId = uniqueName('drain');
    const gate = deferred();
    const entered = deferred();
    let finished = false;
    s.subscribeTopic(t, async () => {
      entered.resolve();
      await gate.promise;
      finished = true;
    }).setArg('groupId', groupId);
    await s.start();
    await send([{ topic: t, value: 'slow' }]);
    await entered.promise;
    let shutDown = false;
    const shutdown = s.shutdown().then(() => (shutDown = true));
    try {
      await new Promise((r) => setTimeout(r, 30)); // give a wrong implementation time to resolve early
      expect(shutDown).toBe(false);
    } finally {
      gate.resolve();
    }
    await shutdown;
    expect(finished).toBe(true);
    expect(await committed(groupId, t)).toBe(1);
  });

  describe('shutdown({ timeoutMs, signal })', () => {
    /** A worker whose handler holds its record until its ctx.signal aborts; resolves with that signal once it holds. */
    async function stuckWorker(s: SubscriberScheduler, t: string): Promise<AbortSignal> {
      let held: AbortSignal | undefined;
      s.subscribeTopic(t, (_m, ctx) => {
        held = ctx.signal;
        return new Promise<void>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }));
      });
      await s.start();
      await send([{ topic: t, value: 'stuck' }]);
      await waitFor(() => held !== undefined, { message: 'the handler to hold its record' });
      return held!;
    }

    it('timeoutMs bounds every worker instead of its drainTimeoutMs', async () => {
      const s = scheduler({ consumer: { batch: { maxWaitMs: 1 }, drainTimeoutMs: 60_000 } });
      const signal = await stuckWorker(s, await topic());
      await withTimeout(s.shutdown({ timeoutMs: 50 }), 5_000, 'shutdown({ timeoutMs: 50 }) of a worker with a 60 s drain');
      expect(signal.aborted).toBe(true);
      expect(isTributaryError(signal.reason) && signal.reason.code).toBe('ERR_TIMEOUT');
      expect((signal.reason as Error).message).toContain('50 ms');
      expect(s.isRunning()).toBe(false);
    });

    it('an aborted signal ends the drain of every worker at once; a later call with a signal joins the shutdown in progress', async () => {
      const s = scheduler({ consumer: { batch: { maxWaitMs: 1 }, drainTimeoutMs: 60_000 } });
      let heldA: AbortSignal | undefined;
      let heldB: AbortSignal | undefined;
      const holdUntilAborted = (signal: AbortSignal): Promise<void> =>
        new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      const [ta, tb] = [await topic(), await topic()];
      s.subscribeTopic(ta, (_m, ctx) => holdUntilAborted((heldA = ctx.signal)));
      s.subscribeTopic(tb, (_m, ctx) => holdUntilAborted((heldB = ctx.signal)));
      await s.start();
      await send([
        { topic: ta, value: 'a' },
        { topic: tb, value: 'b' },
      ]);
      await waitFor(() => heldA !== undefined && heldB !== undefined, { message: 'both handlers to hold a record' });

      const first = s.shutdown();
      const shutdown = new AbortController();
      expect(s.shutdown({ signal: shutdown.signal })).toBe(first);
      shutdown.abort(new Error('grace period over'));
      await withTimeout(first, 5_000, 'shutdown after its signal aborted');
      for (const held of [heldA, heldB]) {
        expect(isTributaryError(held?.reason) && held.reason.code).toBe('ERR_ABORTED');
        expect(((held?.reason as Error).cause as Error).message).toBe('grace period over');
      }
    });

    it('rejects bad options with a ConfigError naming each field, and stays running', async () => {
      const s = scheduler();
      s.subscribeTopic(await topic(), () => undefined);
      await s.start();
      const err: unknown = await s.shutdown({ timeoutMs: -1, signal: 'soon' as unknown as AbortSignal }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.field)).toEqual(['timeoutMs', 'signal']);
      expect(s.isRunning()).toBe(true);
      await s.shutdown();
      expect(s.isRunning()).toBe(false);
    });
  });

  it('applies per-task middleware, the last added outermost, behind the event filter', async () => {
    const t = await topic();
    const s = scheduler({ registry: createEventRegistry({ 'a.happened': t }) });
    const log: string[] = [];
    const tag =
      (name: string): HandlerMiddleware =>
      (next) =>
      async (m, ctx) => {
        log.push(`${name}:${m.headers.ce_type}`);
        await next(m, ctx);
      };
    s.subscribeEvent('a.happened', (m) => void log.push(`handler:${m.headers.ce_type}`))
      .withMiddleware(tag('inner'))
      .withMiddleware(tag('outer'));
    await s.start();
    await send([eventRecord(t, 'b.happened', 0), eventRecord(t, 'a.happened', 1)]);
    await waitForCount(() => log, 3);
    await waitFor(() => s.metrics()[0]!.metrics.processed === 2);
    expect(log).toEqual(['outer:a.happened', 'inner:a.happened', 'handler:a.happened']);
  });

  it('passes task arguments to the worker: a dead-letter topic', async () => {
    const t = await topic();
    const dlq = await topic();
    const s = scheduler({ consumer: { batch: { maxWaitMs: 1 }, retry: false } });
    s.subscribeTopic(t, (m) => {
      if (valueAsString(m) === 'poison') throw new Error('cannot handle poison');
    }).setArg('deadLetter', { topic: dlq });
    const dead: Message[] = [];
    s.subscribeTopic(dlq, (m) => void dead.push(m));
    await s.start();
    await send([{ topic: t, value: 'fine' }, { topic: t, value: 'poison' }, { topic: t, value: 'fine' }]);
    await waitForCount(() => dead, 1, { message: 'poison dead-lettered' });
    expect(valueAsString(dead[0]!)).toBe('poison');
    await waitFor(() => s.metrics()[0]!.metrics.processed === 2);
  });

  it('reports every task without a group id, and group clashes, in one ConfigError before starting anything', async () => {
    const t = await topic();
    const s = createSubscriberScheduler({ transport });
    schedulers.push(s);
    s.subscribeTopic(t, () => undefined);
    s.subscribeTopic(t, () => undefined).setArg('groupId', 'same');
    s.subscribeTopic(t, () => undefined).setArg('groupId', 'same');
    const err = await s.start().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CONFIG' });
    expect((err as { problems: { field: string }[] }).problems.map((p) => p.field)).toEqual(['tasks[0].groupId', 'tasks[2].groupId']);
    expect(s.isRunning()).toBe(false);
    expect(s.metrics()).toEqual([]);
  });

  it('rejects a bad task argument at start with ERR_CONFIG, and unknown argument names at once', async () => {
    const t = await topic();
    const s = scheduler();
    const task = s.subscribeTopic(t, () => undefined).setArg('batch', { maxRecords: 0 });
    await expect(s.start()).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    expect(caught(() => task.setArg('nope' as 'groupId', 'x'))).toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('stops the workers that started when another fails to start, and can start again', async () => {
    const [good, bad] = [await topic(), await topic()];
    let failNext = true;
    const flaky = wrapTransport(transport, {
      groupConsumer: (options) => {
        const consumer = transport.groupConsumer(options);
        if (!options.topics.includes(bad) || !failNext) return consumer;
        failNext = false;
        return wrapGroupConsumer(consumer, { run: () => Promise.reject(new Error('cannot join group')) });
      },
    });
    const seen: string[] = [];
    const s = scheduler({ transport: flaky });
    s.subscribeTopic(good, (m) => void seen.push(valueAsString(m)!));
    s.subscribeTopic(bad, () => undefined);
    await expect(s.start()).rejects.toThrow('cannot join group');
    expect(s.isRunning()).toBe(false);
    await s.start();
    expect(s.isRunning()).toBe(true);
    await send([{ topic: good, value: 'after restart' }]);
    await waitForCount(() => seen, 1);
    expect(seen).toEqual(['after restart']);
  });

  it('keeps other workers running when one stops on a fatal error; onError and wait() report it', async () => {
    const [t1, t2] = [await topic(), await topic()];
    const errors: [unknown, string][] = [];
    const s = scheduler({ consumer: { batch: { maxWaitMs: 1 }, retry: false }, onError: (err, task) => errors.push([err, task.topic]) });
    const seen: string[] = [];
    s.subscribeTopic(t1, () => {
      throw new Error('no dead-letter topic: fatal');
    });
    s.subscribeTopic(t2, (m) => void seen.push(valueAsString(m)!));
    await s.start();
    await send([{ topic: t1, value: 'x' }]);
    await waitFor(() => errors.length > 0, { message: 'fatal error reported' });
    expect(errors[0]?.[1]).toBe(t1);
    await send([{ topic: t2, value: 'still flowing' }]);
    await waitForCount(() => seen, 1);
    await s.shutdown();
    await expect(s.wait()).rejects.toThrow(/fatal/);
  });

  it('types task arguments as the consumer options they set (compile-time checks)', () => {
    const typeChecks = (task: ReadTask): void => {
      task.setArg('groupId', 'g').setArg('retry', false).setArg('deadLetter', { topic: 'dlq' });
      // @ts-expect-error groupId is a string
      task.setArg('groupId', 1);
      // @ts-expect-error topics come from the subscription, not from an argument
      task.setArg('topics', ['other']);
    };
    const task = scheduler().subscribeTopic('t', () => undefined);
    expect(() => typeChecks(task)).toThrow(/topics is not a task argument/);
    expect(task.args).toEqual({ groupId: 1, retry: false, deadLetter: { topic: 'dlq' } });
  });

  it('validates its options at once', () => {
    expect(() => createSubscriberScheduler({ transport: {} as Transport, service: '', onError: 1 as never })).toThrow(
      /transport must be a Transport; service must be a non-empty string when set; onError must be a function/,
    );
  });
});
