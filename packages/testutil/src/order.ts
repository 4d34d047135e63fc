/**
 * Order checks over delivered messages: per key (what a keyed producer and an
 * ordered consumer promise) and per partition (what the log promises).
 * They return violations as readable lines, so a failing test lists every
 * breach at once instead of the first.
 */
import { partitionKey, type Message } from '@tributary/core';

export interface OrderCheckOptions {
  /**
   * Sequence number of a message within its key. Default: its offset — then a
   * key seen in two partitions is itself a violation. Give one (e.g. parsed
   * from the value) when a key legitimately spans partitions.
   */
  readonly sequenceOf?: (message: Message) => number;
  /**
   * At-least-once delivery: a message seen again (same topic, partition and
   * offset) is skipped instead of reported, but a *new* message arriving after
   * a later one still is a violation. Default false.
   */
  readonly allowRedelivery?: boolean;
}

/** Breaches of per-key order among `messages` (in handling order). Messages without a key are not checked. */
export function orderViolationsPerKey(messages: readonly Message[], options: OrderCheckOptions = {}): string[] {
  const byKey = new Map<string, { last: number; lastAt: string; partition: string }>();
  const seen = new Set<string>();
  const violations: string[] = [];
  for (const m of messages) {
    if (m.key === null) continue;
    const at = `${partitionKey(m)}@${m.offset}`;
    if (seen.has(at)) {
      if (!options.allowRedelivery) violations.push(`key ${JSON.stringify(m.key)}: ${at} handled again`);
      continue;
    }
    seen.add(at);
    const seq = options.sequenceOf ? options.sequenceOf(m) : m.offset;
    const state = byKey.get(m.key);
    if (!state) {
      byKey.set(m.key, { last: seq, lastAt: at, partition: partitionKey(m) });
      continue;
    }
    if (!options.sequenceOf && state.partition !== partitionKey(m)) {
      violations.push(`key ${JSON.stringify(m.key)}: seen in ${state.partition} and ${partitionKey(m)}`);
    } else if (seq <= state.last) {
      violations.push(`key ${JSON.stringify(m.key)}: ${at} (sequence ${seq}) handled after ${state.lastAt} (sequence ${state.last})`);
    }
    if (seq > state.last) {
      state.last = seq;
      state.lastAt = at;
    }
  }
  return violations;
}

/** Breaches of offset order per partition among `messages` (in handling order). */
export function orderViolationsPerPartition(messages: readonly Message[], options: Pick<OrderCheckOptions, 'allowRedelivery'> = {}): string[] {
  const last = new Map<string, number>();
  const seen = new Set<string>();
  const violations: string[] = [];
  for (const m of messages) {
    const tp = partitionKey(m);
    const at = `${tp}@${m.offset}`;
    if (seen.has(at)) {
      if (!options.allowRedelivery) violations.push(`${at} handled again`);
      continue;
    }
    seen.add(at);
    const prev = last.get(tp);
    if (prev !== undefined && m.offset <= prev) violations.push(`${at} handled after ${tp}@${prev}`);
    last.set(tp, Math.max(prev ?? m.offset, m.offset));
  }
  return violations;
}
