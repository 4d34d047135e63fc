/// <reference types="jest" />
/**
 * Producer conformance: per-record results, what arrives is what was sent,
 * key partitioning as Kafka's Java client, per-record failures, flush and
 * close.
 */
import { randomBytes } from 'node:crypto';
import { isTributaryError, recordSize, type Message, type ProducerRecord } from '@tributary/core';
import { partitionForKey as kafkaPartition } from '@tributary/core';
import { defineTest, type ConformanceTest } from './catalog';
import { codeOfFailure, fail, type OkSendResult } from './context';

const ONE_MB = 1_000_000;
/** Above this the "too large" test would allocate too much to be worth it. */
const MAX_TESTED_LIMIT = 64 * 1024 * 1024;

function hex(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function bytesOf(value: ProducerRecord['value']): Uint8Array | null {
  if (value === null) return null;
  return typeof value === 'string' ? new TextEncoder().encode(value) : value;
}

/** The message delivered at a send result's position (first delivery). */
function at(messages: readonly Message[], r: OkSendResult): Message {
  const m = messages.find((x) => x.topic === r.topic && x.partition === r.partition && x.offset === r.offset);
  if (!m) fail(`no message delivered at ${r.topic}/${r.partition}@${r.offset}`);
  return m;
}

export const produceTests: readonly ConformanceTest[] = [
  defineTest({
    id: 'send-results',
    title: 'send resolves one result per record, in input order, with offsets increasing per partition',
    run: async (ctx) => {
      const topic = await ctx.createTopic(3);
      const records: ProducerRecord[] = Array.from({ length: 30 }, (_, i) => ({
        topic,
        key: `k${i % 5}`,
        value: `v${i}`,
        ...(i % 7 === 0 ? { partition: 2 } : {}),
      }));
      const results = await ctx.defaultProducer.send(records);
      expect(results).toHaveLength(records.length);
      const lastByPartition = new Map<number, number>();
      results.forEach((r, i) => {
        if (!r.ok) fail(`record ${i} failed: ${r.error.code} ${r.error.message}`);
        expect(r.topic).toBe(topic);
        expect(Number.isInteger(r.offset) && r.offset >= 0).toBe(true);
        if (records[i]!.partition !== undefined) expect(r.partition).toBe(2);
        const previous = lastByPartition.get(r.partition);
        if (previous !== undefined) expect(r.offset).toBeGreaterThan(previous);
        lastByPartition.set(r.partition, r.offset);
      });
      // Successive calls without awaiting keep their order within a partition.
      const first = ctx.defaultProducer.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: `a${i}`, partition: 0 })));
      const second = ctx.defaultProducer.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: `b${i}`, partition: 0 })));
      const [a, b] = await Promise.all([first, second]);
      const offsetsA = a.map((r) => (r.ok ? r.offset : NaN));
      const offsetsB = b.map((r) => (r.ok ? r.offset : NaN));
      expect([...offsetsA, ...offsetsB].every(Number.isInteger)).toBe(true);
      expect(Math.min(...offsetsB)).toBeGreaterThan(Math.max(...offsetsA));
      await expect(ctx.defaultProducer.send([])).resolves.toEqual([]);
      // The log's high watermarks are past every acknowledged record.
      const highs = await ctx.highWatermarks(topic);
      for (const r of [...results, ...a, ...b]) if (r.ok) expect(highs.get(r.partition)).toBeGreaterThan(r.offset);
    },
  }),

  defineTest({
    id: 'payload-intact',
    title: 'value bytes, key, headers and timestamp arrive intact',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const sentAt = Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 123; // an hour ago, with milliseconds
      const records: ProducerRecord[] = [
        {
          topic,
          key: 'binary',
          value: Uint8Array.from({ length: 256 }, (_, i) => i),
          headers: { 'h-ascii': 'plain', 'h-unicode': 'ünïcødé © 𝄞', 'h-empty': '' },
          timestamp: sentAt,
        },
        { topic, key: 'ключ-🔑', value: 'text ✓ ünïcødé 𝄞', headers: { 'content-type': 'text/plain; charset=utf-8' } },
        { topic, key: null, value: '{"no":"key"}', partition: 1 },
        { topic, value: 'key omitted' },
      ];
      const before = Date.now();
      const results = await ctx.send(records);
      const after = Date.now();
      const { recorder } = await ctx.readAll([topic], records.length);
      records.forEach((record, i) => {
        const r = results[i]!;
        const m = at(recorder.messages, r);
        expect(m.topic).toBe(topic);
        expect(m.key).toBe(record.key ?? null);
        expect(hex(m.value)).toBe(hex(bytesOf(record.value)));
        expect({ ...m.headers }).toEqual({ ...(record.headers ?? {}) });
        if (record.timestamp !== undefined) {
          expect(m.timestamp).toBe(record.timestamp);
        } else {
          // Default: the send time (a little slack for a broker that stamps on append).
          expect(m.timestamp).toBeGreaterThanOrEqual(before - 1_000);
          expect(m.timestamp).toBeLessThanOrEqual(after + 1_000);
        }
      });
      expect(results[2]!.partition).toBe(1);
    },
  }),

  defineTest({
    id: 'tombstones',
    title: 'a null value arrives as a tombstone (value null) with its key',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const results = await ctx.send([
        { topic, key: 'deleted', value: null },
        { topic, key: 'kept', value: 'x' },
        { topic, key: 'deleted-too', value: null, headers: { reason: 'gone' } },
      ]);
      const { recorder } = await ctx.readAll([topic], 3);
      const [a, b, c] = results.map((r) => at(recorder.messages, r));
      expect(a!.value).toBeNull();
      expect(a!.key).toBe('deleted');
      expect(hex(b!.value)).toBe(hex(bytesOf('x')));
      expect(c!.value).toBeNull();
      expect(c!.headers).toEqual({ reason: 'gone' });
    },
  }),

  defineTest({
    id: 'empty-value',
    title: 'an empty value stays empty (zero bytes), not a tombstone',
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const results = await ctx.send([
        { topic, key: 'empty-string', value: '' },
        { topic, key: 'empty-bytes', value: new Uint8Array(0) },
      ]);
      const { recorder } = await ctx.readAll([topic], 2);
      for (const r of results) {
        const m = at(recorder.messages, r);
        expect(m.value).not.toBeNull();
        expect(m.value!.byteLength).toBe(0);
      }
    },
  }),

  defineTest({
    id: 'key-partitioning',
    title: "records with the same key land in the partition Kafka's Java client picks (murmur2); an explicit partition wins",
    run: async (ctx) => {
      const partitions = 5;
      const topic = await ctx.createTopic(partitions);
      const keys = ['a', 'b', 'order-1', 'order-2', 'ключ', '🔑', 'a-little-bit-long-string', ...Array.from({ length: 20 }, (_, i) => `user-${i}`)];
      const first = await ctx.send(keys.map((key) => ({ topic, key, value: key })));
      const second = await ctx.send(keys.map((key) => ({ topic, key, value: key })));
      keys.forEach((key, i) => {
        expect({ key, partition: first[i]!.partition }).toEqual({ key, partition: kafkaPartition(key, partitions) });
        expect(second[i]!.partition).toBe(first[i]!.partition);
      });
      const explicit = (kafkaPartition('a', partitions) + 1) % partitions;
      const [r] = await ctx.send([{ topic, key: 'a', value: 'explicit', partition: explicit }]);
      expect(r!.partition).toBe(explicit);
    },
  }),

  defineTest({
    id: 'unknown-partition',
    title: 'a record for a partition that does not exist fails alone with ERR_UNKNOWN_TOPIC',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const results = await ctx.defaultProducer.send([
        { topic, value: 'ok-1', partition: 0 },
        { topic, value: 'nowhere', partition: 7 },
        { topic, value: 'ok-2', partition: 1 },
      ]);
      expect(results).toHaveLength(3);
      expect(results[0]!.ok).toBe(true);
      expect(results[2]!.ok).toBe(true);
      const failed = results[1]!;
      expect(failed.ok).toBe(false);
      if (failed.ok) return;
      expect(isTributaryError(failed.error)).toBe(true);
      expect(failed.error.code).toBe('ERR_UNKNOWN_TOPIC');
      expect(failed.topic).toBe(topic);
    },
  }),

  defineTest({
    id: 'large-record',
    title: 'a 1 MB record (1,000,000-byte value) round-trips intact',
    when: {
      needs: 'maxRecordBytes ≥ 1,000,000 + key and headers',
      applies: (f) => f.maxRecordBytes >= recordSize({ topic: 't', key: 'big', value: new Uint8Array(ONE_MB) }),
    },
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      const big = randomBytes(ONE_MB);
      const results = await ctx.send([
        { topic, key: 'big', value: big },
        { topic, key: 'small', value: 'after the big one' },
      ]);
      const { recorder } = await ctx.readAll([topic], 2);
      const m = at(recorder.messages, results[0]!);
      expect(m.value?.byteLength).toBe(ONE_MB);
      expect(Buffer.from(m.value!).equals(big)).toBe(true);
      expect(at(recorder.messages, results[1]!).key).toBe('small');
    },
  }),

  defineTest({
    id: 'record-too-large',
    title: 'a record over maxRecordBytes fails alone with ERR_RECORD_TOO_LARGE; the others of the same send succeed',
    when: {
      needs: 'finite maxRecordBytes ≤ 64 MiB',
      applies: (f) => Number.isFinite(f.maxRecordBytes) && f.maxRecordBytes <= MAX_TESTED_LIMIT,
    },
    run: async (ctx) => {
      const topic = await ctx.createTopic(1);
      // Random bytes: compression cannot bring it under the limit.
      const tooBig = randomBytes(ctx.features.maxRecordBytes + 1);
      const results = await ctx.defaultProducer.send([
        { topic, key: 'before', value: 'small-1', partition: 0 },
        { topic, key: 'huge', value: tooBig, partition: 0 },
        { topic, key: 'after', value: 'small-2', partition: 0 },
      ]);
      expect(results).toHaveLength(3);
      const [ok1, failed, ok2] = results;
      expect(failed!.ok).toBe(false);
      if (failed!.ok) return;
      expect(isTributaryError(failed!.error)).toBe(true);
      expect(failed!.error.code).toBe('ERR_RECORD_TOO_LARGE');
      expect(failed!.topic).toBe(topic);
      if (!ok1!.ok || !ok2!.ok) fail(`the small records of the same send must succeed: ${JSON.stringify([ok1, ok2])}`);
      const { recorder } = await ctx.readAll([topic], 2);
      // One partition, delivered in order: nothing sits between the two small records.
      expect(recorder.messages.map((m) => m.offset)).toEqual([ok1!.offset, ok2!.offset]);
    },
  }),

  defineTest({
    id: 'producer-flush',
    title: 'flush resolves once every record handed to send has been acknowledged',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const producer = ctx.producer();
      const sends = Array.from({ length: 5 }, (_, c) => producer.send(Array.from({ length: 20 }, (_, i) => ({ topic, key: `k${i}`, value: `c${c}-${i}` }))));
      await producer.flush();
      const highs = await ctx.highWatermarks(topic);
      const results = (await Promise.all(sends)).flat();
      expect(results).toHaveLength(100);
      for (const r of results) {
        if (!r.ok) fail(`send failed: ${r.error.code}`);
        expect(highs.get(r.partition)).toBeGreaterThan(r.offset);
      }
    },
  }),

  defineTest({
    id: 'producer-close-flushes',
    title: 'producer close flushes every pending record, then later sends reject with ERR_CLOSED',
    run: async (ctx) => {
      const topic = await ctx.createTopic(2);
      const producer = ctx.producer();
      const sends = Array.from({ length: 10 }, (_, c) => producer.send(Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i}`, value: `c${c}-${i}` }))));
      await producer.close();
      const results = (await Promise.all(sends)).flat();
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results).toHaveLength(300);
      expect(await codeOfFailure(() => producer.send([{ topic, value: 'late' }]))).toBe('ERR_CLOSED');
      const { recorder } = await ctx.readAll([topic], 300);
      expect(recorder.distinctCount).toBe(300);
    },
  }),
];
