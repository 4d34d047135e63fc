import { TributaryError, isTributaryError } from '@tributary/core';
import { CommitQueue } from '../src/commit-queue';
import type { NativeTopicPartition } from '../src/native';

class FakeCommitter {
  readonly sent: NativeTopicPartition[][] = [];
  fail: Error | undefined;
  commit(offsets: NativeTopicPartition[]): void {
    if (this.fail !== undefined) throw this.fail;
    this.sent.push(offsets);
  }
}

async function outcome(p: Promise<void>): Promise<string> {
  return p.then(
    () => 'ok',
    (err: unknown) => (isTributaryError(err) ? err.code : 'not a TributaryError'),
  );
}

describe('CommitQueue', () => {
  it('resolves each commit when librdkafka reports its offsets, in any order', async () => {
    const queue = new CommitQueue(10_000);
    const native = new FakeCommitter();
    const first = queue.commit(native, [{ topic: 't', partition: 0, offset: 5 }]);
    const second = queue.commit(native, [
      { topic: 't', partition: 1, offset: 9 },
      { topic: 'u', partition: 0, offset: 1 },
    ]);
    expect(native.sent).toEqual([[{ topic: 't', partition: 0, offset: 5 }], [{ topic: 't', partition: 1, offset: 9 }, { topic: 'u', partition: 0, offset: 1 }]]);
    let firstDone = false;
    void first.then(() => (firstDone = true));
    queue.onResult(undefined, [
      { topic: 'u', partition: 0, offset: 1 },
      { topic: 't', partition: 1, offset: 9 },
    ]);
    await expect(second).resolves.toBeUndefined();
    expect(firstDone).toBe(false);
    queue.onResult(undefined, [{ topic: 't', partition: 0, offset: 5 }]);
    await expect(first).resolves.toBeUndefined();
    expect(queue.size).toBe(0);
  });

  it('pairs an unrecognisable report with the oldest commit, and rejects on an error (top-level or per partition)', async () => {
    const queue = new CommitQueue(10_000);
    const native = new FakeCommitter();
    const a = queue.commit(native, [{ topic: 't', partition: 0, offset: 1 }]);
    const b = queue.commit(native, [{ topic: 't', partition: 0, offset: 2 }]);
    queue.onResult({ code: 27, message: 'Broker: Group rebalance in progress' }, []);
    queue.onResult(undefined, [{ topic: 't', partition: 0, offset: 2, error: { code: 22, message: 'Broker: Specified group generation id is not valid' } }]);
    const [ra, rb] = await Promise.all([a.catch((e: unknown) => e as TributaryError), b.catch((e: unknown) => e as TributaryError)]);
    expect([(ra as TributaryError).code, (ra as TributaryError).retriable]).toEqual(['ERR_COMMIT', true]);
    expect([(rb as TributaryError).code, (rb as TributaryError).retriable]).toEqual(['ERR_COMMIT', false]);
    expect((rb as TributaryError).message).toContain('t/0@2');
  });

  it('rejects at once when the commit cannot be sent, after the timeout without an answer, and on failAll', async () => {
    jest.useFakeTimers();
    try {
      const queue = new CommitQueue(1_000);
      const native = new FakeCommitter();
      const late = queue.commit(native, [{ topic: 't', partition: 0, offset: 1 }]);
      jest.advanceTimersByTime(1_001);
      expect(await outcome(late)).toBe('ERR_COMMIT');
      native.fail = Object.assign(new Error('Local: Erroneous state'), { code: -172 });
      expect(await outcome(queue.commit(native, [{ topic: 't', partition: 0, offset: 2 }]))).toBe('ERR_STATE');
      native.fail = undefined;
      const pending = queue.commit(native, [{ topic: 't', partition: 0, offset: 3 }]);
      queue.failAll(new TributaryError('ERR_CLOSED', 'closed'));
      expect(await outcome(pending)).toBe('ERR_CLOSED');
      expect(queue.size).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
