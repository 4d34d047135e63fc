import { ConfigError } from '@tributary/core';
import { MEMORY_DEDUP_STORE_DEFAULTS, memoryDedupStore } from '@tributary/middleware';

describe('memoryDedupStore', () => {
  it('remembers committed ids per group', () => {
    const store = memoryDedupStore();
    expect(store.isDuplicated('g1', 'a')).toBe(false);
    store.commit('g1', 'a');
    expect(store.isDuplicated('g1', 'a')).toBe(true);
    expect(store.isDuplicated('g2', 'a')).toBe(false);
    expect(store.isDuplicated('g1', 'b')).toBe(false);
  });

  it('does not confuse group/id pairs that concatenate alike', () => {
    const store = memoryDedupStore();
    store.commit('a:b', 'c');
    expect(store.isDuplicated('a', 'b:c')).toBe(false);
  });

  it('forgets ids ttlMs after their commit', () => {
    let now = 1_000;
    const store = memoryDedupStore({ ttlMs: 100, now: () => now });
    store.commit('g', 'a');
    now = 1_099;
    expect(store.isDuplicated('g', 'a')).toBe(true);
    now = 1_100;
    expect(store.isDuplicated('g', 'a')).toBe(false);
    expect(store.size).toBe(0);
  });

  it('keeps at most maxEntries ids, evicting the least recently used', () => {
    const store = memoryDedupStore({ maxEntries: 3 });
    store.commit('g', 'a');
    store.commit('g', 'b');
    store.commit('g', 'c');
    expect(store.isDuplicated('g', 'a')).toBe(true); // a is now the most recently used
    store.commit('g', 'd'); // evicts b
    expect(store.size).toBe(3);
    expect(store.isDuplicated('g', 'b')).toBe(false);
    expect(['a', 'c', 'd'].map((id) => store.isDuplicated('g', id))).toEqual([true, true, true]);
  });

  it('re-committing an id refreshes its expiry', () => {
    let now = 0;
    const store = memoryDedupStore({ ttlMs: 100, now: () => now });
    store.commit('g', 'a');
    now = 90;
    store.commit('g', 'a');
    now = 150;
    expect(store.isDuplicated('g', 'a')).toBe(true);
    expect(store.size).toBe(1);
  });

  it('clears', () => {
    const store = memoryDedupStore();
    store.commit('g', 'a');
    store.clear();
    expect(store.size).toBe(0);
    expect(store.isDuplicated('g', 'a')).toBe(false);
  });

  it('has bounded defaults and validates its options', () => {
    expect(MEMORY_DEDUP_STORE_DEFAULTS).toEqual({ maxEntries: 100_000, ttlMs: 3_600_000 });
    let error: unknown;
    try {
      memoryDedupStore({ maxEntries: 0, ttlMs: -5, now: 'x' as unknown as () => number });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['maxEntries', 'ttlMs', 'now']);
  });
});
