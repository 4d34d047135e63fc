/**
 * The proof on the memory transport: 1 partition, 200 keys, 20 000
 * records, handlers sleeping 0–5 ms at random. Per-key order holds and every
 * record is processed; with 1% injected failures and dlq-commit, every failed
 * record is in the dead-letter topic with its reason and all others are
 * processed; the committed offset reaches the end in both cases.
 */
import { memory } from '@tributary/memory';
import { dlqViolations, readTopic, runKeyOrderProof, seededRandom } from './support/proof';
import { assertNoViolations, uniqueTopic } from '@tributary/testutil';

const RECORDS = 20_000;

describe('20 000 records, 200 keys, one partition, 0–5 ms handlers (memory)', () => {
  it('keeps per-key order, processes every record and commits the end', async () => {
    const transport = memory();
    try {
      const result = await runKeyOrderProof(transport, { records: RECORDS, keys: 200, config: { shardCount: 32 } });
      expect(result.done.size).toBe(RECORDS);
      expect(result.probe.started).toHaveLength(RECORDS);
      expect(result.committed).toBe(RECORDS);
      // Parallel, not serial: serial would take about 20 000 × 2.5 ms = 50 s.
      expect(result.elapsedMs).toBeLessThan(15_000);
    } finally {
      await transport.close();
    }
  });

  it('with 1% failing records and dlq-commit: failures are dead-lettered with their reason, all others processed', async () => {
    const transport = memory();
    const random = seededRandom(7);
    const failing = new Set<number>();
    while (failing.size < RECORDS / 100) failing.add(Math.floor(random() * RECORDS));
    const dlqTopic = uniqueTopic('xks-proof-dlq');
    const admin = transport.admin();
    try {
      await admin.createTopics([{ topic: dlqTopic, partitions: 1 }]);
      const result = await runKeyOrderProof(transport, {
        records: RECORDS,
        keys: 200,
        failing,
        config: {
          shardCount: 32,
          exhaustedPolicy: 'dlq-commit',
          dlq: { topic: dlqTopic },
          retry: { maxAttempts: 2, initialMs: 1, maxMs: 1 },
        },
      });
      for (let offset = 0; offset < RECORDS; offset++) {
        if (failing.has(offset) === result.done.has(offset)) throw new Error(`offset ${offset}: failing=${failing.has(offset)} processed=${result.done.has(offset)}`);
      }
      expect(result.committed).toBe(RECORDS);
      const dlq = await readTopic(transport, dlqTopic, failing.size);
      assertNoViolations('dead-letter topic', dlqViolations(dlq, failing, result.topic));
      expect(dlq).toHaveLength(failing.size);
    } finally {
      await admin.close();
      await transport.close();
    }
  });
});
