import { ConfigError, wrapProducer, type Logger } from '@tributary/core';
import { MockProducer } from '@tributary/testutil';
import { SEND_LOGGING_LEVEL_DEFAULTS, withSendLogging } from '@tributary/middleware';
import { recordingLogger } from './support/context';

describe('withSendLogging', () => {
  it('logs a successful send at debug', async () => {
    const logger = recordingLogger();
    await wrapProducer(new MockProducer(), withSendLogging({ logger })).send([
      { topic: 'a', value: '1' },
      { topic: 'b', value: '2' },
    ]);
    expect(logger.entries).toEqual([
      { level: 'debug', bindings: {}, fields: { records: 2, topics: ['a', 'b'], durationMs: expect.any(Number) as number }, msg: 'records sent' },
    ]);
  });

  it('logs each failed record at error, with or without its key', async () => {
    const logger = recordingLogger();
    const mock = new MockProducer().failWhen((r) => r.key === 'bad', 'ERR_RECORD_TOO_LARGE');
    const results = await wrapProducer(mock, withSendLogging({ logger })).send([
      { topic: 'a', key: 'good', value: '1' },
      { topic: 'a', key: 'bad', value: '2' },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(logger.entries).toEqual([
      expect.objectContaining({
        level: 'error',
        fields: expect.objectContaining({ topic: 'a', key: 'bad', err: expect.objectContaining({ code: 'ERR_RECORD_TOO_LARGE' }) as unknown }) as unknown,
      }),
    ]);
    const quiet = recordingLogger();
    await wrapProducer(new MockProducer().failNext(), withSendLogging({ logger: quiet, logKeys: false })).send([{ topic: 'a', key: 'secret', value: '1' }]);
    expect(quiet.entries[0]?.fields).not.toHaveProperty('key');
  });

  it('logs a rejected call and rethrows it; levels are configurable', async () => {
    const logger = recordingLogger();
    const producer = wrapProducer(new MockProducer().rejectNextSend('ERR_CONNECTION'), withSendLogging({ logger, levels: { failure: 'warn', success: 'silent' } }));
    await expect(producer.send([{ topic: 'a', value: '1' }])).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    await producer.send([{ topic: 'a', value: '1' }]);
    expect(logger.entries.map((e) => [e.level, e.msg])).toEqual([['warn', 'send failed: mock producer: send rejected']]);
    expect(SEND_LOGGING_LEVEL_DEFAULTS).toEqual({ success: 'debug', failure: 'error' });
  });

  it('validates its options', () => {
    let error: unknown;
    try {
      withSendLogging({ logger: {} as Logger, levels: { success: 'loud' as 'info' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['logger', 'levels.success']);
  });
});
