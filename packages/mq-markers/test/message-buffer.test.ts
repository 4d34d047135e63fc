import { getEventListeners } from 'node:events';
import type { RecordBatch } from '@tributary/core';
import { buildBatch } from '@tributary/testutil';
import { MessageBuffer } from '../src/message-buffer';

function batch(partition: number, from: number, count: number): RecordBatch {
  return buildBatch({ partition, offset: from, count });
}

describe('MessageBuffer', () => {
  it('hands messages out oldest batch first, across partitions and batch boundaries', () => {
    const buffer = new MessageBuffer(100);
    buffer.push(batch(0, 0, 3));
    buffer.push(batch(1, 10, 2));
    expect(buffer.take(4).map((m) => `${m.partition}@${m.offset}`)).toEqual(['0@0', '0@1', '0@2', '1@10']);
    expect(buffer.size).toBe(1);
    expect(buffer.take(10).map((m) => m.offset)).toEqual([11]);
    expect(buffer.take(10)).toEqual([]);
  });

  it('waitForRoom resolves only once the buffer is below capacity', async () => {
    const buffer = new MessageBuffer(3);
    buffer.push(batch(0, 0, 4));
    let room = false;
    const waiting = buffer.waitForRoom().then(() => (room = true));
    await Promise.resolve();
    expect(room).toBe(false);
    buffer.take(1); // 3 left: still full
    await Promise.resolve();
    expect(room).toBe(false);
    buffer.take(1);
    await waiting;
    expect(room).toBe(true);
  });

  it('waitForRoom(signal) also ends when the signal aborts, and leaves no listener behind', async () => {
    const buffer = new MessageBuffer(3);
    buffer.push(batch(0, 0, 4));
    const revoked = new AbortController();
    let ended = false;
    const waiting = buffer.waitForRoom(revoked.signal).then(() => (ended = true));
    await Promise.resolve();
    expect(ended).toBe(false);
    revoked.abort();
    await waiting;
    expect(buffer.size).toBe(4); // still full: the abort alone ended the wait
    expect(getEventListeners(revoked.signal, 'abort')).toHaveLength(0);
    await buffer.waitForRoom(revoked.signal); // an aborted signal does not wait at all

    const kept = new AbortController();
    const roomy = buffer.waitForRoom(kept.signal);
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(1);
    buffer.take(2);
    await roomy;
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0);
  });

  it('waitForData resolves true when a batch arrives, false on timeout or release', async () => {
    const buffer = new MessageBuffer(10);
    const arrived = buffer.waitForData(5_000);
    buffer.push(batch(0, 0, 1));
    await expect(arrived).resolves.toBe(true);
    buffer.take(1);
    await expect(buffer.waitForData(0)).resolves.toBe(false);
    await expect(buffer.waitForData(5)).resolves.toBe(false);
    const released = buffer.waitForData(5_000);
    buffer.release();
    await expect(released).resolves.toBe(false);
  });

  it('drops messages below the next expected offset of their partition (a batch delivered twice)', () => {
    const buffer = new MessageBuffer(100);
    buffer.push(batch(0, 0, 3));
    buffer.push(batch(0, 1, 4)); // 1..4: only 3 and 4 are new
    expect(buffer.take(10).map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('dropPartitions removes revoked partitions and forgets their expected offsets', () => {
    const buffer = new MessageBuffer(100);
    buffer.push(batch(0, 0, 2));
    buffer.push(batch(1, 0, 2));
    buffer.dropPartitions(new Set([0]));
    expect(buffer.size).toBe(2);
    buffer.push(batch(0, 0, 1)); // re-read from the start after a new assignment: accepted
    expect(buffer.take(10).map((m) => `${m.partition}@${m.offset}`)).toEqual(['1@0', '1@1', '0@0']);
  });

  it('clear empties the buffer, accepts re-read offsets and wakes waiting producers', async () => {
    const buffer = new MessageBuffer(1);
    buffer.push(batch(0, 0, 2));
    const room = buffer.waitForRoom();
    buffer.clear();
    await room;
    expect(buffer.size).toBe(0);
    buffer.push(batch(0, 0, 1));
    expect(buffer.take(1).map((m) => m.offset)).toEqual([0]);
  });
});
