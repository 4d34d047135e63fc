import { TributaryError, type ProducerRecord, type SendResult, type TransportProducer } from '@tributary/core';
import { deferred, type Deferred } from '@tributary/testutil';
import { RecordBatcher } from '../src/record-batcher';

/** A producer that records each send call and answers it when the test says so (or at once). */
class FakeProducer implements TransportProducer {
  readonly calls: ProducerRecord[][] = [];
  readonly pending: Array<Deferred<SendResult[]>> = [];
  auto = true;
  fail: (record: ProducerRecord) => boolean = () => false;
  reject: TributaryError | undefined;

  async connect(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}

  send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    this.calls.push([...records]);
    if (this.reject !== undefined) return Promise.reject(this.reject);
    const results = records.map((r, i): SendResult =>
      this.fail(r) ? { ok: false, topic: r.topic, error: new TributaryError('ERR_PRODUCE', `refused ${String(r.value)}`) } : { ok: true, topic: r.topic, partition: 0, offset: i },
    );
    if (this.auto) return Promise.resolve(results);
    const d = deferred<SendResult[]>();
    this.pending.push(d);
    return d.promise.then(() => results);
  }
}

const rec = (value: string): ProducerRecord => ({ topic: 't', value });

describe('RecordBatcher', () => {
  it('sends records added in one turn in one call, in add order', async () => {
    const producer = new FakeProducer();
    const batcher = new RecordBatcher(producer, 100, 'test');
    await Promise.all([batcher.add(rec('a')), batcher.add(rec('b')), batcher.add(rec('c'))]);
    expect(producer.calls.map((c) => c.map((r) => r.value))).toEqual([['a', 'b', 'c']]);
  });

  it('sends at maxBatchRecords without waiting for the turn to end', () => {
    const producer = new FakeProducer();
    const batcher = new RecordBatcher(producer, 2, 'test');
    void batcher.add(rec('a'));
    expect(producer.calls).toHaveLength(0);
    void batcher.add(rec('b'));
    expect(producer.calls.map((c) => c.map((r) => r.value))).toEqual([['a', 'b']]);
  });

  it('addAll with now hands everything pending to the transport at once, earlier records first', () => {
    const producer = new FakeProducer();
    const batcher = new RecordBatcher(producer, 100, 'test');
    void batcher.add(rec('end-1'));
    void batcher.addAll([rec('start-2'), rec('start-3')], { now: true });
    expect(producer.calls.map((c) => c.map((r) => r.value))).toEqual([['end-1', 'start-2', 'start-3']]);
  });

  it('rejects only the adds whose records failed; addAll rejects with the first failure after all settled', async () => {
    const producer = new FakeProducer();
    producer.fail = (r) => r.value === 'bad' || r.value === 'bad-2';
    const batcher = new RecordBatcher(producer, 100, 'test');
    const good = batcher.add(rec('good'));
    const bad = batcher.add(rec('bad'));
    const all = batcher.addAll([rec('ok'), rec('bad-2'), rec('ok-2')]);
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toMatchObject({ code: 'ERR_PRODUCE', message: 'refused bad' });
    await expect(all).rejects.toMatchObject({ message: 'refused bad-2' });
  });

  it('rejects every record of a call the transport rejected', async () => {
    const producer = new FakeProducer();
    producer.reject = new TributaryError('ERR_CONNECTION', 'down');
    const batcher = new RecordBatcher(producer, 100, 'test');
    const results = await Promise.allSettled([batcher.add(rec('a')), batcher.addAll([rec('b')])]);
    expect(results.map((r) => r.status === 'rejected' && (r.reason as TributaryError).code)).toEqual(['ERR_CONNECTION', 'ERR_CONNECTION']);
  });

  it('flush sends what is pending and waits for every call in flight', async () => {
    const producer = new FakeProducer();
    producer.auto = false;
    const batcher = new RecordBatcher(producer, 100, 'test');
    const added = batcher.add(rec('a'));
    let flushed = false;
    const flushing = batcher.flush().then(() => (flushed = true));
    expect(producer.calls).toHaveLength(1);
    await Promise.resolve();
    expect(flushed).toBe(false);
    producer.pending[0]!.resolve([]);
    await flushing;
    await added;
    expect(batcher.pending).toBe(0);
  });

  it('refuses records after close with ERR_CLOSED, after sending what was pending', async () => {
    const producer = new FakeProducer();
    const batcher = new RecordBatcher(producer, 100, 'test');
    const before = batcher.add(rec('a'));
    await batcher.close();
    await expect(before).resolves.toBeUndefined();
    await expect(batcher.add(rec('b'))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(batcher.addAll([rec('c')])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(producer.calls).toHaveLength(1);
  });
});
