/**
 * The redeliverer (kmq's RedeliveryTracker): consumes the markers topic,
 * tracks started-but-unended messages per markers partition, and re-sends
 * the ones whose deadline passed — or dead-letters them once they were
 * redelivered `maxRedeliveries` times.
 */
import {
  Backoff,
  ConfigCheck,
  MAX_DELAY_MS,
  RetriesExhaustedError,
  TributaryError,
  deadLetterRecord,
  defaultDeadLetterTopic,
  errorMessage,
  freezeOptions,
  sleep,
  type BackoffOptions,
  type ConsumerHandlers,
  type GroupConsumer,
  type Logger,
  type Message,
  type SendResult,
  type TopicPartition,
  type TopicPartitionOffset,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import type { Clock } from './clock';
import { MqHeaders, redeliveryCountOf } from './headers';
import { createMarkerProducer, type MarkerProducer } from './marker-producer';
import { createMessageSender, type MessageSender, type QueueMessage } from './message-sender';
import { OffsetReader, type ReadResult } from './offset-reader';
import { checkFactoryArguments, checkQueueConsumerOptions, consumerTuning, resolveQueueConsumerOptions, type ResolvedQueueConsumerOptions } from './queue-consumer-options';
import { checkQueueTopics, defaultRedelivererGroup } from './queue-topics';
import { RedeliveryTracker, type OpenMessage } from './redelivery-tracker';

/**
 * Options of {@link createRedeliverer}.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `queue` | required | the queue topic |
 * | `markersTopic` | `<queue>.markers` | |
 * | `groupId` | `<markersTopic>.redeliverer` | redeliverers of one queue share the markers partitions |
 * | `maxRedeliveries` | 3 | redeliveries of one message; on the next expiry it goes to the dead-letter topic |
 * | `deadLetterTopic` | `<queue>.dlq` | topic, or a function of the message |
 * | `checkIntervalMs` | 1000 | how often deadlines are checked (and due messages redelivered) |
 * | `commitIntervalMs` | 1000 | how often markers offsets are committed (also on revocation and close) |
 * | `readTimeoutMs` | 30 000 | limit for reading a due message back from the queue |
 * | `maxPerCheck` | 500 | most messages redelivered per markers partition per check |
 * | `retry` | 1 s → 30 s, forever | backoff of a failed redelivery; with a finite `maxAttempts` the message is given up (logged, ended) after that many failures |
 * | `readerIdleMs` | 60 000 | a read-back consumer unused this long is closed |
 * | `maxBatchRecords` | transport default | most markers per fetched batch |
 * | `checkTopics` | true | check at start that the markers topic has enough partitions |
 * | `producer` | one from the transport | producer for redeliveries and end markers (shared: `close()` leaves it open) |
 * | `clientId`, `rebalanceTimeoutMs` | transport defaults | passed to the consumers |
 * | `clock` | `Date.now` | time to judge deadlines by |
 * | `logger` | silent | |
 */
export interface RedelivererOptions {
  readonly queue: string;
  readonly markersTopic?: string;
  readonly groupId?: string;
  readonly maxRedeliveries?: number;
  readonly deadLetterTopic?: string | ((message: Message) => string);
  readonly checkIntervalMs?: number;
  readonly commitIntervalMs?: number;
  readonly readTimeoutMs?: number;
  readonly maxPerCheck?: number;
  readonly retry?: BackoffOptions;
  readonly readerIdleMs?: number;
  readonly maxBatchRecords?: number;
  readonly checkTopics?: boolean;
  readonly producer?: TransportProducer;
  readonly clientId?: string;
  readonly rebalanceTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Defaults of {@link RedelivererOptions}. */
export const REDELIVERER_DEFAULTS = Object.freeze({
  maxRedeliveries: 3,
  checkIntervalMs: 1000,
  commitIntervalMs: 1000,
  readTimeoutMs: 30_000,
  maxPerCheck: 500,
  readerIdleMs: 60_000,
  checkTopics: true,
  retry: Object.freeze({ initialMs: 1000, maxMs: 30_000, maxAttempts: Infinity }),
});

/** Counters since start. */
export interface RedelivererMetrics {
  /** Marker records read. */
  readonly markers: number;
  /** Started, not yet ended messages in the owned markers partitions now. */
  readonly open: number;
  /** Messages re-sent to the queue. */
  readonly redelivered: number;
  /** Messages sent to the dead-letter topic. */
  readonly deadLettered: number;
  /** Due messages no longer in the queue log (retention): ended without redelivery. */
  readonly missing: number;
  /** Failed redelivery attempts (each is retried with backoff). */
  readonly failures: number;
  /** Messages given up after `retry.maxAttempts` failures. */
  readonly givenUp: number;
  /** Completed deadline checks. */
  readonly checks: number;
  /** Markers offset commits. */
  readonly commits: number;
}

/**
 * A redeliverer. Run one or more per queue (same group: they share the
 * markers partitions and take over each other's on failure).
 *
 * Commits: the markers offset committed for a partition never passes the
 * start marker of a message that is still open there, so a restart reads
 * every open message again. Redeliveries done but whose end marker was not
 * yet written when the process died are done again (at-least-once).
 */
export interface Redeliverer {
  readonly queue: string;
  readonly markersTopic: string;
  readonly groupId: string;
  /** Checks the topics, joins the group and starts checking deadlines. Resolves once running. */
  start(): Promise<void>;
  /** Markers partitions owned now. */
  assignment(): number[];
  metrics(): RedelivererMetrics;
  /**
   * Stops checking; redeliveries being sent finish, but read-backs in
   * progress end and no redelivery starts (those messages stay open: the
   * next owner or run redelivers them). Then commits, leaves the group and
   * closes what it created. Idempotent.
   */
  close(): Promise<void>;
}

interface ResolvedOptions extends ResolvedQueueConsumerOptions {
  readonly groupId: string;
  readonly maxRedeliveries: number;
  readonly deadLetterTopic: (message: Message) => string;
  readonly checkIntervalMs: number;
  readonly commitIntervalMs: number;
  readonly readTimeoutMs: number;
  readonly maxPerCheck: number;
  readonly retry: BackoffOptions;
  readonly readerIdleMs: number;
}

interface PartitionState {
  readonly tracker: RedeliveryTracker;
  /** Read-back consumers by queue partition. */
  readonly readers: Map<number, OffsetReader>;
  /** Closes of its read-back consumers still in progress (taken out of `readers`): revocation and close wait for them. */
  readonly closing: Set<Promise<void>>;
  committed: number | undefined;
  /** The batch signal this assignment follows (from its first batch). */
  signal: AbortSignal | undefined;
  /** Its revocation (or the close) began: no read-back or redelivery starts for it any more. */
  givenUp: boolean;
  /** Its part of the check in progress (resolved when none): what its revocation waits for. */
  work: Promise<void>;
}

type Counters = { -readonly [K in keyof RedelivererMetrics]: RedelivererMetrics[K] };

interface Pending {
  readonly open: OpenMessage;
  readonly record: QueueMessage;
  readonly deadLetter: boolean;
}

const noop = (): void => undefined;

class TransportRedeliverer implements Redeliverer {
  readonly queue: string;
  readonly markersTopic: string;
  readonly groupId: string;
  readonly #transport: Transport;
  readonly #o: ResolvedOptions;
  readonly #logger: Logger;
  readonly #backoff: Backoff;
  readonly #sender: MessageSender;
  readonly #markers: MarkerProducer;
  readonly #ownedProducer: TransportProducer | undefined;
  readonly #partitions = new Map<number, PartitionState>();
  readonly #counters: Counters = { markers: 0, open: 0, redelivered: 0, deadLettered: 0, missing: 0, failures: 0, givenUp: 0, checks: 0, commits: 0 };
  readonly #stop = new AbortController();
  #consumer: GroupConsumer | undefined;
  #starting: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  /** The deadline check in progress (resolved when none is); revocation and close wait for it. */
  #checking: Promise<void> = Promise.resolve();
  #lastCommitAt = 0;
  #closing: Promise<void> | undefined;
  /** Read-back closes of states replaced by an assignment again (see onAssigned): close() waits for them. */
  readonly #replaced = new Set<Promise<void>>();

  constructor(transport: Transport, options: ResolvedOptions, producer: TransportProducer | undefined) {
    this.#transport = transport;
    this.#o = options;
    this.queue = options.queue;
    this.markersTopic = options.markersTopic;
    this.groupId = options.groupId;
    this.#logger = options.logger.child({ queue: options.queue, markersTopic: options.markersTopic, groupId: options.groupId });
    this.#backoff = new Backoff(options.retry);
    // One producer for redeliveries and end markers.
    const shared =
      producer ??
      transport.producer({ logger: this.#logger, ...(options.clientId !== undefined ? { clientId: options.clientId } : {}) });
    this.#ownedProducer = producer === undefined ? shared : undefined;
    this.#sender = createMessageSender(transport, { producer: shared, logger: this.#logger });
    this.#markers = createMarkerProducer(transport, {
      markersTopic: options.markersTopic,
      producer: shared,
      clock: options.clock,
      logger: this.#logger,
    });
  }

  start(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new TributaryError('ERR_CLOSED', 'redeliverer is closed: start() is not allowed'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#o;
    if (o.checkTopics) await checkQueueTopics(this.#transport, o.queue, o.markersTopic, 'Redeliverer');
    const consumer = this.#transport.groupConsumer({
      groupId: o.groupId,
      topics: [o.markersTopic],
      fromBeginning: true,
      logger: this.#logger,
      ...consumerTuning(o),
    });
    this.#consumer = consumer;
    await consumer.run(this.#handlers());
    this.#lastCommitAt = performance.now();
    this.#loop = this.#run(this.#stop.signal);
    this.#logger.info('redeliverer started');
  }

  assignment(): number[] {
    return [...this.#partitions.keys()].sort((a, b) => a - b);
  }

  metrics(): RedelivererMetrics {
    let open = 0;
    for (const state of this.#partitions.values()) open += state.tracker.size;
    return { ...this.#counters, open };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stop.abort();
    await this.#starting?.catch(noop);
    // As a revocation: read-backs in progress end, sends in progress finish.
    for (const state of this.#partitions.values()) this.#giveUp(state);
    await this.#loop;
    await this.#checking;
    // End markers of finished redeliveries first, so the commits on revocation can pass them.
    await this.#markers.flush();
    await this.#consumer?.close();
    for (const state of this.#partitions.values()) await closeReaders(state);
    await Promise.all(this.#replaced);
    this.#partitions.clear();
    await this.#markers.close();
    await this.#sender.close();
    await this.#ownedProducer?.close();
    this.#logger.info('redeliverer closed');
  }

  // --- markers consumption ---

  #handlers(): ConsumerHandlers {
    return {
      onBatch: async (batch) => {
        const state = this.#partitions.get(batch.partition);
        if (state === undefined || batch.topic !== this.markersTopic) return;
        const { signal } = batch;
        if (signal !== undefined && state.signal !== signal) {
          // One listener per assignment: every batch of it carries the same signal.
          state.signal = signal;
          if (signal.aborted) this.#giveUp(state);
          else signal.addEventListener('abort', () => this.#giveUp(state), { once: true });
        }
        if (state.givenUp) return;
        state.tracker.applyBatch(batch, this.#o.clock(), (record, reason) => {
          this.#logger.debug({ partition: record.partition, offset: record.offset, key: record.key, reason }, 'marker skipped');
        });
        this.#counters.markers += batch.messages.length;
      },
      onAssigned: (partitions: readonly TopicPartition[]) => {
        for (const tp of partitions) {
          if (tp.topic !== this.markersTopic) continue;
          const existing = this.#partitions.get(tp.partition);
          // Replaced when the previous assignment was being given up (its
          // batch signal aborted) and the transport assigned the partition
          // again without its onRevoked (after a rebalance timeout): a given-up
          // state would drop every marker of the new assignment, so its open
          // messages would never be redelivered. Kept otherwise (and while
          // closing, which gives every state up).
          if (existing !== undefined && !(existing.givenUp && this.#closing === undefined)) continue;
          // Its read-backs were ended when it was given up; close() still waits for them.
          if (existing !== undefined) this.#trackReplaced(closeReaders(existing));
          this.#partitions.set(tp.partition, {
            tracker: new RedeliveryTracker(tp.partition),
            readers: new Map(),
            closing: new Set(),
            committed: undefined,
            signal: undefined,
            givenUp: false,
            work: Promise.resolve(),
          });
        }
        this.#logger.info({ partitions: partitions.map((tp) => tp.partition) }, 'markers partitions assigned');
      },
      onRevoked: async (partitions: readonly TopicPartition[]) => {
        // No new check touches these partitions; their part of the check in progress ends (given up when the
        // revocation began: read-backs end, sends finish), then they are committed before they move.
        const states = partitions.flatMap((tp) => {
          const state = tp.topic === this.markersTopic ? this.#partitions.get(tp.partition) : undefined;
          // Taken out now, before any await: a partition assigned again while
          // this revocation runs on (past the transport's rebalance timeout)
          // gets a fresh state that nothing below touches.
          if (state !== undefined) this.#partitions.delete(tp.partition);
          return state === undefined ? [] : [state];
        });
        for (const state of states) this.#giveUp(state); // a transport without batch signals
        await Promise.all(states.map((state) => state.work));
        await this.#markers.flush();
        await this.#commit(states);
        for (const state of states) await closeReaders(state);
        this.#logger.info({ partitions: partitions.map((tp) => tp.partition) }, 'markers partitions revoked');
      },
      onError: (error) => this.#logger.warn({ err: error }, `markers consumer: ${error.message}`),
    };
  }

  // --- the check loop ---

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(this.#o.checkIntervalMs, signal);
      } catch {
        return;
      }
      const check = this.#check();
      this.#checking = check;
      await check;
    }
  }

  /** One deadline check over every owned partition; never rejects. */
  async #check(): Promise<void> {
    try {
      const states = [...this.#partitions.values()].filter((state) => !state.givenUp);
      await Promise.all(
        states.map((state) => {
          const work = this.#redeliverDue(state);
          state.work = work.catch(noop);
          return work;
        }),
      );
      await this.#closeIdleReaders(states);
      if (performance.now() - this.#lastCommitAt >= this.#o.commitIntervalMs) {
        this.#lastCommitAt = performance.now();
        // Partitions given up meanwhile are committed by their revocation.
        await this.#commit(states.filter((state) => !state.givenUp));
      }
    } catch (err) {
      this.#logger.error({ err }, `redelivery check failed: ${errorMessage(err)}`);
    }
    this.#counters.checks++;
  }

  async #redeliverDue(state: PartitionState): Promise<void> {
    const { tracker } = state;
    const due = tracker.due(this.#now(tracker), this.#o.maxPerCheck);
    if (due.length === 0) return;
    const byPartition = new Map<number, OpenMessage[]>();
    for (const m of due) {
      const list = byPartition.get(m.partition);
      if (list === undefined) byPartition.set(m.partition, [m]);
      else list.push(m);
    }
    for (const [partition, messages] of byPartition) {
      if (state.givenUp) return;
      await this.#redeliver(state, partition, messages);
    }
  }

  async #redeliver(state: PartitionState, partition: number, due: readonly OpenMessage[]): Promise<void> {
    const { tracker } = state;
    let read: ReadResult;
    try {
      read = await this.#reader(state, partition).read(
        due.map((m) => m.offset),
        this.#o.readTimeoutMs,
      );
    } catch (err) {
      // A read ended by the revocation is no failure: the messages stay open for the next owner.
      if (state.givenUp) return;
      for (const m of due) this.#failed(tracker, m, err);
      return;
    }
    // Given up while reading: the next owner redelivers them (they stay open, so the commit stays below them).
    if (state.givenUp) return;
    // Markers read meanwhile may have ended or kept alive some of them.
    const now = this.#now(tracker);
    const pending: Pending[] = [];
    for (const m of due) {
      if (!tracker.isDue(m, now)) continue;
      const message = read.found.get(m.offset);
      if (message === undefined) {
        this.#counters.missing++;
        this.#logger.warn({ partition: m.partition, offset: m.offset }, 'due message is no longer in the queue log: ended without redelivery');
        this.#end(tracker, m);
        continue;
      }
      pending.push(this.#plan(m, message));
    }
    if (pending.length === 0) return;
    let results: SendResult[];
    try {
      results = await this.#sender.sendBatch(pending.map((p) => p.record));
    } catch (err) {
      for (const p of pending) this.#failed(tracker, p.open, err);
      return;
    }
    pending.forEach((p, i) => {
      const result = results[i];
      if (result === undefined || !result.ok) {
        this.#failed(tracker, p.open, result?.error ?? new TributaryError('ERR_PRODUCE', 'the transport returned no result'));
        return;
      }
      if (p.deadLetter) this.#counters.deadLettered++;
      else this.#counters.redelivered++;
      this.#logger.info(
        { partition: p.open.partition, offset: p.open.offset, to: `${result.topic}/${result.partition}@${result.offset}` },
        p.deadLetter ? 'message dead-lettered' : 'message redelivered',
      );
      this.#end(tracker, p.open);
    });
  }

  /** The redelivered copy, or the dead-letter record once the redeliveries are used up. */
  #plan(open: OpenMessage, message: Message): Pending {
    const count = redeliveryCountOf(message.headers);
    if (count < this.#o.maxRedeliveries) {
      const record: QueueMessage = {
        queue: this.queue,
        payload: message.value,
        key: message.key,
        partition: message.partition,
        headers: { ...message.headers, [MqHeaders.redeliveryCount]: String(count + 1) },
      };
      return { open, record, deadLetter: false };
    }
    const context = { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key };
    const reason = new RetriesExhaustedError(
      count + 1,
      new TributaryError('ERR_TIMEOUT', `not processed within the redelivery timeout, ${count} redeliveries already made`, { context }),
      context,
    );
    const dlq = deadLetterRecord(message, { topic: this.#o.deadLetterTopic(message), reason, attempts: count + 1, handler: 'mq-markers redeliverer' });
    const record: QueueMessage = { queue: dlq.topic, payload: dlq.value, key: dlq.key ?? null, headers: dlq.headers ?? {} };
    return { open, record, deadLetter: true };
  }

  /** Closes the message here and writes its end marker (not awaited: a lost end marker only repeats a redelivery after a restart). */
  #end(tracker: RedeliveryTracker, open: OpenMessage): void {
    tracker.close(open);
    this.#markers.sendEnd(open).catch((err: unknown) => {
      this.#logger.warn({ err, partition: open.partition, offset: open.offset }, `end marker after redelivery failed: ${errorMessage(err)}`);
    });
  }

  #failed(tracker: RedeliveryTracker, open: OpenMessage, err: unknown): void {
    if (!tracker.isOpen(open)) return;
    open.failures++;
    this.#counters.failures++;
    if (!this.#backoff.canRetry(open.failures)) {
      this.#counters.givenUp++;
      this.#logger.error({ err, partition: open.partition, offset: open.offset, attempts: open.failures }, 'redelivery given up');
      this.#end(tracker, open);
      return;
    }
    const delay = this.#backoff.delayFor(open.failures);
    this.#logger.warn({ err, partition: open.partition, offset: open.offset, retryInMs: delay }, `redelivery failed: ${errorMessage(err)}`);
    tracker.postpone(open, this.#o.clock() + delay);
  }

  /**
   * The revocation of `state`'s markers partition (or the close) began: no
   * read-back or redelivery starts for it any more, and a read-back in
   * progress ends now instead of running up to `readTimeoutMs` — its
   * messages stay open, so the committed offset stays below them and the
   * next owner redelivers them. A redelivery already being sent finishes
   * (the revocation waits for `state.work`), so its end marker is written.
   */
  #giveUp(state: PartitionState): void {
    if (state.givenUp) return;
    state.givenUp = true;
    void closeReaders(state);
  }

  #trackReplaced(closing: Promise<void>): void {
    this.#replaced.add(closing);
    void closing.finally(() => this.#replaced.delete(closing));
  }

  #now(tracker: RedeliveryTracker): number {
    return tracker.effectiveNow(this.#o.clock(), Math.max(2 * this.#o.checkIntervalMs, 1000));
  }

  #reader(state: PartitionState, partition: number): OffsetReader {
    let reader = state.readers.get(partition);
    if (reader === undefined) {
      reader = new OffsetReader(this.#transport, this.queue, partition, {
        logger: this.#logger,
        ...(this.#o.clientId !== undefined ? { clientId: this.#o.clientId } : {}),
      });
      state.readers.set(partition, reader);
    }
    return reader;
  }

  async #closeIdleReaders(states: readonly PartitionState[]): Promise<void> {
    const now = performance.now();
    for (const state of states) {
      for (const [partition, reader] of state.readers) {
        if (now - reader.lastUsedAt < this.#o.readerIdleMs) continue;
        state.readers.delete(partition);
        await closeReader(state, reader);
      }
    }
  }

  async #commit(states: readonly PartitionState[]): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    const offsets: TopicPartitionOffset[] = [];
    const committing: Array<[PartitionState, number]> = [];
    for (const state of states) {
      const offset = state.tracker.commitOffset();
      if (offset === undefined || offset === state.committed) continue;
      offsets.push({ topic: this.markersTopic, partition: state.tracker.markersPartition, offset });
      committing.push([state, offset]);
    }
    if (offsets.length === 0) return;
    try {
      await consumer.commit(offsets);
      for (const [state, offset] of committing) state.committed = offset;
      this.#counters.commits++;
    } catch (err) {
      this.#logger.warn({ err, offsets }, `committing markers offsets failed: ${errorMessage(err)}`);
    }
  }
}

