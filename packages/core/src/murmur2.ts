/**
 * Kafka's key hash: the 32-bit murmur2 of `org.apache.kafka.common.utils.Utils`
 * (seed 0x9747b28c), and the partition choice of the Java clients' built-in
 * partitioner, `toPositive(murmur2(keyBytes)) % numPartitions`. librdkafka's
 * `murmur2_random` partitioner computes the same value, so a key lands in the
 * same partition here, from the Java clients and from the kafka transport.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Kafka's `Utils.murmur2` over the first `length` bytes of `data` (all of them
 * by default); a string is hashed as its UTF-8 bytes. Returns the signed
 * 32-bit result, exactly as the Java method does.
 */
export function murmur2(data: Uint8Array | string, length?: number): number {
  if (typeof data === 'string') return keyHasher.hash(data);
  return murmur2Bytes(data, length ?? data.length);
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which overflows on -2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's Java clients pick for a non-null key:
 * `toPositive(murmur2(UTF-8 key bytes)) % numPartitions`.
 */
export function partitionForKey(key: string | Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer (got ${String(numPartitions)})`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}

function murmur2Bytes(data: Uint8Array, length: number): number {
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail: Java's switch falls through from 3 to 2 to 1.
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[whole + 1] ?? 0) << 8;
  if (rest >= 1) {
    h ^= data[whole] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Hashes string keys through one reusable UTF-8 scratch buffer, so the
 * producer's hot path does not allocate a Buffer per key. After `hash`,
 * `byteLength` holds the key's UTF-8 length (the producer needs it for the
 * record size). Single-threaded use only, like everything in a JS realm.
 */
export class KeyHasher {
  #scratch = Buffer.allocUnsafe(256);
  /** UTF-8 byte length of the key last hashed. */
  byteLength = 0;

  hash(key: string): number {
    // A UTF-16 code unit encodes to at most 3 UTF-8 bytes.
    if (key.length * 3 > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(key.length * 3);
    this.byteLength = this.#scratch.write(key, 0, 'utf8');
    return murmur2Bytes(this.#scratch, this.byteLength);
  }
}

const keyHasher = new KeyHasher();
