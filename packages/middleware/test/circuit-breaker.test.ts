import { ConfigError, TributaryError, chainHandlers, type ConsumerControl, type HandlerMiddleware, type Message } from '@tributary/core';
import { buildMessage, deferred, uniqueGroup, waitFor } from '@tributary/testutil';
import { withCircuitBreaker, withRetry, type CircuitStateChange } from '@tributary/middleware';
import { recordingLogger, run, testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';

const message = buildMessage({ topic: 'orders' });
const down = (): never => {
  throw new Error('dependency down');
};
const ok = (): void => undefined;

describe('withCircuitBreaker', () => {
  it('opens when the failure share of the window reaches failureRatio, and pauses the consumer', async () => {
    const changes: CircuitStateChange[] = [];
    const logger = recordingLogger();
    const breaker = withCircuitBreaker({ minCalls: 4, failureRatio: 0.5, coolDownMs: 60_000, onStateChange: (c) => changes.push(c), logger });
    const { ctx, control } = testContext();
    await chainHandlers(ok, breaker)(message, ctx);
    await chainHandlers(ok, breaker)(message, ctx);
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow('dependency down');
    expect(breaker.state).toBe('closed'); // 1 of 3: below minCalls
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow('dependency down');
    expect(breaker.state).toBe('open'); // 2 of 4 = 50%
    expect(control.calls).toEqual(['pause']);
    expect(changes).toEqual([{ from: 'closed', to: 'open', at: expect.any(Number) as number, error: expect.objectContaining({ message: 'dependency down' }) as unknown }]);
    expect(logger.entries).toEqual([expect.objectContaining({ level: 'warn', msg: 'circuit open' })]);
  });

  it('holds calls while open, then lets a trial through after the cool-down and closes on its success', async () => {
    const changes: string[] = [];
    const breaker = withCircuitBreaker({ minCalls: 1, coolDownMs: 100, onStateChange: (c) => changes.push(`${c.from}>${c.to}`) });
    const { ctx, control } = testContext();
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow();
    expect(breaker.state).toBe('open');

    let called = false;
    const started = Date.now();
    await chainHandlers(() => {
      called = true;
      expect(breaker.state).toBe('half-open');
    }, breaker)(message, ctx);
    expect(called).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
    expect(control.calls).toEqual(['pause', 'resume']);
  });

  it('opens again when the trial fails, pausing again', async () => {
    const breaker = withCircuitBreaker({ minCalls: 1, coolDownMs: 30 });
    const { ctx, control } = testContext();
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow();
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow(); // the trial
    expect(breaker.state).toBe('open');
    expect(control.calls).toEqual(['pause', 'resume', 'pause']);
    await chainHandlers(ok, breaker)(message, ctx);
    expect(breaker.state).toBe('closed');
  });

  it('lets only halfOpenCalls trials through at once; the others wait for their outcome', async () => {
    const breaker = withCircuitBreaker({ minCalls: 1, coolDownMs: 20, halfOpenCalls: 1 });
    const { ctx } = testContext();
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow();
    const gate = deferred<void>();
    let running = 0;
    const states: string[] = [];
    const slow = chainHandlers(async () => {
      running++;
      states.push(breaker.state);
      await gate.promise;
      running--;
    }, breaker);
    const calls = [run(slow, message, ctx), run(slow, message, ctx), run(slow, message, ctx)];
    await waitFor(() => running === 1, { message: 'the trial runs' });
    // Well past the cool-down: the other two still wait for the trial.
    await new Promise((r) => setTimeout(r, 50));
    expect(running).toBe(1);
    gate.resolve();
    await Promise.all(calls);
    expect(states).toEqual(['half-open', 'closed', 'closed']);
    expect(breaker.state).toBe('closed');
  });

  it('does not count permanent errors (a bad record says nothing of the dependency)', async () => {
    const breaker = withCircuitBreaker({ minCalls: 1 });
    const { ctx } = testContext();
    for (let i = 0; i < 5; i++) {
      await expect(
        chainHandlers(() => {
          throw new TributaryError('ERR_DECODE', 'bad bytes');
        }, breaker)(message, ctx),
      ).rejects.toThrow('bad bytes');
    }
    expect(breaker.state).toBe('closed');
  });

  it('ends a wait with ERR_ABORTED when the consumer stops, without calling the handler', async () => {
    const breaker = withCircuitBreaker({ minCalls: 1, coolDownMs: 60_000 });
    const { ctx, abort } = testContext();
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow();
    let called = false;
    const waiting = chainHandlers(() => {
      called = true;
    }, breaker)(message, ctx);
    setTimeout(() => abort.abort(new Error('stopping')), 10);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(called).toBe(false);
  });

  it('can leave the consumer running (pauseConsumer: false)', async () => {
    const breaker = withCircuitBreaker({ minCalls: 1, coolDownMs: 10, pauseConsumer: false });
    const { ctx, control } = testContext();
    await expect(chainHandlers(down, breaker)(message, ctx)).rejects.toThrow();
    await chainHandlers(ok, breaker)(message, ctx);
    expect(control.calls).toEqual([]);
  });

  it('validates every option at once', () => {
    let error: unknown;
    try {
      withCircuitBreaker({ failureRatio: 0, minCalls: 0, coolDownMs: -1, halfOpenCalls: 1.5, isFailure: 'x' as unknown as () => boolean });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['failureRatio', 'minCalls', 'coolDownMs', 'halfOpenCalls', 'isFailure']);
  });

  describe('with the consumer runtime (memory transport)', () => {
    const mem = memoryTransportPerTest();

    /** Records what the chain inside asks of the consumer, passing it on. */
    function spyOnControl(calls: string[]): HandlerMiddleware {
      const spies = new WeakMap<ConsumerControl, ConsumerControl>();
      return (next) => (m, ctx) => {
        let spy = spies.get(ctx.control);
        if (!spy) {
          const control = ctx.control;
          spy = {
            pause: (p) => {
              calls.push('pause');
              control.pause(p);
            },
            resume: (p) => {
              calls.push('resume');
              control.resume(p);
            },
            stop: (r) => control.stop(r),
          };
          spies.set(ctx.control, spy);
        }
        return next(m, { ...ctx, control: spy });
      };
    }

    it('opens on an outage, pauses the consumer without burning retries, and recovers', async () => {
      const topic = await mem.createTopic('orders');
      await mem.send(Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i}`, value: String(i) })));

      let outage = true;
      const changes: string[] = [];
      const breaker = withCircuitBreaker({
        minCalls: 3,
        failureRatio: 0.5,
        coolDownMs: 150,
        onStateChange: (c) => {
          changes.push(c.to);
          // The dependency comes back while the circuit is open for the second time.
          if (c.to === 'open' && changes.filter((s) => s === 'open').length === 2) outage = false;
        },
      });
      const calls: { offset: number; state: string }[] = [];
      const controlCalls: string[] = [];
      const handler = (m: Message): void => {
        calls.push({ offset: m.offset, state: breaker.state });
        if (outage) throw new Error('dependency down');
      };
      const consumer = mem.consumer({ groupId: uniqueGroup(), topics: [topic], retry: false });
      await consumer.start(chainHandlers(handler, withRetry({ initialMs: 5, maxMs: 10, maxAttempts: Infinity }), spyOnControl(controlCalls), breaker));

      await waitFor(() => consumer.metrics().processed === 30, { message: 'all records processed after recovery' });
      expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
      // 3 failures opened it; then one failed trial, one successful trial, then the rest.
      expect(calls.slice(0, 5)).toEqual([
        { offset: 0, state: 'closed' },
        { offset: 0, state: 'closed' },
        { offset: 0, state: 'closed' },
        { offset: 0, state: 'half-open' },
        { offset: 0, state: 'half-open' },
      ]);
      expect(calls).toHaveLength(34);
      expect(calls.every((c) => c.state !== 'open')).toBe(true);
      expect(controlCalls).toEqual(['pause', 'resume', 'pause', 'resume']);
      expect(consumer.metrics().deadLettered).toBe(0);
      await waitFor(async () => (await mem.committedOffset(consumer.groupId, topic)) === 30, { message: 'offset 30 committed' });
    });
  });
});
