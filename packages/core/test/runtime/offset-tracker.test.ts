import { OffsetTracker } from '@tributary/core';

describe('OffsetTracker', () => {
  it('commits only the contiguous completed prefix', () => {
    const t = new OffsetTracker();
    for (const o of [10, 11, 12, 13]) t.track(o);
    expect(t.committable()).toBeUndefined();
    t.complete(12);
    expect(t.committable()).toBeUndefined();
    t.complete(10);
    expect(t.committable()).toBe(11);
    t.complete(11);
    expect(t.committable()).toBe(13);
    expect(t.pending).toBe(1);
    expect(t.lowestPending()).toBe(13);
    t.complete(13);
    expect(t.committable()).toBe(14);
    expect(t.pending).toBe(0);
  });

  it('handles gaps between offsets (compaction, transaction markers)', () => {
    const t = new OffsetTracker(5);
    expect(t.committable()).toBe(5);
    t.track(7);
    t.track(20);
    t.complete(20);
    expect(t.committable()).toBe(5);
    t.complete(7);
    expect(t.committable()).toBe(21);
  });

  it('ignores unknown and repeated completions and rejects out-of-order tracking', () => {
    const t = new OffsetTracker();
    t.track(1);
    t.complete(99);
    t.complete(1);
    t.complete(1);
    expect(t.committable()).toBe(2);
    expect(t.pending).toBe(0);
    expect(() => t.track(1)).toThrow(RangeError);
  });

  it('stays correct across compaction of a long run completed out of order', () => {
    const t = new OffsetTracker();
    const n = 5_000;
    for (let o = 0; o < n; o++) t.track(o);
    // complete odds first, then evens: the prefix only moves with the evens
    for (let o = 1; o < n; o += 2) t.complete(o);
    expect(t.committable()).toBeUndefined();
    for (let o = 0; o < n; o += 2) {
      t.complete(o);
      expect(t.committable()).toBe(o + 2);
    }
    expect(t.pending).toBe(0);
    t.track(n + 10);
    expect(t.lowestPending()).toBe(n + 10);
  });

  it('reset forgets in-flight offsets', () => {
    const t = new OffsetTracker();
    t.track(3);
    t.reset(40);
    expect(t.committable()).toBe(40);
    t.track(40);
    t.complete(40);
    expect(t.committable()).toBe(41);
  });
});
