import { describe, expect, it } from '@jest/globals';
import { uniqueGroup, uniqueName, uniqueTopic } from '@tributary/testutil';

const KAFKA_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

describe('unique names', () => {
  it('are unique per call and valid Kafka names', () => {
    const names = Array.from({ length: 1000 }, (_, i) => (i % 2 ? uniqueTopic() : uniqueGroup()));
    expect(new Set(names).size).toBe(1000);
    for (const n of names) expect(n).toMatch(KAFKA_NAME);
  });

  it('start with the prefix and carry a random part and a counter', () => {
    const a = uniqueTopic('orders');
    const b = uniqueTopic('orders');
    expect(a).toMatch(/^orders-[0-9a-f]{8}-\d+$/);
    const [, randomA, counterA] = a.split('-');
    const [, randomB, counterB] = b.split('-');
    expect(randomA).toBe(randomB);
    expect(Number(counterB)).toBe(Number(counterA) + 1);
  });

  it('replace characters Kafka rejects and fit 249 characters', () => {
    expect(uniqueName('my topic/ü:v1')).toMatch(/^my-topic-v1-[0-9a-f]{8}-\d+$/);
    const long = uniqueGroup('x'.repeat(400));
    expect(long.length).toBeLessThanOrEqual(249);
    expect(long).toMatch(KAFKA_NAME);
    expect(uniqueName('')).toMatch(/^test-/);
  });
});
