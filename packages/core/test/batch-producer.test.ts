import {
  TributaryError,
  createBatchProducer,
  isTributaryError,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';

/**
 * A TransportProducer fake: assigns offsets per topic, fails records whose key
 * is in `failKeys`, and can hold every send until `release()`.
 */
class FakeProducer implements TransportProducer {
  readonly calls: ProducerRecord[][] = [];
  readonly failKeys = new Set<string>();
  rejectCalls: Error | undefined = undefined;
  #offsets = new Map<string, number>();
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  hold(): void {
    this.#gate = new Promise((r) => (this.#open = r));
  }
  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }
  get sent(): ProducerRecord[] {
    return this.calls.flat();
  }

  async connect(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    this.calls.push([...records]);
    // Results are decided at call time (as a real transport appends on send).
    const results = records.map((r): SendResult => {
      if (r.key != null && this.failKeys.has(r.key)) {
        return { ok: false, topic: r.topic, error: new TributaryError('ERR_RECORD_TOO_LARGE', `too large: ${r.key}`) };
      }
      const offset = this.#offsets.get(r.topic) ?? 0;
      this.#offsets.set(r.topic, offset + 1);
      return { ok: true, topic: r.topic, partition: 0, offset };
    });
    const rejection = this.rejectCalls;
    if (this.#gate) await this.#gate;
    if (rejection !== undefined) throw rejection;
    return results;
  }
}

afterEach(() => {
  jest.useRealTimers();
});

describe('createBatchProducer', () => {
  it('sends a batch every maxRecords records and resolves each record with its own result', async () => {
    const producer = new FakeProducer();
    const batch = createBatchProducer(producer, { topic: 't', maxRecords: 3, maxWaitMs: 60_000 });
    const results = Array.from({ length: 7 }, (_, i) => batch.add({ key: `k${i}`, value: `v${i}` }));
    expect(producer.calls.map((c) => c.length)).toEqual([3, 3]);
    expect(batch.buffered).toBe(1);
    await expect(Promise.all(results.slice(0, 6))).resolves.toEqual(
      Array.from({ length: 6 }, (_, i) => ({ ok: true, topic: 't', partition: 0, offset: i })),
    );
    const report = await batch.close();
    expect(producer.calls.map((c) => c.length)).toEqual([3, 3, 1]);
    await expect(results[6]).resolves.toMatchObject({ offset: 6 });
    expect(report).toEqual({ sent: 7, failed: [] });
  });

  it('sends a partial batch maxWaitMs after its first record, not before', async () => {
    jest.useFakeTimers();
    const producer = new FakeProducer();
    const batch = createBatchProducer(producer, { topic: 't', maxWaitMs: 1000 });
    const first = batch.add({ value: 'a' });
    await jest.advanceTimersByTimeAsync(600);
    const second = batch.add({ value: 'b' }); // does not restart the clock
    await jest.advanceTimersByTimeAsync(399);
    expect(producer.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(producer.calls.map((c) => c.map((r) => r.value))).toEqual([['a', 'b']]);
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
    await batch.close();
  });

  it('flushes before a record would take the batch over maxBytes, and sends an oversized record alone', async () => {
    const producer = new FakeProducer();
    const batch = createBatchProducer(producer, { topic: 't', maxBytes: 25, maxWaitMs: 60_000 });
    for (const v of ['0123456789', '0123456789', '0123456789']) void batch.add({ value: v });
    expect(producer.calls.map((c) => c.length)).toEqual([2]); // 20 bytes, a third would make 30
    void batch.add({ value: 'x'.repeat(40) }); // flushes the 1 buffered, then is a batch of its own
    expect(producer.calls.map((c) => c.length)).toEqual([2, 1, 1]);
    void batch.add({ value: 'y'.repeat(25) }); // exactly the limit: sent at once
    expect(producer.calls.map((c) => c.length)).toEqual([2, 1, 1, 1]);
    expect(await batch.close()).toEqual({ sent: 5, failed: [] });
  });

  it('rejects a failed record with its own error and reports it, without failing its batch mates', async () => {
    const producer = new FakeProducer();
    producer.failKeys.add('bad');
    const batch = createBatchProducer(producer, { topic: 't' });
    const good = batch.add({ key: 'good', value: '1' });
    const bad = batch.add({ key: 'bad', value: '2' });
    const report = await batch.flush();
    await expect(good).resolves.toMatchObject({ ok: true, offset: 0 });
    await expect(bad).rejects.toMatchObject({ code: 'ERR_RECORD_TOO_LARGE', message: 'too large: bad' });
    expect(report.sent).toBe(1);
    expect(report.failed.map((f) => [f.record.key, f.error.code])).toEqual([['bad', 'ERR_RECORD_TOO_LARGE']]);
    expect(await batch.close()).toEqual({ sent: 0, failed: [] }); // each record is reported once
  });

  it('fails every record of a batch whose send call rejects, wrapping foreign errors as ERR_PRODUCE', async () => {
    const producer = new FakeProducer();
    const cause = new Error('socket hang up');
    producer.rejectCalls = cause;
    const batch = createBatchProducer(producer, { topic: 't' });
    const a = batch.add({ value: 'a' });
    const b = batch.add({ value: 'b' });
    const report = await batch.close();
    for (const p of [a, b]) {
      const err: unknown = await p.catch((e: unknown) => e);
      expect(isTributaryError(err) && err.code).toBe('ERR_PRODUCE');
      expect((err as Error).cause).toBe(cause);
    }
    expect(report.sent).toBe(0);
    expect(report.failed).toHaveLength(2);
  });

  it('keeps every record, in order, under concurrent adds, flushes and a close', async () => {
    const producer = new FakeProducer();
    const batch = createBatchProducer(producer, { topic: 't', maxRecords: 7, maxWaitMs: 1 });
    const writers = 5;
    const perWriter = 60;
    const outcomes: Promise<unknown>[] = [];
    const reports: Promise<{ sent: number }>[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          outcomes.push(batch.add({ key: `w${w}`, value: `${w}:${i}` }));
          if (i % 13 === w) reports.push(batch.flush());
          if (i % 5 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    reports.push(batch.close());
    const settled = await Promise.allSettled(outcomes);
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    const total = (await Promise.all(reports)).reduce((n, r) => n + r.sent, 0);
    expect(total).toBe(writers * perWriter);
    const sent = producer.sent.map((r) => r.value as string);
    expect(new Set(sent).size).toBe(writers * perWriter);
    for (let w = 0; w < writers; w++) {
      const mine = sent.filter((v) => v.startsWith(`${w}:`)).map((v) => Number(v.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => i));
    }
    expect(producer.calls.every((c) => c.length <= 7)).toBe(true);
  });

  it('close waits for in-flight batches, then refuses records with ERR_CLOSED; close is idempotent', async () => {
    const producer = new FakeProducer();
    producer.hold();
    const batch = createBatchProducer(producer, { topic: 't', maxRecords: 2 });
    const inflight = [batch.add({ value: 'a' }), batch.add({ value: 'b' })]; // sent, held
    const buffered = batch.add({ value: 'c' });
    let closed = false;
    const closing = batch.close().then((r) => {
      closed = true;
      return r;
    });
    expect(batch.close()).toBe(batch.close());
    await expect(batch.add({ value: 'late' })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    expect(producer.calls.map((c) => c.length)).toEqual([2, 1]); // close sent the buffered record
    producer.release();
    expect(await closing).toEqual({ sent: 3, failed: [] });
    await expect(Promise.all([...inflight, buffered])).resolves.toHaveLength(3);
    expect(producer.calls.flat().map((r) => r.value)).toEqual(['a', 'b', 'c']);
  });

  it('leaves no timer behind after flush or close', async () => {
    jest.useFakeTimers();
    const producer = new FakeProducer();
    const batch = createBatchProducer(producer, { topic: 't' });
    void batch.add({ value: 'a' });
    expect(jest.getTimerCount()).toBe(1);
    await batch.flush();
    expect(jest.getTimerCount()).toBe(0);
    void batch.add({ value: 'b' });
    await batch.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('uses a record’s own topic over the default and refuses a record with neither', async () => {
    const producer = new FakeProducer();
    const withDefault = createBatchProducer(producer, { topic: 'default' });
    void withDefault.add({ value: 'a' });
    void withDefault.add({ topic: 'other', value: 'b' });
    await withDefault.close();
    expect(producer.sent.map((r) => r.topic)).toEqual(['default', 'other']);

    const without = createBatchProducer(producer);
    await expect(without.add({ value: 'x' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await without.close();
  });

  it('does not raise an unhandled rejection for an ignored failed record', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const producer = new FakeProducer();
      producer.failKeys.add('bad');
      const batch = createBatchProducer(producer, { topic: 't' });
      void batch.add({ key: 'bad', value: 'x' });
      const report = await batch.close();
      await new Promise((r) => setImmediate(r));
      expect(report.failed).toHaveLength(1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('validates every option at once', () => {
    let caught: unknown;
    try {
      createBatchProducer({} as TransportProducer, { topic: '', maxRecords: 0, maxWaitMs: -1, maxBytes: 1.5 });
    } catch (err) {
      caught = err;
    }
    expect(isTributaryError(caught) && caught.code).toBe('ERR_CONFIG');
    expect((caught as { problems: { field: string }[] }).problems.map((p) => p.field)).toEqual([
      'producer',
      'topic',
      'maxRecords',
      'maxWaitMs',
      'maxBytes',
    ]);
  });
});
