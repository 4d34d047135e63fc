/**
 * Connecting with a bounded wait, and classifying why it failed: an
 * unreachable broker is ERR_CONNECTION, refused credentials ERR_AUTHENTICATION.
 */
import { EventEmitter } from 'node:events';
import { isTributaryError, type Logger } from '@tributary/core';
import { uniqueGroup } from '@tributary/testutil';
import { kafka } from '@tributary/kafka';
import { ClientDiagnostics, connectNative } from '../src/connection';
import type { NativeError, NativeLogEvent } from '../src/native';
import { brokers } from './support/broker';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      lines.push(`${level} ${typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '')}`);
    };
  const logger = { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

class FakeClient extends EventEmitter {
  log(severity: number, message: string): void {
    this.emit('event.log', { severity, fac: 'FAIL', message } satisfies NativeLogEvent);
  }
  fail(message: string, code = -1): void {
    this.emit('event.error', { message, code } satisfies NativeError);
  }
}

describe('ClientDiagnostics', () => {
  it("forwards librdkafka's logs at matching levels", () => {
    const client = new FakeClient();
    const logger = recordingLogger();
    new ClientDiagnostics(client, logger);
    client.log(3, 'broken');
    client.log(4, 'odd');
    client.log(6, 'fine');
    client.log(7, 'detail');
    expect(logger.lines).toEqual(['error broken', 'warn odd', 'info fine', 'debug detail']);
  });

  it('explains a failed connect with the latest failure it saw, as ERR_AUTHENTICATION when credentials were refused', () => {
    const client = new FakeClient();
    const diagnostics = new ClientDiagnostics(client, recordingLogger());
    client.log(3, 'Connect to ipv4#10.0.0.1:9092 failed: Connection refused');
    const refused = diagnostics.connectError({ code: -195, message: 'broker transport failure' }, 'kafka producer', ['10.0.0.1:9092'], 2_000);
    expect([refused.code, refused.message]).toEqual([
      'ERR_CONNECTION',
      'kafka producer: could not connect to 10.0.0.1:9092 within 2000 ms: Connect to ipv4#10.0.0.1:9092 failed: Connection refused',
    ]);
    expect(diagnostics.connectionTrouble()).toBe(true);
    client.fail('authentication failure');
    const auth = diagnostics.connectError({ code: -195, message: 'broker transport failure' }, 'kafka producer', ['10.0.0.1:9092'], 2_000);
    expect([auth.code, auth.retriable]).toEqual(['ERR_AUTHENTICATION', false]);
  });

  it('connectNative turns a synchronous throw into the same classified error', async () => {
    const client = new FakeClient();
    const diagnostics = new ClientDiagnostics(client, recordingLogger());
    const throwing = {
      connect(): never {
        throw Object.assign(new Error('Local: Host resolution failure'), { code: -193 });
      },
    };
    await expect(connectNative(throwing, diagnostics, 'x', ['nowhere:1'], 100)).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
  });
});

describe('connecting to a real broker', () => {
  it('fails producer connect and send with ERR_CONNECTION within connectTimeoutMs when nothing listens', async () => {
    const transport = kafka({ brokers: '127.0.0.1:1', connectTimeoutMs: 1_000 });
    try {
      const producer = transport.producer();
      const started = Date.now();
      const err = await producer.connect().catch((e: unknown) => e);
      expect(isTributaryError(err) && [err.code, err.retriable]).toEqual(['ERR_CONNECTION', true]);
      expect((err as Error).message).toMatch(/could not connect to 127\.0\.0\.1:1 within 1000 ms: .*(refused|failed)/i);
      expect(Date.now() - started).toBeLessThan(4_000);
      await expect(producer.send([{ topic: 't', value: 'x' }])).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
      await producer.close();
    } finally {
      await transport.close();
    }
  });

  it('fails with ERR_AUTHENTICATION when the broker refuses the SASL handshake', async () => {
    // The test broker speaks plaintext only, so it refuses any SASL handshake:
    // the same path as wrong credentials on a SASL listener.
    const transport = kafka({
      brokers: brokers(),
      connectTimeoutMs: 2_000,
      requestTimeoutMs: 2_000,
      sasl: { mechanism: 'plain', username: 'nobody', password: 'wrong' },
    });
    try {
      const producerError = await transport.producer().connect().catch((e: unknown) => e);
      expect(isTributaryError(producerError) && [producerError.code, producerError.retriable]).toEqual(['ERR_AUTHENTICATION', false]);
      expect((producerError as Error).message).toMatch(/SASL/);
      const consumerError = await transport
        .groupConsumer({ groupId: uniqueGroup('kafka-auth'), topics: ['t'] })
        .run({ onBatch: async () => undefined })
        .catch((e: unknown) => e);
      expect(isTributaryError(consumerError) && consumerError.code).toBe('ERR_AUTHENTICATION');
      const adminError = await transport.admin().listTopics().catch((e: unknown) => e);
      expect(isTributaryError(adminError) && adminError.code).toBe('ERR_AUTHENTICATION');
    } finally {
      await transport.close();
    }
  });
});
