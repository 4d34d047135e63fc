/**
 * Rebalances on a real Kafka broker: a second member joins mid-run (the
 * first drains and commits what it gives up), then the first member is closed
 * without draining (as a crash). Nothing is lost, and per-key order holds
 * among records processed after the last commit (records redelivered from
 * the last commit may repeat, but a record never runs before an earlier
 * record of its key that was not yet processed).
 */
import type { Message, MessageHandler, Transport } from '@tributary/core';
import { assertNoViolations, orderViolationsPerKey, uniqueGroup, uniqueTopic, waitFor } from '@tributary/testutil';
import { createShardedGroupConsumer, type ShardedGroupConsumer } from '../../src';
import { produceAll, proofRecords, seededRandom, seqOf, sleepMs } from '../support/proof';
import { kafkaTransport } from './broker';

const RECORDS = 20_000;
const PARTITIONS = 4;

describe('rebalances (Kafka)', () => {
  let transport: Transport;
  const consumers: ShardedGroupConsumer[] = [];
  beforeEach(() => {
    transport = kafkaTransport();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    await transport.close();
  });

  it('a member joining mid-run and a member closed without draining: nothing lost, per-key order holds', async () => {
    const topic = uniqueTopic('xks-kafka-rebalance');
    const groupId = uniqueGroup('xks-kafka-rebalance');
    const admin = transport.admin();
    try {
      await admin.createTopics([{ topic, partitions: PARTITIONS }]);
      await produceAll(transport, proofRecords(topic, RECORDS, 200, 11, 'by-key'));
      const ends = await admin.fetchTopicOffsets(topic);
      expect(ends.reduce((n, p) => n + p.high, 0)).toBe(RECORDS);
      expect(ends.every((p) => p.high > 0)).toBe(true);

      // Every handler start, across members, in wall-clock order; and what completed.
      const started: Message[] = [];
      const done = new Set<string>();
      const random = seededRandom(3);
      const running = new Set<string>();
      const overlaps: string[] = [];
      let crashed = false;
      const handler =
        (member: string): MessageHandler =>
        async (m) => {
          const key = m.key ?? '';
          if (running.has(key)) overlaps.push(`${crashed ? 'after' : 'before'} the crash, ${member}: key ${key} @${m.partition}/${m.offset}`);
          running.add(key);
          started.push(m);
          try {
            await sleepMs(random() * 5);
            done.add(`${m.partition}/${m.offset}`);
          } finally {
            running.delete(key);
          }
        };
      const member = (): ShardedGroupConsumer => {
        const c = createShardedGroupConsumer(transport, { groupId, topics: [topic], shardCount: 8, commitIntervalMs: 50 });
        consumers.push(c);
        return c;
      };

      const a = member();
      await a.start(handler('A'));
      await waitFor(() => done.size >= 2_000, { timeoutMs: 60_000, message: 'A processed 2 000 records' });
      const b = member();
      await b.start(handler('B'));
      await waitFor(() => b.stats().processed > 0 && a.stats().processed > 0 && a.assignment().length < PARTITIONS, {
        timeoutMs: 60_000,
        message: 'B joined and took partitions from A',
      });
      await waitFor(() => done.size >= 10_000, { timeoutMs: 60_000, message: '10 000 records processed' });
      // A crashes: no drain, no final commit. Its partitions go back to B from the last commit.
      crashed = true;
      await a.close({ drain: false });
      await waitFor(() => done.size === RECORDS, { timeoutMs: 120_000, message: 'every record processed' });
      await waitFor(
        async () => {
          const committed = await admin.fetchCommittedOffsets(groupId, [topic]);
          return ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.high);
        },
        { timeoutMs: 30_000, message: 'every partition committed to its end' },
      );
      // The join drained before partitions moved: no two records of a key ran at once. After the crash, A's abandoned
      // handlers may still run while B redelivers from the last commit — that is what a crash means.
      assertNoViolations('records of one key overlapping before the crash', overlaps.filter((o) => o.startsWith('before')));
      // Redeliveries are skipped; every new record must follow its key's previous one.
      assertNoViolations('per-key order', orderViolationsPerKey(started, { sequenceOf: seqOf, allowRedelivery: true }));
      const firstStarts = new Set(started.map((m) => `${m.partition}/${m.offset}`));
      expect(firstStarts.size).toBe(RECORDS);
      process.stderr.write(
        `[xkafka-sharded] kafka rebalance: ${started.length} handler starts for ${RECORDS} records (${started.length - RECORDS} redeliveries), ${overlaps.length} key overlaps around the crash\n`,
      );
    } finally {
      await admin.close();
    }
  });
});
