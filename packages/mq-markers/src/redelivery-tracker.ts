/**
 * The redeliverer's view of one markers partition: which queue messages are
 * started and not ended, when each is due, and up to where the markers
 * partition may be committed so that a restart re-reads every open message.
 */
import type { Message, RecordBatch } from '@tributary/core';
import { IndexedHeap } from './indexed-heap';
import { decodeMarkerKey, decodeMarkerValue, type Marker, type MarkerTarget } from './marker';

/** A started, not yet ended queue message. */
export interface OpenMessage {
  /** The marker key (`<partition>:<offset>`). */
  readonly key: string;
  /** Queue partition and offset of the message. */
  readonly partition: number;
  readonly offset: number;
  /** Offset of the start marker that opened it: the markers partition is never committed past it while it is open. */
  readonly startMarkerOffset: number;
  /** Epoch ms after which it is redelivered. */
  deadline: number;
  /** Failed redelivery attempts so far (for the retry backoff). */
  failures: number;
  deadlineSlot: number;
  startSlot: number;
}

/** What a marker did to the tracker. */
export type MarkerEffect = 'opened' | 'moved' | 'ended' | 'ignored';

/** Why a marker record was skipped by `applyBatch`: a key or value this version cannot read. */
export type SkipReason = 'undecodable';

export class RedeliveryTracker {
  readonly markersPartition: number;
  readonly #open = new Map<string, OpenMessage>();
  readonly #byDeadline = new IndexedHeap<OpenMessage>(
    (a, b) => a.deadline < b.deadline || (a.deadline === b.deadline && a.offset < b.offset),
    { get: (m) => m.deadlineSlot, set: (m, i) => (m.deadlineSlot = i) },
  );
  readonly #byStart = new IndexedHeap<OpenMessage>((a, b) => a.startMarkerOffset < b.startMarkerOffset, {
    get: (m) => m.startSlot,
    set: (m, i) => (m.startSlot = i),
  });
  /** Next markers offset to read; undefined before the first marker. */
  #position: number | undefined;
  #latestMarkerTimestamp = 0;
  #caughtUp: boolean | undefined;
  #lastBatchAt = 0;

  constructor(markersPartition: number) {
    this.markersPartition = markersPartition;
  }

  /** Open messages. */
  get size(): number {
    return this.#open.size;
  }

  /** Next markers offset to read (after the last marker applied), if any marker was applied. */
  get position(): number | undefined {
    return this.#position;
  }

  /**
   * Applies a batch of marker records (in offset order). `now` is the local
   * clock, used to tell a quiet partition from one that is behind.
   */
  applyBatch(batch: RecordBatch, now: number, onSkip?: (message: Message, reason: SkipReason) => void): void {
    for (const record of batch.messages) {
      const target = decodeMarkerKey(record.key);
      const marker = decodeMarkerValue(record.value);
      if (target === undefined || marker === undefined) onSkip?.(record, 'undecodable');
      else this.apply(record.offset, record.key as string, target, marker);
      if (record.timestamp > this.#latestMarkerTimestamp) this.#latestMarkerTimestamp = record.timestamp;
      this.#position = record.offset + 1;
    }
    const last = batch.messages[batch.messages.length - 1];
    if (batch.highWatermark !== undefined && last !== undefined) this.#caughtUp = last.offset + 1 >= batch.highWatermark;
    this.#lastBatchAt = now;
  }

  /**
   * Applies one marker. A start opens the message (or moves the deadline of
   * an open one); a keep-alive moves the deadline of an open message and is
   * ignored otherwise — a late keep-alive after the end must not reopen it;
   * an end closes it.
   */
  apply(markerOffset: number, key: string, target: MarkerTarget, marker: Marker): MarkerEffect {
    const open = this.#open.get(key);
    switch (marker.kind) {
      case 'start':
        if (open !== undefined) {
          open.deadline = marker.deadline;
          this.#byDeadline.update(open);
          return 'moved';
        }
        this.#add({
          key,
          partition: target.partition,
          offset: target.offset,
          startMarkerOffset: markerOffset,
          deadline: marker.deadline,
          failures: 0,
          deadlineSlot: -1,
          startSlot: -1,
        });
        return 'opened';
      case 'keep-alive':
        if (open === undefined) return 'ignored';
        open.deadline = marker.deadline;
        this.#byDeadline.update(open);
        return 'moved';
      case 'end':
        if (open === undefined) return 'ignored';
        this.close(open);
        return 'ended';
    }
  }

  /**
   * The time to judge deadlines by. When the partition is read up to its end
   * it is `now`. While behind (a backlog after a restart or under load), it
   * is the timestamp of the newest marker read: a message whose end marker
   * is still unread in the backlog must not be redelivered by the wall clock
   * (kmq's rule). When the transport reports no high watermark, a partition
   * that delivered nothing for `quietMs` counts as read to its end.
   */
  effectiveNow(now: number, quietMs: number): number {
    const caughtUp = this.#caughtUp ?? now - this.#lastBatchAt >= quietMs;
    return caughtUp ? now : Math.min(now, this.#latestMarkerTimestamp);
  }

  /** Up to `limit` open messages with deadline ≤ `now`, by deadline (they stay open until `close`). */
  due(now: number, limit: number): OpenMessage[] {
    const out: OpenMessage[] = [];
    const top = this.#byDeadline.peek();
    if (top === undefined || top.deadline > now) return out;
    // Popping and pushing back keeps the heap the only source of truth, also when a redelivery fails midway.
    while (out.length < limit) {
      const m = this.#byDeadline.peek();
      if (m === undefined || m.deadline > now) break;
      this.#byDeadline.pop();
      out.push(m);
    }
    for (const m of out) this.#byDeadline.push(m);
    return out;
  }

  /** True while `message` is open (not ended or redelivered meanwhile) and due at `now`. */
  isDue(message: OpenMessage, now: number): boolean {
    return this.#open.get(message.key) === message && message.deadline <= now;
  }

  /** True while `message` is open. */
  isOpen(message: OpenMessage): boolean {
    return this.#open.get(message.key) === message;
  }

  /** Forgets an open message (ended, redelivered or dead-lettered). */
  close(message: OpenMessage): void {
    if (this.#open.get(message.key) !== message) return;
    this.#open.delete(message.key);
    this.#byDeadline.remove(message);
    this.#byStart.remove(message);
  }

  /** Moves the deadline of an open message (a failed redelivery is retried then). */
  postpone(message: OpenMessage, deadline: number): void {
    if (this.#open.get(message.key) !== message) return;
    message.deadline = deadline;
    this.#byDeadline.update(message);
  }

  /**
   * The offset to commit on the markers partition: the start marker of the
   * oldest open message, so a restart reads it again; with nothing open, the
   * position after the last marker read. Undefined before the first marker.
   */
  commitOffset(): number | undefined {
    return this.#byStart.peek()?.startMarkerOffset ?? this.#position;
  }

  #add(message: OpenMessage): void {
    this.#open.set(message.key, message);
    this.#byDeadline.push(message);
    this.#byStart.push(message);
  }
}
