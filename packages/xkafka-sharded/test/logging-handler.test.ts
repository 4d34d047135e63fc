import { buildMessage } from '@tributary/testutil';
import { loggingHandler } from '../src/logging-handler';
import { testContext } from './support/context';
import { RecordingLogger } from './support/logger';

describe('loggingHandler', () => {
  const message = buildMessage({ topic: 'orders', partition: 2, offset: 7, key: 'k' });

  it('logs a handled record at debug with its coordinates, through ctx.logger by default', async () => {
    const logger = new RecordingLogger();
    await loggingHandler()(async () => undefined)(message, testContext({ logger, attempt: 2 }));
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({
      level: 'debug',
      msg: 'record handled',
      obj: { topic: 'orders', partition: 2, offset: 7, key: 'k', attempt: 2 },
    });
  });

  it('logs a failure at warn and rethrows the same error', async () => {
    const logger = new RecordingLogger();
    const boom = new Error('boom');
    const handler = loggingHandler(logger)(() => {
      throw boom;
    });
    await expect(handler(message, testContext())).rejects.toBe(boom);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({ level: 'warn', msg: 'record failed: boom', obj: { err: boom, offset: 7 } });
  });
});
