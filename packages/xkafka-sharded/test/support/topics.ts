import type { ProducerRecord, Transport } from '@tributary/core';
import { uniqueTopic } from '@tributary/testutil';
import { produceAll } from './proof';

/** Creates a unique topic with `partitions` partitions and writes `records` (their topic filled in). */
export async function topicWith(
  transport: Transport,
  records: readonly Omit<ProducerRecord, 'topic'>[],
  partitions = 1,
  prefix = 'xks',
): Promise<string> {
  const topic = uniqueTopic(prefix);
  const admin = transport.admin();
  try {
    await admin.createTopics([{ topic, partitions }]);
  } finally {
    await admin.close();
  }
  await produceAll(
    transport,
    records.map((r) => ({ ...r, topic })),
  );
  return topic;
}

/** `count` records on `partition`, keys cycling through `keys`, values `v<i>`. */
export function keyedRecords(count: number, keys: readonly string[], partition = 0): Omit<ProducerRecord, 'topic'>[] {
  return Array.from({ length: count }, (_, i) => ({ key: keys[i % keys.length] ?? null, value: `v${i}`, partition }));
}

/** The committed offset of partition `partition`, if any. */
export async function committedOffset(transport: Transport, groupId: string, topic: string, partition = 0): Promise<number | undefined> {
  const admin = transport.admin();
  try {
    const offsets = await admin.fetchCommittedOffsets(groupId, [topic]);
    return offsets.find((o) => o.partition === partition)?.offset;
  } finally {
    await admin.close();
  }
}
