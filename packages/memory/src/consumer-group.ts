import { partitionKey, type Logger, type TopicPartition, type TopicPartitionOffset } from '@tributary/core';
import type { BrokerEngine } from './broker';
import type { PartitionLog } from './partition-log';
import { assignRoundRobin } from './round-robin-assignor';

/** A partition handed to a member, with the log it reads. */
export interface PartitionGrant {
  readonly tp: TopicPartition;
  readonly log: PartitionLog;
}

/** What the group needs from a member (implemented by the group consumer). */
export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly rebalanceTimeoutMs: number;
  /** The member now owns these partitions. Must not throw; the member calls onAssigned before their first batch. */
  assignPartitions(grants: readonly PartitionGrant[]): void;
  /**
   * Stop delivering these partitions, let in-flight batches settle, call
   * onRevoked. The partitions stay owned (commits count) until this settles.
   * Must never reject.
   */
  revokePartitions(partitions: readonly TopicPartition[]): Promise<void>;
  /** `revokePartitions` took longer than `rebalanceTimeoutMs`; the partitions were released anyway. */
  revokeTimedOut(partitions: readonly TopicPartition[], timeoutMs: number): void;
}

interface Ownership {
  readonly member: GroupMember;
  readonly tp: TopicPartition;
  readonly log: PartitionLog;
}

/**
 * A consumer group's coordinator: membership, partition ownership and
 * committed offsets.
 *
 * Rebalancing is incremental and event driven (like Kafka's cooperative
 * protocol): whenever membership or the subscribed topics change, a target
 * assignment is computed (round-robin over members in join order). Partitions
 * with no owner go to their target member at once; a partition owned by
 * another member is first revoked from it — its in-flight batch settles, its
 * onRevoked runs (bounded by that member's rebalanceTimeoutMs) — and is handed
 * to its target only once released. Partitions that stay put are not touched.
 * A member's revocation never waits for another member's.
 *
 * Changes in one synchronous stretch (several members joining at once) are
 * coalesced into one reconciliation on a microtask.
 */
export class ConsumerGroup {
  readonly groupId: string;
  /** Committed offsets (the next offset to read) by `topic/partition`. */
  readonly committed = new Map<string, number>();
  readonly #engine: BrokerEngine;
  readonly #logger: Logger;
  /** In join order: the assignor deals partitions in this order. */
  readonly #members: GroupMember[] = [];
  /** Members that asked to leave, with whoever awaits their departure. */
  readonly #leaving = new Map<GroupMember, Array<() => void>>();
  readonly #owners = new Map<string, Ownership>();
  readonly #revoking = new Set<string>();
  #joinWaiters: Array<() => void> = [];
  #scheduled = false;
  #generation = 0;

  constructor(groupId: string, engine: BrokerEngine, logger: Logger) {
    this.groupId = groupId;
    this.#engine = engine;
    this.#logger = logger;
  }

  /** Increases each time the target assignment is recomputed. */
  get generation(): number {
    return this.#generation;
  }

  /** Adds a member. Resolves after the reconciliation that gave it its first (free) partitions. */
  join(member: GroupMember): Promise<void> {
    this.#members.push(member);
    return new Promise((resolve) => {
      this.#joinWaiters.push(resolve);
      this.#schedule();
    });
  }

