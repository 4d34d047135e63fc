import { RatioWindow } from '../src/ratio-window';

describe('RatioWindow', () => {
  it('counts outcomes and hits within the window', () => {
    let now = 0;
    const w = new RatioWindow(1_000, () => now);
    w.add(true);
    w.add(false);
    now = 550;
    w.add(true);
    expect(w.counts()).toEqual({ total: 3, hits: 2 });
  });

  it('lets outcomes fall out a bucket at a time as the window slides', () => {
    let now = 0;
    const w = new RatioWindow(1_000, () => now, 10);
    w.add(true); // bucket [0, 100)
    now = 500;
    w.add(false); // bucket [500, 600)
    now = 999;
    expect(w.counts()).toEqual({ total: 2, hits: 1 });
    now = 1_000; // the first bucket is now out of the window
    expect(w.counts()).toEqual({ total: 1, hits: 0 });
    now = 1_600;
    expect(w.counts()).toEqual({ total: 0, hits: 0 });
  });

  it('reuses a bucket slot for a later period without old counts', () => {
    let now = 0;
    const w = new RatioWindow(1_000, () => now, 10);
    w.add(true);
    now = 1_050; // same slot (index 0), next lap
    w.add(false);
    expect(w.counts()).toEqual({ total: 1, hits: 0 });
  });

  it('resets', () => {
    const w = new RatioWindow(1_000, () => 0);
    w.add(true);
    w.reset();
    expect(w.counts()).toEqual({ total: 0, hits: 0 });
  });
});
