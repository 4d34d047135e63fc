import { ShardRouter, hashKey } from '../src/shard-router';

describe('hashKey', () => {
  it('is the 32-bit FNV-1a of the key', () => {
    // Reference values of FNV-1a 32 (http://www.isthe.com/chongo/tech/comp/fnv/).
    expect(hashKey('')).toBe(0x811c9dc5);
    expect(hashKey('a')).toBe(0xe40c292c);
    expect(hashKey('foobar')).toBe(0xbf9cf968);
  });
});

describe('ShardRouter', () => {
  it('hash routing: a key always gets the same shard, within range', () => {
    const router = new ShardRouter(7, 'hash', () => 0);
    for (let i = 0; i < 100; i++) {
      const shard = router.route(`k${i}`);
      expect(shard).toBe(hashKey(`k${i}`) % 7);
      expect(router.route(`k${i}`)).toBe(shard);
    }
    expect(router.boundKeys).toBe(0);
  });

  it('balanced routing: a new key goes to the least-loaded shard and stays there while it has records in flight', () => {
    const load = [3, 0, 2];
    const router = new ShardRouter(3, 'balanced', (i) => load[i] as number);
    expect(router.route('a')).toBe(1);
    load[1] = 5;
    // Still in flight: stays on shard 1 although it is now the busiest.
    expect(router.route('a')).toBe(1);
    expect(router.route('b')).toBe(2);
    router.release('a');
    expect(router.route('a')).toBe(1);
    router.release('a');
    router.release('a');
    // No record of 'a' in flight: re-bound to the least-loaded shard.
    expect(router.boundKeys).toBe(1);
    load[2] = 9;
    expect(router.route('a')).toBe(0);
  });

  it('balanced routing spreads keys over idle shards instead of piling them on shard 0', () => {
    const load = [0, 0, 0, 0];
    const router = new ShardRouter(4, 'balanced', (i) => load[i] as number);
    const shards = ['a', 'b', 'c', 'd'].map((k) => {
      const s = router.route(k);
      load[s] = (load[s] as number) + 1;
      return s;
    });
    expect(new Set(shards).size).toBe(4);
  });

  it('release of an unknown key is ignored', () => {
    const router = new ShardRouter(2, 'balanced', () => 0);
    router.release('nope');
    expect(router.boundKeys).toBe(0);
  });
});
