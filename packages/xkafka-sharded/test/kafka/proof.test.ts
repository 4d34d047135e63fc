/**
 * The proof on a real Kafka broker: 1 partition, 200 keys, 20 000
 * records, handlers sleeping 0–5 ms at random — per-key order and complete
 * processing; then with 1% injected failures and dlq-commit.
 */
import type { Transport } from '@tributary/core';
import { assertNoViolations, uniqueTopic } from '@tributary/testutil';
import { dlqViolations, readTopic, runKeyOrderProof, seededRandom } from '../support/proof';
import { kafkaTransport } from './broker';

const RECORDS = 20_000;

describe('20 000 records, 200 keys, one partition, 0–5 ms handlers (Kafka)', () => {
  let transport: Transport;
  beforeEach(() => {
    transport = kafkaTransport();
  });
  afterEach(async () => {
    await transport.close();
  });

  it('keeps per-key order, processes every record and commits the end', async () => {
    const result = await runKeyOrderProof(transport, { records: RECORDS, keys: 200, config: { shardCount: 32 }, timeoutMs: 120_000 });
    expect(result.done.size).toBe(RECORDS);
    expect(result.committed).toBe(RECORDS);
    process.stderr.write(`[xkafka-sharded] kafka proof: ${RECORDS} records in ${Math.round(result.elapsedMs)} ms\n`);
  });

  it('with 1% failing records and dlq-commit: failures are dead-lettered with their reason, all others processed', async () => {
    const random = seededRandom(7);
    const failing = new Set<number>();
    while (failing.size < RECORDS / 100) failing.add(Math.floor(random() * RECORDS));
    const dlqTopic = uniqueTopic('xks-kafka-dlq');
    const admin = transport.admin();
    try {
      await admin.createTopics([{ topic: dlqTopic, partitions: 1 }]);
    } finally {
      await admin.close();
    }
    const result = await runKeyOrderProof(transport, {
      records: RECORDS,
      keys: 200,
      failing,
      timeoutMs: 120_000,
      config: { shardCount: 32, exhaustedPolicy: 'dlq-commit', dlq: { topic: dlqTopic }, retry: { maxAttempts: 2, initialMs: 1, maxMs: 1 } },
    });
    for (let offset = 0; offset < RECORDS; offset++) {
      if (failing.has(offset) === result.done.has(offset)) throw new Error(`offset ${offset}: failing=${failing.has(offset)} processed=${result.done.has(offset)}`);
    }
    expect(result.committed).toBe(RECORDS);
    const dlq = await readTopic(transport, dlqTopic, failing.size, 60_000);
    assertNoViolations('dead-letter topic', dlqViolations(dlq, failing, result.topic));
  });
});
