/**
 * Turns the push of a group consumer (`onBatch`) into a pull (`take`), with
 * bounded backpressure: the consumer's `onBatch` appends its batch at once
 * and then awaits `waitForRoom()`, so the next fetch of that partition waits
 * until the reader has made room. The buffer holds at most `capacity`
 * messages plus the batches that arrived while it was full (one per
 * partition, as a partition's batches are delivered one at a time).
 */
import type { Message, RecordBatch } from '@tributary/core';

interface Segment {
  readonly messages: readonly Message[];
  index: number;
}

export class MessageBuffer {
  readonly capacity: number;
  #segments: Segment[] = [];
  #head = 0;
  #size = 0;
  /** Next offset expected per partition: duplicates below it are dropped. */
  readonly #next = new Map<number, number>();
  #roomWaiters: Array<() => void> = [];
  #dataWaiters: Array<() => void> = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Messages buffered and not yet taken. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends a batch. Messages below the partition's next expected offset
   * (a batch delivered twice) are dropped; `expect` resets that after a seek.
   */
  push(batch: RecordBatch): void {
    let messages = batch.messages;
    const expected = this.#next.get(batch.partition);
    if (expected !== undefined && messages.length > 0 && (messages[0] as Message).offset < expected) {
      messages = messages.filter((m) => m.offset >= expected);
    }
    if (messages.length === 0) return;
    this.#next.set(batch.partition, (messages[messages.length - 1] as Message).offset + 1);
    this.#segments.push({ messages, index: 0 });
    this.#size += messages.length;
    wake(this.#dataWaiters);
    this.#dataWaiters = [];
  }

  /** Up to `max` messages, oldest first. */
  take(max: number): Message[] {
    const out: Message[] = [];
    while (out.length < max && this.#head < this.#segments.length) {
      const segment = this.#segments[this.#head] as Segment;
      const n = Math.min(max - out.length, segment.messages.length - segment.index);
      for (let i = 0; i < n; i++) out.push(segment.messages[segment.index + i] as Message);
      segment.index += n;
      if (segment.index === segment.messages.length) this.#head++;
    }
    this.#size -= out.length;
    this.#compact();
    this.#wakeRoom();
    return out;
  }

  /** Drops buffered messages of the given partitions (they were revoked) and forgets their expected offsets. */
  dropPartitions(partitions: ReadonlySet<number>): void {
    const kept: Segment[] = [];
    let size = 0;
    for (let i = this.#head; i < this.#segments.length; i++) {
      const segment = this.#segments[i] as Segment;
      const first = segment.messages[segment.index];
      if (first !== undefined && partitions.has(first.partition)) continue;
      kept.push(segment);
      size += segment.messages.length - segment.index;
    }
    this.#segments = kept;
    this.#head = 0;
    this.#size = size;
    for (const p of partitions) this.#next.delete(p);
    this.#wakeRoom();
  }

  /** Drops everything buffered and forgets the expected offsets (after a seek). Wakes waiting producers. */
  clear(): void {
    this.#segments = [];
    this.#head = 0;
    this.#size = 0;
    this.#next.clear();
    this.#wakeRoom();
  }

  /**
   * Resolves once the buffer is below capacity (or at once) — or once
   * `signal` aborts: a batch of a partition being given up need not wait for
   * room (its messages are dropped), and the revocation waits for it.
   */
  waitForRoom(signal?: AbortSignal): Promise<void> {
    if (this.#size < this.capacity || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      if (signal === undefined) {
        this.#roomWaiters.push(resolve);
        return;
      }
      const onAbort = (): void => {
        const i = this.#roomWaiters.indexOf(onRoom);
        if (i >= 0) this.#roomWaiters.splice(i, 1);
        resolve();
      };
      const onRoom = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#roomWaiters.push(onRoom);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Resolves with true once a message is buffered, false when `timeoutMs`
   * passes first or `release()` is called.
   */
  waitForData(timeoutMs: number): Promise<boolean> {
    if (this.#size > 0) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = this.#dataWaiters.indexOf(onData);
        if (i >= 0) this.#dataWaiters.splice(i, 1);
        resolve(this.#size > 0);
      }, timeoutMs);
      const onData = (): void => {
        clearTimeout(timer);
        resolve(this.#size > 0);
      };
      this.#dataWaiters.push(onData);
    });
  }

  /** Wakes every waiter (room and data) without changing the contents: used when closing. */
  release(): void {
    const waiters = [...this.#roomWaiters, ...this.#dataWaiters];
    this.#roomWaiters = [];
    this.#dataWaiters = [];
    wake(waiters);
  }

  #wakeRoom(): void {
    if (this.#size >= this.capacity || this.#roomWaiters.length === 0) return;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    wake(waiters);
  }

  #compact(): void {
    if (this.#head > 64 && this.#head * 2 > this.#segments.length) {
      this.#segments = this.#segments.slice(this.#head);
      this.#head = 0;
    }
  }
}

function wake(waiters: readonly (() => void)[]): void {
  for (const w of waiters) w();
}
