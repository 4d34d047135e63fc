import type { Admin } from './transport';

/** How far a group is behind on one partition. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Committed offset (next to read), or undefined when the group never committed. */
  readonly committed: number | undefined;
  /** Next offset to be written. */
  readonly high: number;
  /** Records not yet committed: high − committed (or high − low without a commit). */
  readonly lag: number;
}

/** Lag of `groupId` on every partition of `topics`, from the admin client. */
export async function consumerLag(admin: Admin, groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchCommittedOffsets(groupId, topics);
  const byPartition = new Map(committed.map((c) => [`${c.topic}/${c.partition}`, c.offset]));
  const result: PartitionLag[] = [];
  for (const topic of topics) {
    for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) {
      const c = byPartition.get(`${topic}/${partition}`);
      result.push({ topic, partition, committed: c, high, lag: Math.max(0, high - (c ?? low)) });
    }
  }
  return result;
}
