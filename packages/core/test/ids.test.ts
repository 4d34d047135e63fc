import { describe, expect, it } from '@jest/globals';
import {
  KSUID_EPOCH_SECONDS,
  createUuidv7,
  isTributaryError,
  ksuid,
  ksuidFromParts,
  parseKsuid,
  uuidv4,
  uuidv7,
  uuidv7Timestamp,
  type IdFactory,
} from '@tributary/core';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const KSUID = /^[0-9A-Za-z]{27}$/;
const MANY = 20_000;

function generate(factory: IdFactory, n = MANY): string[] {
  return Array.from({ length: n }, () => factory());
}

function isStrictlyIncreasing(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) return false;
  return true;
}

function hex(bytes: string): Uint8Array {
  return Uint8Array.from(Buffer.from(bytes, 'hex'));
}

describe('uuidv4', () => {
  it('produces RFC 9562 version 4 UUIDs, all distinct', () => {
    const ids = generate(uuidv4);
    expect(ids.filter((id) => !UUID_V4.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('uuidv7', () => {
  it('produces version 7 UUIDs with the variant bits, all distinct', () => {
    const ids = generate(uuidv7);
    expect(ids.filter((id) => !UUID_V7.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('encodes the current time in the first 48 bits', () => {
    const before = Date.now();
    const ms = uuidv7Timestamp(uuidv7());
    const after = Date.now();
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it('is strictly increasing in generation order, also within one millisecond', () => {
    const ids = generate(uuidv7);
    // 20 000 ids in a tight loop share milliseconds: the counter must order them.
    const perMs = new Map<number, number>();
    for (const id of ids) perMs.set(uuidv7Timestamp(id), (perMs.get(uuidv7Timestamp(id)) ?? 0) + 1);
    expect(Math.max(...perMs.values())).toBeGreaterThan(1);
    expect(isStrictlyIncreasing(ids)).toBe(true);
  });

  it('stays monotonic when the clock stands still or goes backwards', () => {
    let now = 1_700_000_000_000;
    const next = createUuidv7({ now: () => now });
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) ids.push(next());
    now -= 5_000; // clock stepped back (NTP)
    for (let i = 0; i < 1000; i++) ids.push(next());
    expect(isStrictlyIncreasing(ids)).toBe(true);
    expect(uuidv7Timestamp(ids[ids.length - 1]!)).toBe(1_700_000_000_000);
    now += 10_000;
    const later = next();
    expect(uuidv7Timestamp(later)).toBe(1_700_000_005_000);
    expect(later > ids[ids.length - 1]!).toBe(true);
  });

  it('writes the timestamp big-endian so that hex order is time order', () => {
    const at = (ms: number): string => createUuidv7({ now: () => ms })();
    const a = at(0x0000_0000_00ff);
    const b = at(0x0000_0000_0100);
    const c = at(0xffff_ffff_ffff);
    expect(a.slice(0, 13)).toBe('00000000-00ff');
    expect(b.slice(0, 13)).toBe('00000000-0100');
    expect(c.slice(0, 13)).toBe('ffffffff-ffff');
    expect(a < b && b < c).toBe(true);
  });

  it('uuidv7Timestamp rejects ids that are not UUIDv7', () => {
    let err: unknown;
    try {
      uuidv7Timestamp(uuidv4());
    } catch (e) {
      err = e;
    }
    expect(isTributaryError(err) && err.code).toBe('ERR_DECODE');
  });
});

describe('ksuid', () => {
  // Segment's reference vector (github.com/segmentio/ksuid README, "Inspect the components of a KSUID"):
  //   String: 0ujtsYcgvSTl8PAuAdqWYSMnLOv
  //   Raw: 0669F7EFB5A1CD34B5F99D1154FB6853345C9735
  //   Time: 2017-10-09 21:00:47 -0700 PDT, Timestamp: 107608047
  //   Payload: B5A1CD34B5F99D1154FB6853345C9735
  const VECTOR = '0ujtsYcgvSTl8PAuAdqWYSMnLOv';
  const VECTOR_TS = 107_608_047;
  const VECTOR_PAYLOAD = 'B5A1CD34B5F99D1154FB6853345C9735';

  it('decodes the timestamp and payload of Segment\'s known vector', () => {
    const parts = parseKsuid(VECTOR);
    expect(parts.unixSeconds).toBe(KSUID_EPOCH_SECONDS + VECTOR_TS);
    expect(parts.time.toISOString()).toBe('2017-10-10T04:00:47.000Z');
    expect(Buffer.from(parts.payload).toString('hex').toUpperCase()).toBe(VECTOR_PAYLOAD);
  });

  it('encodes the known vector from its parts', () => {
    expect(ksuidFromParts(KSUID_EPOCH_SECONDS + VECTOR_TS, hex(VECTOR_PAYLOAD))).toBe(VECTOR);
  });

  it('pads to 27 characters at the epoch and reaches the maximum at the end', () => {
    expect(ksuidFromParts(KSUID_EPOCH_SECONDS, new Uint8Array(16))).toBe('0'.repeat(27));
    // The largest KSUID, per Segment's reference implementation.
    expect(ksuidFromParts(KSUID_EPOCH_SECONDS + 0xffffffff, new Uint8Array(16).fill(255))).toBe('aWgEPTl1tmebfsQzFP4bxwgy80V');
  });

  it('produces 27 base62 characters with the current time, all distinct', () => {
    const before = Math.floor(Date.now() / 1000);
    const ids = generate(ksuid, 5_000);
    const after = Math.floor(Date.now() / 1000);
    expect(ids.filter((id) => !KSUID.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const { unixSeconds } = parseKsuid(ids[0]!);
    expect(unixSeconds).toBeGreaterThanOrEqual(before);
    expect(unixSeconds).toBeLessThanOrEqual(after);
  });

  it('orders lexicographically by second, whatever the payload', () => {
    const t = KSUID_EPOCH_SECONDS + VECTOR_TS;
    const latestOfSecond = ksuidFromParts(t, new Uint8Array(16).fill(255));
    const earliestOfNext = ksuidFromParts(t + 1, new Uint8Array(16));
    expect(latestOfSecond < earliestOfNext).toBe(true);
    const seconds = [0, 1, 59, 3600, 86_400 * 365, 2 ** 31, 2 ** 32 - 1].map((s) => KSUID_EPOCH_SECONDS + s);
    const ids = seconds.map((s) => ksuidFromParts(s, hex(VECTOR_PAYLOAD)));
    expect(isStrictlyIncreasing(ids)).toBe(true);
    expect(ids.map((id) => parseKsuid(id).unixSeconds)).toEqual(seconds);
  });

  it('round-trips random parts through the string form', () => {
    for (let i = 0; i < 200; i++) {
      const seconds = KSUID_EPOCH_SECONDS + Math.floor(Math.random() * 2 ** 32);
      const payload = Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
      const parts = parseKsuid(ksuidFromParts(seconds, payload));
      expect(parts.unixSeconds).toBe(seconds);
      expect(parts.payload).toEqual(payload);
    }
  });

  it('rejects strings that are not KSUIDs with ERR_DECODE', () => {
    for (const bad of ['', 'short', `${VECTOR}x`, '0ujtsYcgvSTl8PAuAdqWYSMnLO-', 'zzzzzzzzzzzzzzzzzzzzzzzzzzz']) {
      let err: unknown;
      try {
        parseKsuid(bad);
      } catch (e) {
        err = e;
      }
      expect(isTributaryError(err) && err.code).toBe('ERR_DECODE');
    }
  });

  it('rejects out-of-range parts', () => {
    expect(() => ksuidFromParts(KSUID_EPOCH_SECONDS - 1, new Uint8Array(16))).toThrow(RangeError);
    expect(() => ksuidFromParts(KSUID_EPOCH_SECONDS + 2 ** 32, new Uint8Array(16))).toThrow(RangeError);
    expect(() => ksuidFromParts(KSUID_EPOCH_SECONDS, new Uint8Array(15))).toThrow(RangeError);
  });
});
