/**
 * A binary min-heap whose items know their own position (through `slot`),
 * so an item can be removed or re-keyed in O(log n) — what the redelivery
 * tracker needs to keep only open messages in its heaps.
 */
export class IndexedHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;
  readonly #slot: { get(item: T): number; set(item: T, index: number): void };

  /**
   * @param less ordering of the heap (the least item is at the top).
   * @param slot where an item keeps its index; -1 means "not in this heap".
   */
  constructor(less: (a: T, b: T) => boolean, slot: { get(item: T): number; set(item: T, index: number): void }) {
    this.#less = less;
    this.#slot = slot;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  has(item: T): boolean {
    const i = this.#slot.get(item);
    return i >= 0 && this.#items[i] === item;
  }

  push(item: T): void {
    this.#items.push(item);
    this.#slot.set(item, this.#items.length - 1);
    this.#up(this.#items.length - 1);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `item` if it is in the heap. */
  remove(item: T): void {
    if (!this.has(item)) return;
    const i = this.#slot.get(item);
    const last = this.#items.pop() as T;
    this.#slot.set(item, -1);
    if (last === item) return;
    this.#items[i] = last;
    this.#slot.set(last, i);
    this.#down(i);
    this.#up(this.#slot.get(last));
  }

  /** Restores the order after `item`'s key changed (pushes it when absent). */
  update(item: T): void {
    if (!this.has(item)) {
      this.push(item);
      return;
    }
    const i = this.#slot.get(item);
    this.#up(i);
    this.#down(this.#slot.get(item));
  }

  #up(index: number): void {
    const items = this.#items;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i] as T, items[parent] as T)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(index: number): void {
    const items = this.#items;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && this.#less(items[left] as T, items[least] as T)) least = left;
      if (right < items.length && this.#less(items[right] as T, items[least] as T)) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const x = items[a] as T;
    const y = items[b] as T;
    items[a] = y;
    items[b] = x;
    this.#slot.set(y, a);
    this.#slot.set(x, b);
  }
}
