/**
 * Identifier factories (seed 004's IdentifierFactory, NewUUID, NewKSUID):
 * random UUIDv4, time-ordered UUIDv7 and Segment's KSUID. All use the
 * cryptographic random source of `node:crypto`.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { TributaryError } from './errors';

/** Generates a unique identifier on each call. */
export type IdFactory = () => string;

/** A random RFC 9562 version 4 UUID, e.g. `0d9f2c7e-5b1a-4c3e-9f57-2a6b8e1d4c90`. */
export const uuidv4: IdFactory = () => randomUUID();

// Random bytes are drawn from a pool: one crypto call per 256 ids instead of one per id.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes(n: number): Uint8Array {
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function formatUuid(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[i]!]!;
  }
  return s;
}

export interface Uuidv7Options {
  /** Clock in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
}

/** 42 counter bits: the 12 bits of rand_a and the top 30 bits of rand_b (RFC 9562 §6.2, method 1). */
const COUNTER_MAX = 2 ** 42 - 1;
const MAX_TIMESTAMP = 2 ** 48 - 1;

/**
 * Creates a UUIDv7 factory with its own monotonic state (for an injected clock
 * in tests, or an isolated sequence). Most code wants {@link uuidv7}.
 *
 * Layout (RFC 9562 §5.7): 48-bit big-endian Unix milliseconds, version 7,
 * a 42-bit counter split over rand_a and the top of rand_b, the variant bits,
 * and 32 random bits. The counter is seeded randomly at each new millisecond
 * (top bit clear, leaving room to count) and incremented within one, so ids
 * from one factory are strictly increasing as strings even when many share a
 * millisecond. If the clock goes backwards the last timestamp is kept; if the
 * counter overflows the timestamp is advanced by one millisecond (RFC 9562
 * §6.2 allows both).
 */
export function createUuidv7(options: Uuidv7Options = {}): IdFactory {
  const now = options.now ?? Date.now;
  let lastMs = -1;
  let counter = 0;
  return () => {
    const ms = Math.floor(now());
    if (ms > lastMs) {
      lastMs = Math.min(ms, MAX_TIMESTAMP);
      counter = seedCounter();
    } else {
      counter++;
      if (counter > COUNTER_MAX) {
        lastMs = Math.min(lastMs + 1, MAX_TIMESTAMP);
        counter = seedCounter();
      }
    }
    const b = new Uint8Array(16);
    // 48-bit timestamp, big-endian. Bitwise ops are 32-bit, so split it.
    const high = Math.floor(lastMs / 2 ** 16);
    const low = lastMs % 2 ** 16;
    b[0] = (high >>> 24) & 0xff;
    b[1] = (high >>> 16) & 0xff;
    b[2] = (high >>> 8) & 0xff;
    b[3] = high & 0xff;
    b[4] = (low >>> 8) & 0xff;
    b[5] = low & 0xff;
    // Counter: top 12 bits → rand_a, low 30 bits → rand_b[0..30).
    const cHigh = Math.floor(counter / 2 ** 30); // 12 bits
    const cLow = counter % 2 ** 30; // 30 bits
    b[6] = 0x70 | ((cHigh >>> 8) & 0x0f);
    b[7] = cHigh & 0xff;
    b[8] = 0x80 | ((cLow >>> 24) & 0x3f);
    b[9] = (cLow >>> 16) & 0xff;
    b[10] = (cLow >>> 8) & 0xff;
    b[11] = cLow & 0xff;
    b.set(randomBytes(4), 12);
    return formatUuid(b);
  };
}

function seedCounter(): number {
  const r = randomBytes(6);
  // 41 random bits: the counter's top bit starts clear so a millisecond has ≥ 2^41 ids left.
  return ((r[0]! & 0x01) * 2 ** 40) + r[1]! * 2 ** 32 + ((r[2]! << 24) >>> 0) + (r[3]! << 16) + (r[4]! << 8) + r[5]!;
}

/**
 * A time-ordered RFC 9562 version 7 UUID. Ids from this process sort (as
 * strings and as bytes) in generation order, also within one millisecond.
 */
export const uuidv7: IdFactory = createUuidv7();

/** Milliseconds since the Unix epoch encoded in a UUIDv7. @throws ERR_DECODE when `id` is not a UUIDv7. */
export function uuidv7Timestamp(id: string): number {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) {
    throw new TributaryError('ERR_DECODE', `not a UUIDv7: ${JSON.stringify(id)}`);
  }
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** KSUID timestamps count seconds from 2014-05-13T16:53:20Z (Unix 1 400 000 000). */
export const KSUID_EPOCH_SECONDS = 1_400_000_000;
const KSUID_BYTES = 20;
const KSUID_LENGTH = 27;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const MAX_KSUID = (1n << 160n) - 1n;

/**
 * Builds a KSUID from its parts: `unixSeconds` (between the KSUID epoch and
 * 2^32 - 1 seconds after it) and a 16-byte payload. Encoded as 27 base62
 * characters (digits, A–Z, a–z), left-padded with '0', as Segment's reference
 * implementation does, so string order is time order.
 *
 * @throws RangeError for an out-of-range timestamp or a payload that is not 16 bytes.
 */
export function ksuidFromParts(unixSeconds: number, payload: Uint8Array): string {
  const ts = unixSeconds - KSUID_EPOCH_SECONDS;
  if (!Number.isInteger(ts) || ts < 0 || ts > 0xffffffff) {
    throw new RangeError(`ksuidFromParts: unixSeconds must be an integer in [${KSUID_EPOCH_SECONDS}, ${KSUID_EPOCH_SECONDS + 0xffffffff}] (got ${unixSeconds})`);
  }
  if (payload.length !== 16) throw new RangeError(`ksuidFromParts: payload must be 16 bytes (got ${payload.length})`);
  const bytes = new Uint8Array(KSUID_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, ts);
  bytes.set(payload, 4);
  // Base62 by long division of the 160-bit number held as five 32-bit words
  // (no BigInt: this is on the id hot path). Each step's dividend is below
  // 62 × 2^32 < 2^53, so plain numbers stay exact.
  let words: number[] = [0, 4, 8, 12, 16].map((o) => view.getUint32(o));
  const chars: string[] = new Array<string>(KSUID_LENGTH).fill('0');
  let pos = KSUID_LENGTH;
  while (words.length > 0) {
    const quotient: number[] = [];
    let remainder = 0;
    for (const word of words) {
      const dividend = remainder * 2 ** 32 + word;
      const digit = Math.floor(dividend / 62);
      remainder = dividend - digit * 62;
      if (quotient.length > 0 || digit > 0) quotient.push(digit);
    }
    chars[--pos] = BASE62[remainder]!;
    words = quotient;
  }
  return chars.join('');
}

/**
 * A KSUID (Segment): 4-byte big-endian timestamp in seconds since
 * {@link KSUID_EPOCH_SECONDS} and 16 random bytes, as 27 base62 characters.
 * Lexicographically ordered by second (not within a second).
 */
export const ksuid: IdFactory = () => ksuidFromParts(Math.floor(Date.now() / 1000), randomBytes(16));

/** The parts of a KSUID. */
export interface KsuidParts {
  /** Creation time, whole seconds. */
  readonly time: Date;
  /** Seconds since the Unix epoch. */
  readonly unixSeconds: number;
  /** The 16 random bytes. */
  readonly payload: Uint8Array;
}

/** Decodes a KSUID string. @throws ERR_DECODE when `id` is not 27 base62 characters within range. */
export function parseKsuid(id: string): KsuidParts {
  if (typeof id !== 'string' || id.length !== KSUID_LENGTH || !/^[0-9A-Za-z]+$/.test(id)) {
    throw new TributaryError('ERR_DECODE', `not a KSUID (27 base62 characters): ${JSON.stringify(id)}`);
  }
  let n = 0n;
  for (const ch of id) n = n * 62n + BigInt(BASE62.indexOf(ch));
  if (n > MAX_KSUID) throw new TributaryError('ERR_DECODE', `KSUID out of range: ${id}`);
  const bytes = new Uint8Array(KSUID_BYTES);
  for (let i = KSUID_BYTES - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  const unixSeconds = new DataView(bytes.buffer).getUint32(0) + KSUID_EPOCH_SECONDS;
  return { time: new Date(unixSeconds * 1000), unixSeconds, payload: bytes.slice(4) };
}
