/**
 * Commits that resolve when the broker answered, not when they were sent.
 *
 * The binding's `commit(offsets)` only queues an asynchronous commit (its
 * `commitCb` does the same, despite the name); the outcome arrives later
 * through librdkafka's `offset_commit_cb`, once per commit request, served by
 * the consumer's poll loop. This queue pairs each outcome with its request:
 * by the offsets it names (librdkafka reports the offsets it committed),
 * else in request order (the coordinator answers in order).
 */
import { TributaryError, type TopicPartitionOffset } from '@tributary/core';
import { fromNativeError } from './errors';
import type { NativeError, NativeTopicPartition } from './native';

interface PendingCommit {
  readonly signature: string;
  readonly what: string;
  resolve(): void;
  reject(error: TributaryError): void;
  readonly timer: NodeJS.Timeout;
}

interface Committer {
  commit(offsets: NativeTopicPartition[]): unknown;
}

function signatureOf(offsets: readonly { topic: string; partition: number; offset?: number }[]): string {
  return offsets
    .map((o) => `${o.topic}/${o.partition}@${o.offset ?? ''}`)
    .sort()
    .join(',');
}

export class CommitQueue {
  readonly #timeoutMs: number;
  #pending: PendingCommit[] = [];

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#pending.length;
  }

  /** Commits exactly `offsets` (next offsets to read); resolves when the broker acknowledged them. */
  commit(native: Committer, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const list: NativeTopicPartition[] = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }));
    const what = `commit of ${offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(', ')}`;
    return new Promise<void>((resolve, reject) => {
      const entry: PendingCommit = {
        signature: signatureOf(list),
        what,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#remove(entry);
          reject(new TributaryError('ERR_COMMIT', `${what}: no answer within ${this.#timeoutMs} ms`, { retriable: true }));
        }, this.#timeoutMs),
      };
      this.#pending.push(entry);
      try {
        native.commit(list);
      } catch (err) {
        this.#remove(entry);
        clearTimeout(entry.timer);
        reject(fromNativeError(err, 'commit', what));
      }
    });
  }

  /** librdkafka's offset_commit_cb. */
  onResult(err: NativeError | null | undefined, partitions: readonly NativeTopicPartition[] | undefined): void {
    const list = partitions ?? [];
    const signature = signatureOf(list);
    const entry = this.#pending.find((p) => p.signature === signature) ?? this.#pending[0];
    if (!entry) return;
    this.#remove(entry);
    clearTimeout(entry.timer);
    const failed = err ?? list.find((p) => p.error)?.error;
    if (failed) entry.reject(fromNativeError(failed, 'commit', entry.what));
    else entry.resolve();
  }

  /** Rejects every commit still waiting (the consumer closed). */
  failAll(error: TributaryError): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  #remove(entry: PendingCommit): void {
    const i = this.#pending.indexOf(entry);
    if (i >= 0) this.#pending.splice(i, 1);
  }
}
