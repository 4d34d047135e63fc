/**
 * Deduplication middleware (seed 004's WithDeduplication): a record whose id
 * this consumer group has already processed is skipped, which turns
 * at-least-once delivery into effectively-once processing for redeliveries
 * the store still remembers.
 */
import { ConfigCheck, EventHeaders, type HandlerMiddleware, type Message } from '@tributary/core';
import { memoryDedupStore } from './memory-dedup-store';
import { emitRecordEvent } from './record-events';

/**
 * Where processed ids are kept (seed 004's DeduplicationStorage). Both
 * methods may be synchronous or return promises. Ids are scoped by group, so
 * several consumer groups can share one store.
 */
export interface DedupStore {
  /** True when `id` was committed for `groupId` (and is still remembered). */
  isDuplicated(groupId: string, id: string): boolean | Promise<boolean>;
  /** Records that `id` was processed by `groupId`. */
  commit(groupId: string, id: string): void | Promise<void>;
}

export interface DedupOptions {
  /** Default: a {@link memoryDedupStore} with its defaults (100 000 ids, 1 hour). */
  readonly store?: DedupStore;
  /**
   * The id of a record; `undefined` means "no id": the record is processed
   * without deduplication. Default: the CloudEvents id header `ce_id`.
   */
  readonly idOf?: (message: Message) => string | undefined;
  /** Scope of the ids. Default the consumer's group (`ctx.groupId`), or `''` without one. */
  readonly groupId?: string;
}

/** The default id: the `ce_id` header the event publisher writes. */
export const eventIdOf = (message: Message): string | undefined => message.headers[EventHeaders.id];

/**
 * Skips records already processed by this consumer group.
 *
 * - A record is looked up by id; a duplicate is acknowledged without calling
 *   the chain inside (and told outward as a `duplicate` record event).
 * - The id is committed to the store only after the chain inside succeeded.
 *   A record that fails — or is dead-lettered by a withDeadLetter further out
 *   — is not committed, so a redelivery or a replay from the dead-letter
 *   topic is processed again.
 * - Records with the same id in flight at once (e.g. on two partitions) are
 *   processed one after the other, so the second sees the first's commit.
 * - A failing `isDuplicated` fails the record (retried like any failure: it
 *   cannot be known whether it is a duplicate). A failing `commit` is logged
 *   at warn and otherwise ignored: the record was processed, and failing it
 *   now would process it again.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withDedup(options: DedupOptions = {}): HandlerMiddleware {
  const s = options.store as Partial<DedupStore> | undefined;
  const check = new ConfigCheck('withDedup')
    .check(
      s === undefined || (typeof s === 'object' && s !== null && typeof s.isDuplicated === 'function' && typeof s.commit === 'function'),
      'store',
      'must be a DedupStore (isDuplicated, commit)',
    )
    .fn(options.idOf, 'idOf');
  if (options.groupId !== undefined) check.check(typeof options.groupId === 'string', 'groupId', 'must be a string');
  check.throwIfInvalid();
  const store = options.store ?? memoryDedupStore();
  const idOf = options.idOf ?? eventIdOf;
  // Per id: the processing in flight, which a second record with the same id waits for.
  const inFlight = new Map<string, Promise<void>>();

  return (next) => async (message, ctx) => {
    const id = idOf(message);
    if (id === undefined) return next(message, ctx);
    const groupId = options.groupId ?? ctx.groupId ?? '';
    const key = `${groupId}\u0000${id}`;
    for (let running = inFlight.get(key); running !== undefined; running = inFlight.get(key)) {
      await running.catch(() => undefined);
    }
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    inFlight.set(key, mine);
    try {
      if (await store.isDuplicated(groupId, id)) {
        emitRecordEvent(ctx, message, { type: 'duplicate', id });
        return;
      }
      await next(message, ctx);
      try {
        await store.commit(groupId, id);
      } catch (err) {
        ctx.logger.warn({ err, groupId, id }, 'withDedup: commit to the store failed; a redelivery of this record would be processed again');
      }
    } finally {
      inFlight.delete(key);
      done();
    }
  };
}
