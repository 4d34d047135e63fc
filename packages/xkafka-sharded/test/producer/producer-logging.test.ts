import { TributaryError, type SendResult } from '@tributary/core';
import { buildRecord } from '@tributary/testutil';
import { producerLoggingHandler } from '../../src/producer/producer-logging';
import { RecordingLogger } from '../support/logger';

describe('producerLoggingHandler', () => {
  it('logs each produced record at debug and each failed one at warn, passing the results through', async () => {
    const logger = new RecordingLogger();
    const error = new TributaryError('ERR_PRODUCE', 'nope');
    const results: SendResult[] = [
      { ok: true, topic: 't', partition: 2, offset: 9 },
      { ok: false, topic: 't', error },
    ];
    const send = producerLoggingHandler(logger)(async () => results);
    await expect(send([buildRecord({ key: 'a' }), buildRecord({ key: 'b' })])).resolves.toBe(results);
    expect(logger.entries).toHaveLength(2);
    expect(logger.entries[0]).toMatchObject({ level: 'debug', msg: 'record produced', obj: { partition: 2, offset: 9, key: 'a' } });
    expect(logger.entries[1]).toMatchObject({ level: 'warn', msg: 'produce failed: nope', obj: { err: error, key: 'b' } });
  });

  it('logs a rejected send at error and rethrows it', async () => {
    const logger = new RecordingLogger();
    const boom = new Error('connection lost');
    await expect(producerLoggingHandler(logger)(() => Promise.reject(boom))([buildRecord()])).rejects.toBe(boom);
    expect(logger.entries[0]).toMatchObject({ level: 'error', msg: 'send failed: connection lost' });
  });
});
