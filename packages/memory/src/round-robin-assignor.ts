import type { TopicPartition } from '@tributary/core';

/** What the assignor needs to know about a member. */
export interface AssignorMember {
  readonly topics: readonly string[];
}

/**
 * Kafka's RoundRobinAssignor, deterministic: partitions sorted by topic then
 * partition number are dealt one at a time to the members in the order given
 * (the group passes them in join order), cycling, and skipping members that
 * do not subscribe to the partition's topic. Members may subscribe to
 * different topics. Returns every member, possibly with no partitions.
 *
 * Round-robin (rather than range) keeps a multi-topic group balanced: range
 * gives the first member the extra partition of every topic.
 */
export function assignRoundRobin<M extends AssignorMember>(
  members: readonly M[],
  partitions: readonly TopicPartition[],
): Map<M, TopicPartition[]> {
  const result = new Map<M, TopicPartition[]>();
  for (const member of members) result.set(member, []);
  if (members.length === 0) return result;

  const sorted = [...partitions].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
  const subscribed = members.map((m) => new Set(m.topics));
  let cursor = 0;
  for (const tp of sorted) {
    for (let tried = 0; tried < members.length; tried++) {
      const i = (cursor + tried) % members.length;
      if (subscribed[i]?.has(tp.topic)) {
        result.get(members[i] as M)?.push(tp);
        cursor = i + 1;
        break;
      }
    }
  }
  return result;
}
