import { describe, expect, it } from '@jest/globals';
import { valueAsString } from '@tributary/core';
import { DEFAULT_TEST_TOPIC, buildBatch, buildMessage, buildMessages, buildRecord, buildRecords, messageOf, textOf } from '@tributary/testutil';

describe('buildMessage', () => {
  it('fills defaults and freezes the message', () => {
    const m = buildMessage();
    expect(m).toMatchObject({ topic: DEFAULT_TEST_TOPIC, partition: 0, offset: 0, key: null, headers: {} });
    expect(valueAsString(m)).toBe('value');
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.headers)).toBe(true);
    expect(Math.abs(m.timestamp - Date.now())).toBeLessThan(5_000);
  });

  it('takes overrides, with string values encoded and null kept as a tombstone', () => {
    const m = buildMessage({ topic: 'orders', partition: 2, offset: 9, key: 'k', value: 'ü', timestamp: 1, headers: { a: 'b' } });
    expect(m).toMatchObject({ topic: 'orders', partition: 2, offset: 9, key: 'k', timestamp: 1, headers: { a: 'b' } });
    expect(Array.from(m.value!)).toEqual([0xc3, 0xbc]);
    expect(buildMessage({ value: null }).value).toBeNull();
    const bytes = new Uint8Array([1, 2]);
    expect(buildMessage({ value: bytes }).value).toBe(bytes);
  });
});

describe('buildMessages', () => {
  it('numbers offsets from the given start with indexed values', () => {
    const ms = buildMessages(3, { offset: 10, key: 'k' });
    expect(ms.map((m) => m.offset)).toEqual([10, 11, 12]);
    expect(ms.map((m) => valueAsString(m))).toEqual(['value-0', 'value-1', 'value-2']);
    expect(ms.every((m) => m.key === 'k')).toBe(true);
  });

  it('takes per-index overrides', () => {
    const ms = buildMessages(4, (i) => ({ key: `k${i % 2}`, partition: i % 2 }));
    expect(ms.map((m) => [m.key, m.partition, m.offset])).toEqual([
      ['k0', 0, 0],
      ['k1', 1, 1],
      ['k0', 0, 2],
      ['k1', 1, 3],
    ]);
    expect(buildMessages(2, (i) => ({ offset: 100 + i * 5 })).map((m) => m.offset)).toEqual([100, 105]);
  });
});

describe('buildRecord / buildRecords', () => {
  it('builds producer records with defaults and overrides', () => {
    expect(buildRecord()).toEqual({ topic: DEFAULT_TEST_TOPIC, value: 'value' });
    expect(buildRecord({ key: 'k', value: null, partition: 1 })).toEqual({ topic: DEFAULT_TEST_TOPIC, key: 'k', value: null, partition: 1 });
    expect(buildRecords(2, (i) => ({ key: `k${i}` }))).toEqual([
      { topic: DEFAULT_TEST_TOPIC, key: 'k0', value: 'value-0' },
      { topic: DEFAULT_TEST_TOPIC, key: 'k1', value: 'value-1' },
    ]);
  });
});

describe('buildBatch', () => {
  it('builds a batch of one partition with consecutive offsets', () => {
    const b = buildBatch({ topic: 't', partition: 3, offset: 5, count: 3, highWatermark: 20 });
    expect(b.topic).toBe('t');
    expect(b.partition).toBe(3);
    expect(b.highWatermark).toBe(20);
    expect(b.messages.map((m) => [m.topic, m.partition, m.offset])).toEqual([
      ['t', 3, 5],
      ['t', 3, 6],
      ['t', 3, 7],
    ]);
  });

  it('applies per-message overrides but keeps the batch coordinates', () => {
    const b = buildBatch({ messages: [{ key: 'a', value: 'x', partition: 9, offset: 99 }, { key: 'b' }] });
    expect(b.messages.map((m) => [m.key, m.partition, m.offset])).toEqual([
      ['a', 0, 0],
      ['b', 0, 1],
    ]);
    expect(valueAsString(b.messages[0]!)).toBe('x');
    expect('highWatermark' in buildBatch()).toBe(false);
  });
});

describe('messageOf / textOf', () => {
  it('turns a record into the message a consumer reads', () => {
    const m = messageOf({ topic: 't', key: 'k', value: 'v', headers: { h: '1' }, timestamp: 7 }, { partition: 1, offset: 4 });
    expect(m).toMatchObject({ topic: 't', partition: 1, offset: 4, key: 'k', timestamp: 7, headers: { h: '1' } });
    expect(textOf(m.value)).toBe('v');
    expect(messageOf({ topic: 't', value: null }, { partition: 0, offset: 0, timestamp: 3 })).toMatchObject({ key: null, value: null, timestamp: 3 });
  });

  it('reads values as text', () => {
    expect(textOf(null)).toBeNull();
    expect(textOf(undefined)).toBeNull();
    expect(textOf('s')).toBe('s');
    expect(textOf(new TextEncoder().encode('ü'))).toBe('ü');
  });
});
