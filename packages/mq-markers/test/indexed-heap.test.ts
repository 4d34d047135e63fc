import { IndexedHeap } from '../src/indexed-heap';

interface Item {
  key: number;
  readonly id: number;
  slot: number;
}

function heap(): IndexedHeap<Item> {
  return new IndexedHeap<Item>((a, b) => a.key < b.key || (a.key === b.key && a.id < b.id), {
    get: (i) => i.slot,
    set: (i, s) => (i.slot = s),
  });
}

describe('IndexedHeap', () => {
  it('pops in key order', () => {
    const h = heap();
    const keys = [5, 3, 9, 1, 7, 3];
    keys.forEach((key, id) => h.push({ key, id, slot: -1 }));
    const out: number[] = [];
    for (let item = h.pop(); item !== undefined; item = h.pop()) out.push(item.key);
    expect(out).toEqual([1, 3, 3, 5, 7, 9]);
  });

  it('removes and re-keys items anywhere, matching a sorted reference under random operations', () => {
    const h = heap();
    let reference: Item[] = [];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 0; step < 5000; step++) {
      const op = random(4);
      if (op === 0 || reference.length === 0) {
        const item = { key: random(1000), id: step, slot: -1 };
        h.push(item);
        reference.push(item);
      } else if (op === 1) {
        const item = reference[random(reference.length)]!;
        h.remove(item);
        expect(h.has(item)).toBe(false);
        reference = reference.filter((i) => i !== item);
      } else if (op === 2) {
        const item = reference[random(reference.length)]!;
        item.key = random(1000);
        h.update(item);
      } else {
        const expected = [...reference].sort((a, b) => a.key - b.key || a.id - b.id)[0];
        expect(h.pop()).toBe(expected);
        reference = reference.filter((i) => i !== expected);
      }
      expect(h.size).toBe(reference.length);
    }
  });

  it('update pushes an item that is not in the heap; remove of an absent item does nothing', () => {
    const h = heap();
    const a = { key: 2, id: 1, slot: -1 };
    const b = { key: 1, id: 2, slot: -1 };
    h.update(a);
    h.remove(b);
    expect(h.size).toBe(1);
    expect(h.peek()).toBe(a);
  });
});
