import { ConfigError, type Transport } from '@tributary/core';
import { memory } from '@tributary/memory';
import { createMessageSender } from '@tributary/mq-markers';
import { uniqueTopic } from '@tributary/testutil';
import { faultyTransport, injected, readTopic, text } from './support/fixture';

let transport: Transport;
let queue: string;
beforeEach(async () => {
  transport = memory();
  queue = uniqueTopic('sender');
  await transport.admin().createTopics([{ topic: queue, partitions: 3 }]);
});
afterEach(async () => {
  await transport.close();
});

describe('MessageSender', () => {
  it('send resolves with where the message landed, with its key, headers and partition', async () => {
    const sender = createMessageSender(transport);
    try {
      const a = await sender.send(queue, 'hello', { key: 'k', headers: { h: '1' } });
      const b = await sender.send(queue, new Uint8Array([1, 2]), { partition: 2 });
      expect(a).toMatchObject({ ok: true, topic: queue, offset: 0 });
      expect(b).toMatchObject({ ok: true, topic: queue, partition: 2 });
      const stored = await readTopic(transport, queue);
      const first = stored.find((m) => m.partition === a.partition && m.offset === a.offset)!;
      expect([text(first), first.key, first.headers]).toEqual(['hello', 'k', { h: '1' }]);
    } finally {
      await sender.close();
    }
  });

  it('send rejects with the record’s error', async () => {
    const sender = createMessageSender(transport);
    try {
      await expect(sender.send(queue, 'x', { partition: 9 })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
      await expect(sender.send('', 'x')).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    } finally {
      await sender.close();
    }
  });

  it('sendAsync batches messages into one transport call and reports each delivery', async () => {
    const faulty = faultyTransport(transport);
    let calls = 0;
    faulty.faults.rejectSend = () => {
      calls++;
      return undefined;
    };
    const sender = createMessageSender(faulty, { lingerMs: 60_000 });
    try {
      const deliveries = Array.from({ length: 5 }, (_, i) => sender.sendAsync(queue, `m-${i}`, { key: 'same' }));
      expect(calls).toBe(0); // lingering
      const report = await sender.flush();
      expect(calls).toBe(1);
      expect(report).toEqual({ sent: 5, failed: [] });
      const results = await Promise.all(deliveries);
      expect(results.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await sender.close();
    }
  });

  it('a failed sendAsync rejects its promise (pre-handled) and is listed in the next report', async () => {
    const faulty = faultyTransport(transport);
    faulty.faults.failRecord = (r) => (r.value === 'bad' ? injected('ERR_PRODUCE', 'refused') : undefined);
    const sender = createMessageSender(faulty, { lingerMs: 0 });
    try {
      const ignored = sender.sendAsync(queue, 'bad'); // never awaited before the report: must not be an unhandled rejection
      const report = await sender.flush();
      expect(report.sent).toBe(0);
      expect(report.failed.map((f) => f.error.message)).toEqual(['refused']);
      await expect(ignored).rejects.toMatchObject({ code: 'ERR_PRODUCE' });
    } finally {
      await sender.close();
    }
  });

  it('sendBatch sends in one call with one result per message', async () => {
    const sender = createMessageSender(transport);
    try {
      const results = await sender.sendBatch([
        { queue, payload: 'a', partition: 0 },
        { queue, payload: 'b', partition: 7 },
        { queue, payload: 'c', partition: 0, key: 'k' },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    } finally {
      await sender.close();
    }
  });

  it('refuses everything after close with ERR_CLOSED; close is idempotent and leaves a shared producer open', async () => {
    const producer = transport.producer();
    const sender = createMessageSender(transport, { producer });
    const report = sender.close();
    expect(sender.close()).toBe(report);
    await report;
    await expect(sender.send(queue, 'x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(sender.sendAsync(queue, 'x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(sender.sendBatch([])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(producer.send([{ topic: queue, value: 'still open' }])).resolves.toHaveLength(1);
  });

  it('reports every invalid option at once', () => {
    let error: unknown;
    try {
      createMessageSender(transport, { lingerMs: -1, maxBatchRecords: 0, clientId: '' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['lingerMs', 'maxBatchRecords', 'clientId']);
  });
});
