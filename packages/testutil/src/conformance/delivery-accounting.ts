/**
 * Accounting of what was produced against what members received: which
 * records arrived, how often, and where each partition ends — the numbers
 * the conformance tests' "nothing lost, nothing twice" assertions rest on.
 */
import type { GroupConsumer, Message, RecordBatch } from '@tributary/core';
import { textOf } from '../records';
import type { Member, Produced } from './context';

/** A message's value as text ('' for a tombstone). */
export function text(m: Message): string {
  return textOf(m.value) ?? '';
}

/** `partition@offset` of each item, sorted (for set comparisons). */
export function positions(items: readonly { partition: number; offset: number }[]): string[] {
  return items.map((i) => `${i.partition}@${i.offset}`).sort();
}

/** First deliveries only: drops messages seen before (same topic, partition, offset). */
export function distinct(messages: readonly Message[]): Message[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    const id = `${m.topic}/${m.partition}@${m.offset}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Commits the batch's last offset + 1 (the member processed all of it). */
export async function commitBatch(batch: RecordBatch, consumer: GroupConsumer): Promise<void> {
  const last = batch.messages.at(-1);
  if (last) await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]);
}

/** Last produced offset + 1 per partition. */
export function endOffsets(produced: readonly Produced[]): Map<number, number> {
  const ends = new Map<number, number>();
  for (const p of produced) ends.set(p.partition, Math.max(ends.get(p.partition) ?? 0, p.offset + 1));
  return ends;
}

/** How often each produced record was delivered across `members`. */
export function deliveryCounts(produced: readonly Produced[], members: readonly Member[]): Map<string, number> {
  const counts = new Map(produced.map((p) => [`${p.partition}@${p.offset}`, 0]));
  for (const m of members) {
    for (const msg of m.recorder.messages) {
      const id = `${msg.partition}@${msg.offset}`;
      if (counts.has(id)) counts.set(id, counts.get(id)! + 1);
    }
  }
  return counts;
}

/** Records delivered other than exactly once, as `partition@offset ×n`. */
export function notExactlyOnce(counts: Map<string, number>): string[] {
  return [...counts].filter(([, n]) => n !== 1).map(([id, n]) => `${id} ×${n}`);
}