/**
 * Closes one read-back consumer already taken out of `state.readers`,
 * tracked in `state.closing` until it is closed. Never rejects: the reader
 * is dropped either way.
 */
function closeReader(state: PartitionState, reader: OffsetReader): Promise<void> {
  const closing: Promise<void> = reader
    .close()
    .then(noop, noop)
    .finally(() => state.closing.delete(closing));
  state.closing.add(closing);
  return closing;
}

/**
 * Closes `state`'s read-back consumers. Resolves once they are closed —
 * including those whose close began earlier (`#giveUp` does not wait for
 * it), so a revocation or close never finishes while one is still
 * disconnecting. Never rejects.
 */
function closeReaders(state: PartitionState): Promise<void> {
  for (const reader of state.readers.values()) void closeReader(state, reader);
  state.readers.clear();
  return Promise.all(state.closing).then(noop);
}

/**
 * Creates a redeliverer. Options are validated once (every problem in one
 * ConfigError) and frozen; nothing connects until `start()`.
 */
export function createRedeliverer(transport: Transport, options: RedelivererOptions): Redeliverer {
  const check = new ConfigCheck('Redeliverer');
  checkFactoryArguments(check, transport, options);
  const shared = resolveQueueConsumerOptions(options, REDELIVERER_DEFAULTS);
  const dlq = options.deadLetterTopic;
  const resolved: ResolvedOptions = {
    ...shared,
    groupId: options.groupId ?? defaultRedelivererGroup(shared.markersTopic),
    maxRedeliveries: options.maxRedeliveries ?? REDELIVERER_DEFAULTS.maxRedeliveries,
    deadLetterTopic: typeof dlq === 'function' ? dlq : typeof dlq === 'string' ? () => dlq : defaultDeadLetterTopic,
    checkIntervalMs: options.checkIntervalMs ?? REDELIVERER_DEFAULTS.checkIntervalMs,
    commitIntervalMs: options.commitIntervalMs ?? REDELIVERER_DEFAULTS.commitIntervalMs,
    readTimeoutMs: options.readTimeoutMs ?? REDELIVERER_DEFAULTS.readTimeoutMs,
    maxPerCheck: options.maxPerCheck ?? REDELIVERER_DEFAULTS.maxPerCheck,
    retry: { ...(options.retry ?? REDELIVERER_DEFAULTS.retry) },
    readerIdleMs: options.readerIdleMs ?? REDELIVERER_DEFAULTS.readerIdleMs,
  };
  check
    .nonEmptyString(resolved.queue, 'queue')
    .nonEmptyString(resolved.markersTopic, 'markersTopic')
    .check(resolved.markersTopic !== resolved.queue, 'markersTopic', 'must differ from queue')
    .nonEmptyString(resolved.groupId, 'groupId')
    .integer(resolved.maxRedeliveries, 'maxRedeliveries', 0)
    .check(dlq === undefined || typeof dlq === 'function' || (typeof dlq === 'string' && dlq.length > 0), 'deadLetterTopic', 'must be a non-empty string or a function')
    .integer(resolved.checkIntervalMs, 'checkIntervalMs', 1, MAX_DELAY_MS)
    .integer(resolved.commitIntervalMs, 'commitIntervalMs', 0, MAX_DELAY_MS)
    .integer(resolved.readTimeoutMs, 'readTimeoutMs', 1, MAX_DELAY_MS)
    .integer(resolved.maxPerCheck, 'maxPerCheck', 1)
    .integer(resolved.readerIdleMs, 'readerIdleMs', 0, MAX_DELAY_MS);
  checkQueueConsumerOptions(check, resolved, options.producer, { field: 'retry', options: options.retry });
  check.throwIfInvalid();
  return new TransportRedeliverer(transport, freezeOptions(resolved), options.producer);
}
