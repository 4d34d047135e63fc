import { KeyHasher, murmur2, partitionForKey, toPositive } from '@tributary/core';

// apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
const KAFKA_UTILS_TEST: ReadonlyArray<readonly [string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

// librdkafka src/rdmurmur2.c, unittest_murmur2's `java_murmur2_results` (the Java
// client's values, written as unsigned hex): covers every tail length and "".
const LIBRDKAFKA_JAVA_RESULTS: ReadonlyArray<readonly [string, number]> = [
  ['kafka', 0xd067cf64],
  ['giberish123456789', 0x8f552b0c],
  ['1234', 0x9fc97b14],
  ['234', 0xe7c009ca],
  ['34', 0x873930da],
  ['4', 0x5a4b5ca1],
  ['PreAmbleWillBeRemoved,ThePrePartThatIs', 0x78424f1c],
  ['reAmbleWillBeRemoved,ThePrePartThatIs', 0x4a62b377],
  ['eAmbleWillBeRemoved,ThePrePartThatIs', 0xe0e4e09e],
  ['AmbleWillBeRemoved,ThePrePartThatIs', 0x62b8b43f],
  ['', 0x106e08d9],
];

describe('murmur2', () => {
  it.each(KAFKA_UTILS_TEST)('matches Kafka UtilsTest for %j', (key, expected) => {
    expect(murmur2(key)).toBe(expected);
    expect(murmur2(new TextEncoder().encode(key))).toBe(expected);
  });

  it.each(LIBRDKAFKA_JAVA_RESULTS)('matches the Java results quoted by librdkafka for %j', (key, expected) => {
    // Java returns a signed int; `| 0` turns the unsigned hex into the same bits.
    expect(murmur2(key)).toBe(expected | 0);
  });

  it('hashes the UTF-8 bytes of a string key', () => {
    const key = 'clé-ключ-🔑';
    expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')));
    // And not the UTF-16 code units, nor Latin-1.
    expect(murmur2(key)).not.toBe(murmur2(Buffer.from(key, 'latin1')));
  });

  it('hashes only the first `length` bytes when given', () => {
    const bytes = Buffer.from('foobarbaz');
    expect(murmur2(bytes, 6)).toBe(-790332482);
  });

  it('KeyHasher reports the UTF-8 length and grows its scratch for long keys', () => {
    const hasher = new KeyHasher();
    const long = 'ж'.repeat(1000);
    expect(hasher.hash(long)).toBe(murmur2(Buffer.from(long)));
    expect(hasher.byteLength).toBe(2000);
    expect(hasher.hash('foobar')).toBe(-790332482);
    expect(hasher.byteLength).toBe(6);
  });
});

describe('toPositive', () => {
  it('clears the sign bit like Kafka Utils.toPositive', () => {
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(479470107)).toBe(479470107);
  });
});

describe('partitionForKey', () => {
  it.each(KAFKA_UTILS_TEST)('is toPositive(murmur2(key)) %% n for %j', (key, hash) => {
    for (const n of [1, 2, 3, 6, 7, 12, 100]) {
      expect(partitionForKey(key, n)).toBe((hash & 0x7fffffff) % n);
    }
  });

  it('gives the partitions the Java partitioner gives for known keys', () => {
    // Worked out from the UtilsTest hashes: toPositive(-973932308) = 1173551340, etc.
    expect(partitionForKey('21', 3)).toBe(1173551340 % 3);
    expect(partitionForKey('21', 3)).toBe(0);
    expect(partitionForKey('foobar', 6)).toBe(1357151166 % 6);
    expect(partitionForKey('foobar', 6)).toBe(0);
    expect(partitionForKey('abc', 10)).toBe(7);
    expect(partitionForKey('kafka', 4)).toBe((0xd067cf64 & 0x7fffffff) % 4);
  });

  it('accepts key bytes', () => {
    expect(partitionForKey(Buffer.from('foobar'), 7)).toBe(partitionForKey('foobar', 7));
  });

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
    expect(() => partitionForKey('k', 1.5)).toThrow(RangeError);
  });
});
