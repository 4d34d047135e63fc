import type { Message, RecordBatch } from '@tributary/core';
import { buildMessage } from '@tributary/testutil';
import { encodeMarkerKey, encodeMarkerValue, type Marker } from '@tributary/mq-markers';
import { RedeliveryTracker, type SkipReason } from '../src/redelivery-tracker';

const Q = 'orders';

/** A markers partition as a list of records, written through `marker(...)`. */
class MarkersLog {
  readonly records: Message[] = [];

  marker(offset: number, marker: Marker, timestamp = 1000): this {
    this.records.push(
      buildMessage({
        topic: `${Q}.markers`,
        partition: 0,
        offset: this.records.length,
        key: encodeMarkerKey({ partition: 0, offset }),
        value: encodeMarkerValue(marker),
        timestamp,
      }),
    );
    return this;
  }

  /** Records from `from` on; `highWatermark` null for a transport that reports none. */
  batch(from = 0, highWatermark: number | null = this.records.length): RecordBatch {
    return { topic: `${Q}.markers`, partition: 0, messages: this.records.slice(from), ...(highWatermark === null ? {} : { highWatermark }) };
  }
}

const start = (deadline: number): Marker => ({ kind: 'start', deadline });
const keepAlive = (deadline: number): Marker => ({ kind: 'keep-alive', deadline });
const end: Marker = { kind: 'end' };

describe('RedeliveryTracker', () => {
  it('opens on start, moves on keep-alive, closes on end', () => {
    const t = new RedeliveryTracker(0);
    t.applyBatch(new MarkersLog().marker(7, start(100)).marker(8, start(200)).marker(7, keepAlive(300)).marker(8, end).batch(), 0);
    expect(t.size).toBe(1);
    expect(t.due(299, 10)).toEqual([]);
    expect(t.due(300, 10).map((m) => m.offset)).toEqual([7]);
  });

  it('ignores a keep-alive for a message that is not open (a late keep-alive after the end does not reopen it)', () => {
    const t = new RedeliveryTracker(0);
    t.applyBatch(new MarkersLog().marker(1, start(100)).marker(1, end).marker(1, keepAlive(500)).marker(2, keepAlive(500)).batch(), 0);
    expect(t.size).toBe(0);
    expect(t.due(10_000, 10)).toEqual([]);
  });

  it('lists due messages by deadline, up to the limit, and keeps them open until closed', () => {
    const t = new RedeliveryTracker(0);
    t.applyBatch(new MarkersLog().marker(1, start(300)).marker(2, start(100)).marker(3, start(200)).marker(4, start(900)).batch(), 0);
    expect(t.due(500, 2).map((m) => m.offset)).toEqual([2, 3]);
    const due = t.due(500, 10);
    expect(due.map((m) => m.offset)).toEqual([2, 3, 1]);
    t.close(due[0]!);
    expect(t.due(500, 10).map((m) => m.offset)).toEqual([3, 1]);
    expect(t.isDue(due[0]!, 500)).toBe(false);
    expect(t.isDue(due[1]!, 500)).toBe(true);
    expect(t.isDue(due[1]!, 199)).toBe(false);
  });

  it('postpone moves the deadline of an open message (a failed redelivery is retried later)', () => {
    const t = new RedeliveryTracker(0);
    t.applyBatch(new MarkersLog().marker(1, start(100)).batch(), 0);
    const [m] = t.due(100, 10);
    t.postpone(m!, 1000);
    expect(t.due(999, 10)).toEqual([]);
    expect(t.due(1000, 10)).toEqual([m]);
  });

  it('commits at the start marker of the oldest open message, or after the last marker when none is open', () => {
    const t = new RedeliveryTracker(0);
    expect(t.commitOffset()).toBeUndefined();
    const log = new MarkersLog()
      .marker(1, start(100)) // markers offset 0
      .marker(2, start(100)) // 1
      .marker(3, start(100)) // 2
      .marker(1, end) // 3
      .marker(2, keepAlive(500)); // 4: a keep-alive does not move the commit point
    t.applyBatch(log.batch(), 0);
    expect(t.commitOffset()).toBe(1);
    log.marker(2, end).marker(3, end);
    t.applyBatch(log.batch(5), 0);
    expect(t.commitOffset()).toBe(7);
    expect(t.position).toBe(7);
  });

  it('after a restart from its commit offset, sees the same open messages with the same deadlines', () => {
    const log = new MarkersLog();
    for (let i = 0; i < 50; i++) log.marker(i, start(1000 + i));
    for (let i = 0; i < 50; i += 3) log.marker(i, end);
    for (let i = 1; i < 50; i += 3) log.marker(i, keepAlive(5000 + i));
    const before = new RedeliveryTracker(0);
    before.applyBatch(log.batch(), 0);
    const restarted = new RedeliveryTracker(0);
    restarted.applyBatch(log.batch(before.commitOffset()), 0);
    const view = (t: RedeliveryTracker): Array<[number, number]> => t.due(Number.MAX_SAFE_INTEGER, 1000).map((m) => [m.offset, m.deadline]);
    expect(view(restarted)).toEqual(view(before));
    expect(restarted.size).toBe(before.size);
  });

  it('skips markers it cannot decode, reporting them, and still moves past them', () => {
    const t = new RedeliveryTracker(0);
    const log = new MarkersLog().marker(1, start(100));
    log.records.push(buildMessage({ topic: `${Q}.markers`, offset: 1, key: 'garbage', value: 'x' }));
    log.records.push(buildMessage({ topic: `${Q}.markers`, offset: 2, key: '0:5', value: new Uint8Array([2, 1]) })); // a future format version
    const skipped: Array<[number, SkipReason]> = [];
    t.applyBatch(log.batch(), 0, (m, reason) => skipped.push([m.offset, reason]));
    expect(skipped).toEqual([
      [1, 'undecodable'],
      [2, 'undecodable'],
    ]);
    expect(t.size).toBe(1);
    expect(t.position).toBe(3);
  });

  describe('effectiveNow', () => {
    it('is the wall clock once the partition is read to its high watermark', () => {
      const t = new RedeliveryTracker(0);
      t.applyBatch(new MarkersLog().marker(1, start(100), 50).batch(), 0);
      expect(t.effectiveNow(10_000, 1000)).toBe(10_000);
    });

    it('is the newest marker timestamp while behind, so an end marker still unread cannot be overtaken by the clock', () => {
      const t = new RedeliveryTracker(0);
      const log = new MarkersLog().marker(1, start(100), 50).marker(2, start(100), 70);
      t.applyBatch(log.batch(0, 10), 9_000); // high watermark 10: 8 markers still unread
      expect(t.effectiveNow(10_000, 1000)).toBe(70);
    });

    it('without high watermarks, counts a partition quiet for quietMs as read to its end', () => {
      const t = new RedeliveryTracker(0);
      t.applyBatch(new MarkersLog().marker(1, start(100), 70).batch(0, null), 9_000);
      expect(t.effectiveNow(9_500, 1000)).toBe(70);
      expect(t.effectiveNow(10_000, 1000)).toBe(10_000);
    });
  });
});
