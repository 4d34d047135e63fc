import type { Logger, Message, PartitionConsumer, PartitionConsumerOptions, RecordBatch, TributaryError } from '@tributary/core';
import { memory, type MemoryTransport } from '@tributary/memory';
import { deferred, settle, thrownBy, unique, waitFor } from './support/async';

describe('MemoryPartitionConsumer', () => {
  let transport: MemoryTransport;
  let topic: string;

  beforeEach(async () => {
    transport = memory();
    topic = unique('log');
    await transport.admin().createTopics([{ topic, partitions: 2 }]);
  });

  afterEach(async () => {
    await transport.close();
  });

  async function produce(partition: number, count: number): Promise<void> {
    const results = await transport
      .producer()
      .send(Array.from({ length: count }, (_, i) => ({ topic, partition, value: `v${i}` })));
    expect(results.every((r) => r.ok)).toBe(true);
  }

  function start(
    options: Partial<PartitionConsumerOptions> & Pick<PartitionConsumerOptions, 'from'>,
    onBatch?: (batch: RecordBatch) => Promise<void>,
  ): { consumer: PartitionConsumer; received: Message[]; errors: TributaryError[]; run: () => Promise<void> } {
    const consumer = transport.partitionConsumer({ topic, partition: 0, ...options });
    const received: Message[] = [];
    const errors: TributaryError[] = [];
    return {
      consumer,
      received,
      errors,
      run: () =>
        consumer.run({
          async onBatch(batch) {
            await onBatch?.(batch);
            received.push(...batch.messages);
          },
          onError: (err) => errors.push(err),
        }),
    };
  }

  const offsets = (messages: readonly Message[]): number[] => messages.map((m) => m.offset);

  it('reads from the earliest offset, then follows new records', async () => {
    await produce(0, 3);
    await produce(1, 4);
    const c = start({ from: 'earliest' });
    await c.run();
    await waitFor(() => c.received.length === 3, 'the existing records');
    await produce(0, 2);
    await waitFor(() => c.received.length === 5, 'the new records');
    expect(offsets(c.received)).toEqual([0, 1, 2, 3, 4]);
    expect(c.received.every((m) => m.partition === 0)).toBe(true);
    expect(c.consumer.position()).toBe(5);
  });

  it('resolves run() before the first batch is delivered', async () => {
    await produce(0, 1);
    const c = start({ from: 'earliest' });
    await c.run();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(c.received).toHaveLength(0);
    await waitFor(() => c.received.length === 1, 'the record');
  });

  it('reads only new records from latest, and from an explicit offset', async () => {
    await produce(0, 3);
    const latest = start({ from: 'latest' });
    const fromOne = start({ from: 1 });
    expect(latest.consumer.position()).toBe(3);
    expect(fromOne.consumer.position()).toBe(1);
    await latest.run();
    await fromOne.run();
    await produce(0, 1);
    await waitFor(() => latest.received.length === 1 && fromOne.received.length === 3, 'both consumers');
    expect(offsets(latest.received)).toEqual([3]);
    expect(offsets(fromOne.received)).toEqual([1, 2, 3]);
  });

  it('reports position as the offset after the last delivered record, also while a batch is in flight', async () => {
    await produce(0, 4);
    const gate = deferred();
    const c = start({ from: 'earliest', maxBatchRecords: 3 }, () => gate.promise);
    await c.run();
    await waitFor(() => c.consumer.position() === 3, 'the first batch to be handed out');
    await settle();
    expect(c.received).toHaveLength(0);
    gate.resolve();
    await waitFor(() => c.received.length === 4, 'every record');
    expect(c.consumer.position()).toBe(4);
  });

  it('seeks, before and after run', async () => {
    await produce(0, 5);
    const c = start({ from: 'earliest' });
    c.consumer.seek(3);
    expect(c.consumer.position()).toBe(3);
    await c.run();
    await waitFor(() => c.received.length === 2, 'records from 3');
    c.consumer.seek(0);
    await waitFor(() => c.received.length === 7, 'the replay from 0');
    expect(offsets(c.received)).toEqual([3, 4, 0, 1, 2, 3, 4]);
    expect(thrownBy(() => c.consumer.seek(-1))).toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('resets a position past the end to the start, or to the end for from: latest', async () => {
    await produce(0, 2);
    const early = start({ from: 10 });
    const late = start({ from: 'latest' });
    await early.run();
    await late.run();
    late.consumer.seek(10);
    await waitFor(() => early.received.length === 2, 'the reset to earliest');
    await produce(0, 1);
    await waitFor(() => late.received.length === 1 && early.received.length === 3, 'the new record');
    expect(offsets(late.received)).toEqual([2]);
  });

  it('pauses and resumes, also when paused before run', async () => {
    await produce(0, 2);
    const c = start({ from: 'earliest' });
    c.consumer.pause();
    await c.run();
    await settle();
    expect(c.received).toHaveLength(0);
    c.consumer.resume();
    await waitFor(() => c.received.length === 2, 'records after resume');
    c.consumer.pause();
    await produce(0, 1);
    await settle();
    expect(c.received).toHaveLength(2);
    c.consumer.resume();
    await waitFor(() => c.received.length === 3, 'the record produced while paused');
  });

  it('rejects run for a missing topic or partition with ERR_UNKNOWN_TOPIC', async () => {
    await expect(start({ from: 'earliest', partition: 2 }).run()).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
    await expect(start({ from: 'earliest', topic: unique('nope') }).run()).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TOPIC' });
  });

  it('stops and reports ERR_HANDLER when onBatch rejects', async () => {
    await produce(0, 2);
    const c = start({ from: 'earliest', maxBatchRecords: 1 }, async () => {
      throw new Error('bad batch');
    });
    await c.run();
    await waitFor(() => c.errors.length === 1, 'the error');
    expect(c.errors[0]).toMatchObject({ code: 'ERR_HANDLER', context: { topic, partition: 0, offset: 0 } });
    await produce(0, 1);
    await settle();
    expect(c.errors).toHaveLength(1);
    expect(thrownBy(() => c.consumer.seek(0))).toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('reports ERR_UNKNOWN_TOPIC and stops when its topic is deleted', async () => {
    const c = start({ from: 'earliest' });
    await c.run();
    await transport.admin().deleteTopics([topic]);
    await waitFor(() => c.errors.length === 1, 'the error');
    expect(c.errors[0]?.code).toBe('ERR_UNKNOWN_TOPIC');
  });

  it('close waits for the batch in flight and rejects later calls', async () => {
    await produce(0, 1);
    const gate = deferred();
    const c = start({ from: 'earliest' }, () => gate.promise);
    await c.run();
    await waitFor(() => c.consumer.position() === 1, 'a batch in flight');
    let closed = false;
    const closing = c.consumer.close().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    expect(c.received).toHaveLength(1);
    await expect(c.run()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(thrownBy(() => c.consumer.pause())).toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('close gives up on a batch that never settles after closeTimeoutMs, warns naming the partition and the wait, and ignores its late failure', async () => {
    const warned: { fields: Record<string, unknown>; message: string }[] = [];
    const ignore = (): void => undefined;
    const logger: Logger = {
      trace: ignore,
      debug: ignore,
      info: ignore,
      error: ignore,
      warn: (objOrMsg: object | string, msg?: string) =>
        void warned.push(typeof objOrMsg === 'string' ? { fields: {}, message: objOrMsg } : { fields: { ...objOrMsg }, message: msg ?? '' }),
      child: () => logger,
    };
    await produce(0, 2);
    const never = deferred();
    const closeTimeoutMs = 50;
    const c = start({ from: 'earliest', maxBatchRecords: 1, closeTimeoutMs, logger }, () => never.promise);
    await c.run();
    await waitFor(() => c.consumer.position() === 1, 'a batch in flight');
    const started = Date.now();
    await c.consumer.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(closeTimeoutMs - 5);
    const gaveUp = warned.find((w) => w.message.includes('did not settle'));
    expect(gaveUp?.message).toContain(`${topic}/0`);
    expect(gaveUp?.fields).toMatchObject({ topic, partition: 0, closeTimeoutMs });
    expect(gaveUp?.fields.waitedMs).toBeGreaterThanOrEqual(closeTimeoutMs - 5);

    never.reject(new Error('failed after close()'));
    await settle();
    expect(warned.some((w) => w.message.includes('rejected after close()'))).toBe(true);
    expect(c.errors).toEqual([]);
    expect(c.received).toEqual([]);
    expect(c.consumer.position()).toBe(1);
    await expect(c.run()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('rejects run twice with ERR_STATE', async () => {
    const c = start({ from: 'earliest' });
    await c.run();
    await expect(c.run()).rejects.toMatchObject({ code: 'ERR_STATE' });
    expect(c.consumer.topic).toBe(topic);
    expect(c.consumer.partition).toBe(0);
  });
});
