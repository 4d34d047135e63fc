import {
  ConfigError,
  isTributaryError,
  type Consumer,
  type HandlerContext,
  type StopOptions,
} from '@tributary/core';
import { uniqueGroup, waitFor, withTimeout } from '@tributary/testutil';
import { runtimeFixture } from './support';

/** Rejects with the signal's reason once it aborts: long work that honours ctx.signal. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

type Mode = 'record' | 'batch';

/**
 * stop(options) is seed 001's Stop(ctx): the caller's budget for this stop,
 * instead of drainTimeoutMs. Handlers here honour ctx.signal, so when the
 * budget ends they give up and stop() returns.
 */
describe('consumer stop budget: stop({ timeoutMs, signal })', () => {
  const fx = runtimeFixture('stop');
  const { consumer, gate, committed } = fx;
  const oneRecordTopic = (): Promise<string> => fx.topicWith([{ key: 'k', value: 'v' }]);

  /**
   * Starts `c` with a handler (record or batch) that works until `hold`
   * resolves or its ctx.signal aborts; resolves with the handler's context
   * once the work is running.
   */
  async function holding(c: Consumer, mode: Mode, hold: Promise<void>): Promise<HandlerContext> {
    let ctx: HandlerContext | undefined;
    const work = async (context: HandlerContext): Promise<void> => {
      ctx = context;
      await Promise.race([hold, untilAborted(context.signal)]);
    };
    if (mode === 'record') await c.start((_m, context) => work(context));
    else await c.startBatch((_messages, context) => work(context));
    await waitFor(() => ctx !== undefined, { message: 'the handler to run' });
    return ctx!;
  }

  it('timeoutMs shorter than drainTimeoutMs: ctx.signal aborts at it, stop() returns, the unfinished record is not committed', async () => {
    const topic = await oneRecordTopic();
    const groupId = uniqueGroup();
    const c = consumer({ groupId, topics: [topic], drainTimeoutMs: 60_000 });
    const ctx = await holding(c, 'record', gate().promise);

    await withTimeout(c.stop({ timeoutMs: 50 }), 5_000, 'stop({ timeoutMs: 50 }) with drainTimeoutMs 60 s');
    expect(ctx.signal.aborted).toBe(true);
    const reason: unknown = ctx.signal.reason;
    expect(isTributaryError(reason) && reason.code).toBe('ERR_TIMEOUT');
    expect((reason as Error).message).toContain('50 ms');
    expect(await committed(groupId, topic)).toEqual({});
    // A stop on the caller's budget is not a failure.
    await expect(c.wait()).resolves.toBeUndefined();
  });

  it.each<Mode>(['record', 'batch'])('timeoutMs longer than drainTimeoutMs: a %s handler may finish, and its record is committed', async (mode) => {
    const topic = await oneRecordTopic();
    // Two consumers with a 20 ms drainTimeoutMs. B stops first, with a 30 s
    // budget; A then stops on the default. When A's handler sees its signal
    // abort, B's default deadline would have passed too.
    const [groupA, groupB] = [uniqueGroup('a'), uniqueGroup('b')];
    const options = { topics: [topic], drainTimeoutMs: 20, batch: { maxWaitMs: 1 } };
    const a = consumer({ ...options, groupId: groupA });
    const b = consumer({ ...options, groupId: groupB });
    const ctxA = await holding(a, mode, gate().promise);
    const releaseB = gate();
    const ctxB = await holding(b, mode, releaseB.promise);

    const stoppedB = b.stop({ timeoutMs: 30_000 });
    const stoppedA = a.stop();
    await waitFor(() => ctxA.signal.aborted, { message: "A's 20 ms default drain to end" });
    await withTimeout(stoppedA, 5_000, 'A stops');
    expect(ctxB.stopping?.aborted).toBe(true);
    expect(ctxB.signal.aborted).toBe(false);

    releaseB.resolve();
    await withTimeout(stoppedB, 5_000, 'B stops once its handler finished');
    expect(ctxB.signal.aborted).toBe(false);
    expect(await committed(groupB, topic)).toEqual({ 0: 1 });
    expect(await committed(groupA, topic)).toEqual({});
  });

  it('an aborted signal ends the drain at once: ctx.signal aborts (ERR_ABORTED, cause = the reason), nothing unfinished is committed', async () => {
    const topic = await oneRecordTopic();
    const groupId = uniqueGroup();
    const c = consumer({ groupId, topics: [topic], drainTimeoutMs: 60_000 });
    const ctx = await holding(c, 'record', gate().promise);

    const shutdown = new AbortController();
    const stopped = c.stop({ signal: shutdown.signal });
    expect(ctx.stopping?.aborted).toBe(true);
    expect(ctx.signal.aborted).toBe(false);
    const why = new Error('the orchestrator grace period is over');
    shutdown.abort(why);
    await withTimeout(stopped, 5_000, 'stop after its signal aborted');

    const reason: unknown = ctx.signal.reason;
    expect(isTributaryError(reason) && reason.code).toBe('ERR_ABORTED');
    expect((reason as Error).cause).toBe(why);
    expect(await committed(groupId, topic)).toEqual({});
    await expect(c.wait()).resolves.toBeUndefined();
  });

  it('a signal already aborted ends the drain at once', async () => {
    const topic = await oneRecordTopic();
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], drainTimeoutMs: 60_000 });
    const ctx = await holding(c, 'record', gate().promise);
    await withTimeout(c.stop({ signal: AbortSignal.abort() }), 5_000, 'stop with an aborted signal');
    expect(isTributaryError(ctx.signal.reason) && ctx.signal.reason.code).toBe('ERR_ABORTED');
  });

  it('a later call may shorten the drain, never lengthen it, and returns the same promise', async () => {
    const topic = await oneRecordTopic();
    const shortened = consumer({ groupId: uniqueGroup(), topics: [topic], drainTimeoutMs: 60_000 });
    const ctxShortened = await holding(shortened, 'record', gate().promise);
    const first = shortened.stop();
    const second = shortened.stop({ timeoutMs: 20 });
    expect(second).toBe(first);
    await withTimeout(first, 5_000, 'a 60 s drain shortened to 20 ms');
    expect((ctxShortened.signal.reason as Error).message).toContain('20 ms');

    const kept = consumer({ groupId: uniqueGroup(), topics: [topic], drainTimeoutMs: 60_000 });
    const ctxKept = await holding(kept, 'record', gate().promise);
    const stopped = kept.stop({ timeoutMs: 20 });
    expect(kept.stop({ timeoutMs: 60_000 })).toBe(stopped);
    expect(kept.stop()).toBe(stopped);
    await withTimeout(stopped, 5_000, 'a 20 ms drain not lengthened by later calls');
    expect((ctxKept.signal.reason as Error).message).toContain('20 ms');
  });

  it('rejects bad options with a ConfigError naming each field, and keeps running', async () => {
    const topic = await oneRecordTopic();
    const c = consumer({ groupId: uniqueGroup(), topics: [topic] });
    await c.start(() => undefined);
    const problems = async (options: unknown): Promise<string[]> => {
      const err: unknown = await c.stop(options as StopOptions).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.map((p) => p.field);
    };
    expect(await problems({ timeoutMs: -1, signal: 'soon' })).toEqual(['timeoutMs', 'signal']);
    expect(await problems({ timeoutMs: 1.5 })).toEqual(['timeoutMs']);
    expect(await problems({ timeoutMs: 3_600_001, signal: { aborted: false } })).toEqual(['timeoutMs', 'signal']);
    expect(await problems(null)).toEqual(['options']);
    expect(await problems(50)).toEqual(['options']);
    expect(c.isRunning()).toBe(true);

    await c.stop({});
    expect(c.isRunning()).toBe(false);
  });
});
