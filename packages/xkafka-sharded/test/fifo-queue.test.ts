import { FifoQueue } from '../src/fifo-queue';

describe('FifoQueue', () => {
  it('returns items first in, first out', () => {
    const q = new FifoQueue<number>();
    expect(q.shift()).toBeUndefined();
    for (let i = 0; i < 5; i++) q.push(i);
    expect(q.length).toBe(5);
    expect(q.peek()).toBe(0);
    expect([q.shift(), q.shift()]).toEqual([0, 1]);
    q.push(5);
    expect(q.toArray()).toEqual([2, 3, 4, 5]);
    expect(q.length).toBe(4);
  });

  it('stays correct across compaction of a long consumed prefix', () => {
    const q = new FifoQueue<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) q.push(next++);
      for (let i = 0; i < 90; i++) expect(q.shift()).toBe(expected++);
    }
    expect(q.length).toBe(next - expected);
    expect(q.peek()).toBe(expected);
  });

  it('removeWhere removes matching items, keeps the order of the rest and returns the removed', () => {
    const q = new FifoQueue<number>();
    for (let i = 0; i < 10; i++) q.push(i);
    q.shift();
    const removed = q.removeWhere((n) => n % 3 === 0);
    expect(removed).toEqual([3, 6, 9]);
    expect(q.toArray()).toEqual([1, 2, 4, 5, 7, 8]);
    expect(q.removeWhere(() => false)).toEqual([]);
    expect(q.shift()).toBe(1);
  });
});