  /**
   * Removes a member: its partitions are revoked from it (drain + onRevoked,
   * bounded by its rebalanceTimeoutMs), then it leaves and they go to the
   * others. Resolves once it has left.
   */
  leave(member: GroupMember): Promise<void> {
    if (!this.#members.includes(member)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.#leaving.get(member);
      if (waiters !== undefined) {
        waiters.push(resolve);
        return;
      }
      this.#leaving.set(member, [resolve]);
      this.#schedule();
    });
  }

  /** True when `member` currently owns the partition (commits from it count). */
  owns(member: GroupMember, topic: string, partition: number): boolean {
    const own = this.#owners.get(partitionKey({ topic, partition }));
    return own !== undefined && own.member === member && !own.log.deleted;
  }

  /** Stores commits for partitions `member` owns; the rest are ignored (returned for logging). */
  commit(member: GroupMember, offsets: readonly TopicPartitionOffset[]): TopicPartitionOffset[] {
    const ignored: TopicPartitionOffset[] = [];
    for (const o of offsets) {
      if (this.owns(member, o.topic, o.partition)) this.committed.set(partitionKey(o), o.offset);
      else ignored.push(o);
    }
    return ignored;
  }

  /** A topic was created or deleted: rebalance if any member subscribes to it. */
  topicsChanged(topic: string): void {
    if (this.#members.some((m) => m.topics.includes(topic))) this.#schedule();
  }

  /** Drops committed offsets of a deleted topic. */
  forgetTopic(topic: string): void {
    const prefix = `${topic}/`;
    for (const key of [...this.committed.keys()]) {
      if (key.startsWith(prefix) && Number.isInteger(Number(key.slice(prefix.length)))) this.committed.delete(key);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#reconcile();
    });
  }

  #reconcile(): void {
    this.#generation++;
    const active = this.#members.filter((m) => !this.#leaving.has(m));
    const target = this.#targetOwners(active);

    // Revoke what sits with the wrong member, or reads a deleted log.
    const revokes = new Map<GroupMember, Ownership[]>();
    for (const [key, own] of this.#owners) {
      if (this.#revoking.has(key)) continue;
      const want = target.get(key);
      if (want !== undefined && want.member === own.member && want.log === own.log) continue;
      let list = revokes.get(own.member);
      if (list === undefined) revokes.set(own.member, (list = []));
      list.push(own);
    }
    // Hand out what nobody owns.
    const grants = new Map<GroupMember, PartitionGrant[]>();
    for (const [key, want] of target) {
      if (this.#owners.has(key)) continue;
      this.#owners.set(key, want);
      let list = grants.get(want.member);
      if (list === undefined) grants.set(want.member, (list = []));
      list.push({ tp: want.tp, log: want.log });
    }

    if (revokes.size > 0 || grants.size > 0) {
      this.#logger.debug(
        {
          groupId: this.groupId,
          generation: this.#generation,
          revoke: [...revokes].map(([m, l]) => ({ memberId: m.memberId, partitions: l.map((o) => partitionKey(o.tp)) })),
          assign: [...grants].map(([m, l]) => ({ memberId: m.memberId, partitions: l.map((g) => partitionKey(g.tp)) })),
        },
        'rebalance',
      );
    }
    for (const [member, owns] of revokes) this.#revoke(member, owns);
    for (const [member, list] of grants) member.assignPartitions(list);

    const waiters = this.#joinWaiters;
    this.#joinWaiters = [];
    for (const resolve of waiters) resolve();
    this.#completeLeaves();
  }

  /** Target owner of every partition of every subscribed topic that exists. */
  #targetOwners(active: readonly GroupMember[]): Map<string, Ownership> {
    const partitions: TopicPartition[] = [];
    const logs = new Map<string, PartitionLog>();
    const topics = new Set<string>();
    for (const m of active) for (const t of m.topics) topics.add(t);
    for (const name of topics) {
      const topic = this.#engine.topics.get(name);
      if (topic === undefined) continue;
      for (const log of topic.partitions) {
        const tp = { topic: name, partition: log.partition };
        partitions.push(tp);
        logs.set(partitionKey(tp), log);
      }
    }
    const target = new Map<string, Ownership>();
    for (const [member, tps] of assignRoundRobin(active, partitions)) {
      for (const tp of tps) {
        const key = partitionKey(tp);
        const log = logs.get(key);
        if (log !== undefined) target.set(key, { member, tp, log });
      }
    }
    return target;
  }

  #revoke(member: GroupMember, owns: readonly Ownership[]): void {
    for (const own of owns) this.#revoking.add(partitionKey(own.tp));
    const tps = owns.map((o) => o.tp);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      for (const own of owns) {
        const key = partitionKey(own.tp);
        this.#revoking.delete(key);
        if (this.#owners.get(key) === own) this.#owners.delete(key);
      }
      this.#completeLeaves();
      this.#schedule();
    };
    // Only a safety bound on a slow onRevoked: unref'd so it never holds the process open.
    const timer = setTimeout(() => {
      if (released) return;
      this.#logger.warn(
        { groupId: this.groupId, memberId: member.memberId, partitions: tps.map(partitionKey), timeoutMs: member.rebalanceTimeoutMs },
        'revocation exceeded the rebalance timeout; releasing the partitions',
      );
      member.revokeTimedOut(tps, member.rebalanceTimeoutMs);
      release();
    }, member.rebalanceTimeoutMs);
    timer.unref();
    member.revokePartitions(tps).then(release, release);
  }

  /** Members that asked to leave and own nothing any more are removed. */
  #completeLeaves(): void {
    for (const [member, waiters] of this.#leaving) {
      let owning = false;
      for (const own of this.#owners.values()) {
        if (own.member === member) {
          owning = true;
          break;
        }
      }
      if (owning) continue;
      this.#leaving.delete(member);
      const i = this.#members.indexOf(member);
      if (i >= 0) this.#members.splice(i, 1);
      for (const resolve of waiters) resolve();
      this.#schedule();
    }
  }
}
