import { SlidingWindowLimit } from '../../src/runtime/sliding-window-limit';

describe('SlidingWindowLimit', () => {
  it('admits at most max events in any window, sliding one event at a time', () => {
    let now = 0;
    const limit = new SlidingWindowLimit(3, 100, () => now);
    const at = (t: number): boolean => {
      now = t;
      return limit.tryAcquire();
    };
    expect([at(0), at(10), at(20)]).toEqual([true, true, true]);
    expect(at(50)).toBe(false);
    expect(at(99)).toBe(false);
    // The event at 0 has left the window [0, 100): one slot frees, not three (no fixed-window burst).
    expect(at(100)).toBe(true);
    expect(at(105)).toBe(false);
    expect(at(110)).toBe(true);
    expect(at(120)).toBe(true);
    expect(at(121)).toBe(false);
  });

  it('does not count refused events', () => {
    let now = 0;
    const limit = new SlidingWindowLimit(1, 10, () => now);
    expect(limit.tryAcquire()).toBe(true);
    for (now = 1; now < 10; now++) expect(limit.tryAcquire()).toBe(false);
    now = 10;
    expect(limit.tryAcquire()).toBe(true);
  });

  it('keeps working after many windows (the ring wraps)', () => {
    let now = 0;
    const limit = new SlidingWindowLimit(4, 40, () => now);
    let admitted = 0;
    for (now = 0; now < 4_000; now++) if (limit.tryAcquire()) admitted++;
    // Four per 40 ms, exactly, over 100 windows.
    expect(admitted).toBe(400);
  });
});
