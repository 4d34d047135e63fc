import { ROOT_CONTEXT, context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ConfigError, TributaryError, chainHandlers, type Logger } from '@tributary/core';
import { MockProducer, buildMessage } from '@tributary/testutil';
import pino from 'pino';
import { LOGGING_LEVEL_DEFAULTS, withDeadLetter, withDedup, withLogging, withRetry } from '@tributary/middleware';
import { testContext } from './support/context';

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger writing parsed lines into an array. */
function pinoLines(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level: 'trace', base: undefined, timestamp: false }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { logger, lines };
}

const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 } as const;

const message = buildMessage({
  topic: 'orders',
  partition: 2,
  offset: 17,
  key: 'customer-9',
  headers: { ce_id: 'evt-1', ce_type: 'order.created', authorization: 'Bearer secret', 'x-tenant': 'acme' },
});

describe('withLogging', () => {
  const consoleSpies: jest.SpyInstance[] = [];

  beforeEach(() => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) consoleSpies.push(jest.spyOn(console, method));
  });

  afterEach(() => {
    for (const spy of consoleSpies.splice(0)) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });

  it('hands the handler a child logger bound to the record, and logs success at debug', async () => {
    const { logger, lines } = pinoLines();
    await chainHandlers((_m, ctx) => ctx.logger.info({ step: 'saved' }, 'order saved'), withLogging({ logger }))(message, testContext({ groupId: 'billing' }).ctx);
    const bindings = { topic: 'orders', partition: 2, offset: 17, key: 'customer-9', eventType: 'order.created', eventId: 'evt-1', groupId: 'billing' };
    expect(lines).toEqual([
      { level: LEVEL.info, ...bindings, step: 'saved', msg: 'order saved' },
      { level: LEVEL.debug, ...bindings, durationMs: expect.any(Number) as number, msg: 'record processed' },
    ]);
  });

  it('logs a failure at error with the serialized error, and rethrows it', async () => {
    const { logger, lines } = pinoLines();
    const error = new TributaryError('ERR_VALIDATION', 'missing total');
    await expect(
      chainHandlers(() => {
        throw error;
      }, withLogging({ logger }))(message, testContext().ctx),
    ).rejects.toBe(error);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: LEVEL.error, msg: 'record failed: missing total', err: { message: 'missing total', code: 'ERR_VALIDATION' } });
  });

  it('logs retries at warn and the dead-letter at error, from the middleware inside', async () => {
    const { logger, lines } = pinoLines();
    await chainHandlers(
      () => {
        throw new Error('db down');
      },
      withLogging({ logger }),
      withDeadLetter({ producer: new MockProducer() }),
      withRetry({ initialMs: 1, maxMs: 1, maxAttempts: 3, jitter: 'none' }),
    )(message, testContext().ctx);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [LEVEL.warn, 'record retry after attempt 1: db down'],
      [LEVEL.warn, 'record retry after attempt 2: db down'],
      [LEVEL.error, 'record dead-lettered to orders.dlq: gave up after 3 attempts: db down'],
      [LEVEL.debug, 'record processed'],
    ]);
    expect(lines[0]).toMatchObject({ attempt: 1, delayMs: 1, offset: 17, err: { message: 'db down' } });
    expect(lines[2]).toMatchObject({ deadLetterTopic: 'orders.dlq', attempts: 3, err: { code: 'ERR_RETRIES_EXHAUSTED' } });
  });

  it('says a dead-letter went through the writer, not to a topic, when a DeadLetterWriter took it', async () => {
    const { logger, lines } = pinoLines();
    const written: unknown[] = [];
    await chainHandlers(
      () => {
        throw new TypeError('bad total');
      },
      withLogging({ logger }),
      withDeadLetter({ writer: { write: async (letters) => void written.push(...letters) } }),
    )(message, testContext().ctx);
    expect(written).toHaveLength(1);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [LEVEL.error, 'record dead-lettered through the writer: bad total'],
      [LEVEL.debug, 'record processed'],
    ]);
    expect(lines[0]).toMatchObject({ deadLetterWriter: true, attempts: 1 });
    expect(lines[0]).not.toHaveProperty('deadLetterTopic');
  });

  it('takes other levels, silent included', async () => {
    const { logger, lines } = pinoLines();
    const chain = chainHandlers(() => undefined, withLogging({ logger, levels: { success: 'info', duplicate: 'silent' } }), withDedup());
    await chain(message, testContext().ctx);
    await chain(message, testContext().ctx);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [LEVEL.info, 'record processed'],
      [LEVEL.info, 'record processed'],
    ]);
    expect(LOGGING_LEVEL_DEFAULTS).toEqual({ success: 'debug', retry: 'warn', deadLetter: 'error', duplicate: 'debug', failure: 'error' });
  });

  it('logs a skipped duplicate at debug', async () => {
    const { logger, lines } = pinoLines();
    const chain = chainHandlers(() => undefined, withLogging({ logger }), withDedup());
    await chain(message, testContext().ctx);
    await chain(message, testContext().ctx);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [LEVEL.debug, 'record processed'],
      [LEVEL.debug, 'record skipped as duplicate'],
      [LEVEL.debug, 'record processed'],
    ]);
  });

  it('logs selected headers and redacts fields and headers', async () => {
    const { logger, lines } = pinoLines();
    await chainHandlers(() => undefined, withLogging({ logger, headers: true, redact: ['key', 'headers.Authorization'] }))(message, testContext().ctx);
    expect(lines[0]).toMatchObject({
      key: '[Redacted]',
      headers: { ce_id: 'evt-1', ce_type: 'order.created', authorization: '[Redacted]', 'x-tenant': 'acme' },
    });

    lines.length = 0;
    await chainHandlers(() => undefined, withLogging({ logger, headers: ['X-Tenant'], redact: ['eventId'], censor: '***' }))(message, testContext().ctx);
    expect(lines[0]).toMatchObject({ key: 'customer-9', eventId: '***', headers: { 'x-tenant': 'acme' } });
    expect(lines[0]?.headers).toEqual({ 'x-tenant': 'acme' });

    lines.length = 0;
    await chainHandlers(() => undefined, withLogging({ logger, headers: true, redact: ['headers'] }))(message, testContext().ctx);
    expect(lines[0]?.headers).toBe('[Redacted]');

    lines.length = 0;
    await chainHandlers(() => undefined, withLogging({ logger }))(message, testContext().ctx);
    expect(lines[0]).not.toHaveProperty('headers');
  });

  it('binds trace_id and span_id of the active span', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const { logger, lines } = pinoLines();
      const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
      await context.with(trace.setSpanContext(ROOT_CONTEXT, spanContext), () =>
        chainHandlers(() => undefined, withLogging({ logger }))(message, testContext().ctx),
      );
      expect(lines[0]).toMatchObject({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
    } finally {
      context.disable();
    }
  });

  it("uses the consumer's logger when none is given", async () => {
    const { logger, lines } = pinoLines();
    await chainHandlers(() => undefined, withLogging())(message, testContext({ logger }).ctx);
    expect(lines).toEqual([expect.objectContaining({ msg: 'record processed', offset: 17 })]);
  });

  it('validates every option at once', () => {
    let error: unknown;
    try {
      withLogging({ logger: {} as Logger, levels: { success: 'loud' as 'info' }, headers: 'all' as unknown as boolean, redact: [''] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['logger', 'levels.success', 'headers', 'redact']);
  });
});
