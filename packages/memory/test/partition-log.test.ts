import { PartitionLog } from '../src/partition-log';

describe('PartitionLog', () => {
  it('appends records at increasing offsets from 0 and reads slices', () => {
    const log = new PartitionLog('t', 2);
    expect([log.low, log.high]).toEqual([0, 0]);
    for (let i = 0; i < 5; i++) expect(log.append(`k${i}`, null, 1000 + i, {})).toBe(i);
    expect([log.low, log.high]).toEqual([0, 5]);
    expect(log.read(1, 2).map((m) => m.offset)).toEqual([1, 2]);
    expect(log.read(3, 10).map((m) => m.offset)).toEqual([3, 4]);
    expect(log.read(5, 10)).toEqual([]);
    expect(log.read(0, 1)[0]).toEqual({ topic: 't', partition: 2, offset: 0, key: 'k0', value: null, timestamp: 1000, headers: {} });
    expect(Object.isFrozen(log.read(0, 1)[0])).toBe(true);
  });

  it('wakes each waiter once on notify, not on append', () => {
    const log = new PartitionLog('t', 0);
    let a = 0;
    let b = 0;
    const wakeA = (): void => void a++;
    log.waitForAppend(wakeA);
    log.waitForAppend(() => void b++);
    log.append(null, null, 0, {});
    expect([a, b]).toEqual([0, 0]);
    log.notify();
    log.notify();
    expect([a, b]).toEqual([1, 1]);
  });

  it('forgets a cancelled waiter, and wakes waiters when deleted', () => {
    const log = new PartitionLog('t', 0);
    let cancelled = 0;
    let kept = 0;
    const cancel = (): void => void cancelled++;
    log.waitForAppend(cancel);
    log.waitForAppend(() => void kept++);
    log.cancelWait(cancel);
    log.markDeleted();
    expect(log.deleted).toBe(true);
    expect([cancelled, kept]).toEqual([0, 1]);
  });
});
