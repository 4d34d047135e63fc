/**
 * A transport whose group consumers deliver nothing by themselves: the test
 * calls the handlers the code under test registered, in any order it wants.
 */
import { TributaryError, type ConsumerHandlers, type TopicPartition, type TopicPartitionOffset, type Transport } from '@tributary/core';
import { wrapTransport } from './wrap-transport';

/**
 * `base` with its group consumers replaced by one the test drives; what the
 * code under test did to that consumer is recorded here.
 *
 * Unlike {@link MockConsumer}, which keeps the GroupConsumer contract (it
 * waits for in-flight batches before `onRevoked`, ignores commits of
 * partitions it does not own), nothing here keeps any order: the test can
 * play the sequences a real transport produces at its edges — e.g. Kafka
 * assigning a partition again while the old revocation's `onRevoked` still
 * runs, because it outlived the rebalance timeout.
 */
export interface DrivenTransport {
  /** Forwards producers, partition consumers, admin and `close` to `base`. */
  readonly transport: Transport;
  /**
   * The handlers passed to `run()` by the latest group consumer made;
   * throws ERR_STATE before any `run()`.
   */
  handlers(): ConsumerHandlers;
  /** Every `commit` call's offsets, in call order; recorded when the call is made, before {@link holdCommit}. */
  readonly commits: (readonly TopicPartitionOffset[])[];
  /** Every `seek`, in call order. */
  readonly seeks: TopicPartitionOffset[];
  /** What `assignment()` answers (a copy); the test sets it. Default none. */
  assignment: readonly TopicPartition[];
  /** When set, each commit awaits it before it settles (and rejects when it rejects): commits held in flight. */
  holdCommit: (() => Promise<void>) | undefined;
}

/**
 * Makes a {@link DrivenTransport} over `base`. Its group consumers resolve
 * `run()` at once, ignore `pause`/`resume`, and their `close()` does nothing
 * (no `onRevoked`); `base` is closed by the returned transport's `close()`.
 *
 * ```ts
 * const driven = drivenTransport(memory());
 * const consumer = createConsumer(driven.transport, { groupId, topics: ['t'] });
 * await consumer.start(handler);
 * const h = driven.handlers();
 * await h.onAssigned?.([{ topic: 't', partition: 0 }]);
 * await h.onBatch(buildBatch({ topic: 't', partition: 0, count: 2 }));
 * ```
 */
export function drivenTransport(base: Transport): DrivenTransport {
  let current: ConsumerHandlers | undefined;
  const driven: DrivenTransport = {
    transport: wrapTransport(base, {
      groupConsumer: (options) => ({
        groupId: options.groupId,
        run: async (handlers) => {
          current = handlers;
        },
        commit: async (offsets) => {
          driven.commits.push([...offsets]);
          await driven.holdCommit?.();
        },
        pause: () => undefined,
        resume: () => undefined,
        seek: (position) => {
          driven.seeks.push(position);
        },
        assignment: () => [...driven.assignment],
        close: async () => undefined,
      }),
    }),
    handlers: () => {
      if (current === undefined) throw new TributaryError('ERR_STATE', 'drivenTransport: no group consumer has called run() yet');
      return current;
    },
    commits: [],
    seeks: [],
    assignment: [],
    holdCommit: undefined,
  };
  return driven;
}
