import {
  MARKER_FORMAT_VERSION,
  MarkerKinds,
  decodeMarkerKey,
  decodeMarkerValue,
  encodeMarkerKey,
  encodeMarkerValue,
} from '@tributary/mq-markers';
import { buildMessage } from '@tributary/testutil';

describe('marker keys', () => {
  it('encode the queue partition and offset as <partition>:<offset>', () => {
    expect(encodeMarkerKey({ partition: 3, offset: 1042 })).toBe('3:1042');
  });

  it('round-trip, also for large offsets, and accept a whole message', () => {
    for (const target of [
      { partition: 0, offset: 0 },
      { partition: 12, offset: 2 ** 50 + 7 },
    ]) {
      expect(decodeMarkerKey(encodeMarkerKey(target))).toEqual(target);
    }
    expect(encodeMarkerKey(buildMessage({ topic: 'jobs', partition: 2, offset: 9 }))).toBe('2:9');
  });

  it.each([null, '', '12', ':2', '1:', 'x:2', '1:-2', '1:2.5', '1:2:3', '1:99999999999999999'])('reject %p', (key) => {
    expect(decodeMarkerKey(key)).toBeUndefined();
  });
});

describe('marker values', () => {
  it('lay out version, kind and a big-endian 64-bit deadline', () => {
    const deadline = 0x01_02_03_04_05;
    expect([...encodeMarkerValue({ kind: 'start', deadline })]).toEqual([MARKER_FORMAT_VERSION, MarkerKinds.start, 0, 0, 0, 1, 2, 3, 4, 5]);
    expect([...encodeMarkerValue({ kind: 'keep-alive', deadline })]).toEqual([1, 2, 0, 0, 0, 1, 2, 3, 4, 5]);
    expect([...encodeMarkerValue({ kind: 'end' })]).toEqual([1, 3]);
  });

  it('round-trip deadlines up to the largest safe integer', () => {
    for (const deadline of [0, Date.now(), 2 ** 32, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]) {
      expect(decodeMarkerValue(encodeMarkerValue({ kind: 'start', deadline }))).toEqual({ kind: 'start', deadline });
      expect(decodeMarkerValue(encodeMarkerValue({ kind: 'keep-alive', deadline }))).toEqual({ kind: 'keep-alive', deadline });
    }
    expect(decodeMarkerValue(encodeMarkerValue({ kind: 'end' }))).toEqual({ kind: 'end' });
  });

  it('decode from a view into a larger buffer (as transports deliver them)', () => {
    const bytes = encodeMarkerValue({ kind: 'start', deadline: 123_456_789 });
    const big = new Uint8Array(32);
    big.set(bytes, 7);
    expect(decodeMarkerValue(big.subarray(7, 17))).toEqual({ kind: 'start', deadline: 123_456_789 });
  });

  it('decode to undefined what this version does not understand', () => {
    expect(decodeMarkerValue(null)).toBeUndefined();
    expect(decodeMarkerValue(new Uint8Array([]))).toBeUndefined();
    expect(decodeMarkerValue(new Uint8Array([2, 3]))).toBeUndefined(); // another format version
    expect(decodeMarkerValue(new Uint8Array([1, 9]))).toBeUndefined(); // unknown kind
    expect(decodeMarkerValue(new Uint8Array([1, 1, 0, 0]))).toBeUndefined(); // start without a full deadline
  });

  it('refuse deadlines that are not non-negative safe integers', () => {
    for (const deadline of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => encodeMarkerValue({ kind: 'start', deadline })).toThrow(RangeError);
    }
  });
});
