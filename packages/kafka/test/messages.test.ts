import { NativeHeaderList, headerBytes, toMessage, toNativeValue } from '../src/messages';

describe('toMessage', () => {
  it('decodes the key and header values as UTF-8; a repeated header: the last value wins', () => {
    const m = toMessage({
      topic: 't',
      partition: 1,
      offset: 42,
      key: Buffer.from('ключ'),
      value: Buffer.from([1, 2, 3]),
      timestamp: 1_700_000_000_123,
      headers: [{ a: Buffer.from('1') }, { 'ü': Buffer.from('𝄞') }, { a: Buffer.from('2') }],
      size: 3,
    });
    expect(m).toEqual({
      topic: 't',
      partition: 1,
      offset: 42,
      key: 'ключ',
      value: Buffer.from([1, 2, 3]),
      timestamp: 1_700_000_000_123,
      headers: { a: '2', 'ü': '𝄞' },
    });
  });

  it('keeps a tombstone null, a missing key null, and shares one frozen empty headers object', () => {
    const a = toMessage({ topic: 't', partition: 0, offset: 0, value: null, key: null, size: 0 });
    const b = toMessage({ topic: 't', partition: 0, offset: 1, value: Buffer.alloc(0), size: 0 });
    expect([a.value, a.key, b.key, b.value?.byteLength, a.timestamp]).toEqual([null, null, null, 0, 0]);
    expect(a.headers).toBe(b.headers);
    expect(Object.isFrozen(a.headers)).toBe(true);
  });
});

describe('toNativeValue', () => {
  it('encodes strings as UTF-8, passes bytes without copying, keeps null a tombstone', () => {
    expect(toNativeValue('é')).toEqual(Buffer.from('é'));
    const bytes = new Uint8Array([9, 8, 7]);
    const asBuffer = toNativeValue(bytes) as Buffer;
    expect(asBuffer.buffer).toBe(bytes.buffer);
    const buffer = Buffer.from('x');
    expect(toNativeValue(buffer)).toBe(buffer);
    expect(toNativeValue(null)).toBeNull();
    expect(toNativeValue(7)).toBeUndefined();
  });

  it('sends an empty value as a zero-length view with a data pointer (a plain empty Buffer would become a tombstone)', () => {
    for (const empty of ['', new Uint8Array(0), Buffer.alloc(0)]) {
      const v = toNativeValue(empty) as Buffer;
      expect(v).not.toBeNull();
      expect(v.byteLength).toBe(0);
      expect(v.buffer.byteLength).toBeGreaterThan(0);
    }
  });
});

describe('NativeHeaderList', () => {
  it('makes one single-property object per header, undefined for none, and names a non-string value', () => {
    const list = new NativeHeaderList();
    expect(list.fill({ a: '1', b: '' })).toEqual([{ a: '1' }, { b: '' }]);
    expect(list.bound).toBe((1 + 1 + 1) * 3);
    expect(list.fill({})).toBeUndefined();
    expect(list.fill(undefined)).toBeUndefined();
    expect(list.fill(null)).toBeUndefined();
    expect(list.fill({ a: '1', bad: 2 })).toBeNull();
    expect(list.invalid).toBe('bad');
    expect(list.fill('a=1')).toBeNull();
    expect(list.invalid).toBe('(headers)');
    expect(headerBytes([{ ab: 'ü' }, { c: '' }])).toBe(2 + 2 + 1);
  });

  it('reuses its array and objects, and each fill reflects only the record it was given', () => {
    const list = new NativeHeaderList();
    const first = list.fill({ a: '1', b: '2', c: '3' });
    expect(first).toEqual([{ a: '1' }, { b: '2' }, { c: '3' }]);
    const second = list.fill({ b: 'two' });
    expect(second).toBe(first);
    expect(second).toEqual([{ b: 'two' }]);
    expect(Object.keys((second as Record<string, string>[])[0] as object)).toEqual(['b']);
    expect(list.fill({ c: 'x', a: 'y' })).toEqual([{ c: 'x' }, { a: 'y' }]);
  });

  it('keeps an own __proto__ header intact across records', () => {
    const list = new NativeHeaderList();
    const headers = (value: string): Record<string, string> => JSON.parse(`{"__proto__": "${value}"}`) as Record<string, string>;
    for (const value of ['1', '2']) {
      const out = list.fill(headers(value)) as Record<string, string>[];
      expect(out).toHaveLength(1);
      expect(Object.getOwnPropertyNames(out[0])).toEqual(['__proto__']);
      expect(Object.getOwnPropertyDescriptor(out[0], '__proto__')?.value).toBe(value);
    }
  });
});
