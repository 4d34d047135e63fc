import { describe, expect, it } from '@jest/globals';
import { buildMessage, orderViolationsPerKey, orderViolationsPerPartition } from '@tributary/testutil';

const m = (key: string | null, partition: number, offset: number, value = '') => buildMessage({ topic: 't', key, partition, offset, value });

describe('orderViolationsPerKey', () => {
  it('accepts increasing offsets per key, interleaved across keys', () => {
    expect(orderViolationsPerKey([m('a', 0, 1), m('b', 1, 0), m('a', 0, 3), m('b', 1, 7)])).toEqual([]);
  });

  it('reports a key handled out of order, a repeat and a key in two partitions', () => {
    expect(orderViolationsPerKey([m('a', 0, 5), m('a', 0, 4)])).toEqual(['key "a": t/0@4 (sequence 4) handled after t/0@5 (sequence 5)']);
    expect(orderViolationsPerKey([m('a', 0, 1), m('a', 0, 1)])).toEqual(['key "a": t/0@1 handled again']);
    expect(orderViolationsPerKey([m('a', 0, 1), m('a', 1, 2)])).toEqual(['key "a": seen in t/0 and t/1']);
  });

  it('with allowRedelivery skips repeats but still catches a new record after a later one', () => {
    const redelivered = [m('a', 0, 1), m('a', 0, 2), m('a', 0, 1), m('a', 0, 2), m('a', 0, 3)];
    expect(orderViolationsPerKey(redelivered, { allowRedelivery: true })).toEqual([]);
    expect(orderViolationsPerKey([m('a', 0, 1), m('a', 0, 3), m('a', 0, 1), m('a', 0, 2)], { allowRedelivery: true })).toHaveLength(1);
  });

  it('uses a sequence from the message when given (a key may then span partitions)', () => {
    const seq = (x: ReturnType<typeof m>) => Number(new TextDecoder().decode(x.value));
    expect(orderViolationsPerKey([m('a', 0, 9, '1'), m('a', 1, 0, '2')], { sequenceOf: seq })).toEqual([]);
    expect(orderViolationsPerKey([m('a', 0, 0, '2'), m('a', 1, 1, '1')], { sequenceOf: seq })).toHaveLength(1);
  });

  it('ignores records without key', () => {
    expect(orderViolationsPerKey([m(null, 0, 5), m(null, 1, 1)])).toEqual([]);
  });
});

describe('orderViolationsPerPartition', () => {
  it('accepts increasing offsets per partition and reports the others', () => {
    expect(orderViolationsPerPartition([m('a', 0, 1), m('b', 1, 0), m('c', 0, 2)])).toEqual([]);
    expect(orderViolationsPerPartition([m('a', 0, 2), m('b', 0, 1)])).toEqual(['t/0@1 handled after t/0@2']);
    expect(orderViolationsPerPartition([m('a', 0, 2), m('a', 0, 2)])).toEqual(['t/0@2 handled again']);
    expect(orderViolationsPerPartition([m('a', 0, 1), m('a', 0, 2), m('a', 0, 1), m('a', 0, 3)], { allowRedelivery: true })).toEqual([]);
  });
});
