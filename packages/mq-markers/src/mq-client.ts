/**
 * The queue client (seed 002's MqClient): pull messages one at a time,
 * acknowledge each one on its own, out of order, from anywhere.
 */
import {
  ConfigCheck,
  MAX_DELAY_MS,
  TributaryError,
  errorMessage,
  freezeOptions,
  isPermanentError,
  retryWithBackoff,
  type BackoffOptions,
  type ConsumerHandlers,
  type GroupConsumer,
  type Logger,
  type Message,
  type TopicPartition,
  type TopicPartitionOffset,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import type { Clock } from './clock';
import { isReconnectRequired } from './error-classifiers';
import { MessageBuffer } from './message-buffer';
import { createMarkerProducer, type MarkerProducer } from './marker-producer';
import { checkFactoryArguments, checkQueueConsumerOptions, consumerTuning, resolveQueueConsumerOptions, type ResolvedQueueConsumerOptions } from './queue-consumer-options';
import { checkQueueTopics, defaultClientGroup } from './queue-topics';

/**
 * Options of {@link createMqClient}.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `queue` | required | the queue topic |
 * | `markersTopic` | `<queue>.markers` | where markers go; needs at least the queue's partitions |
 * | `groupId` | `<queue>.mq` | consumer group of the queue's clients (they share the partitions) |
 * | `redeliveryTimeoutMs` | 30 000 | a message not ended (or kept alive) this long after its start marker is redelivered |
 * | `maxMessagesPerCommit` | 500 | chunk size: start markers written in one call; at most this many handed-out messages are ever uncommitted |
 * | `maxChunksAhead` | 2 | chunks marked and committed in the background while the current one is handed out (0: only on demand) |
 * | `maxBufferedMessages` | 1000 | fetched messages held before the consumer waits (backpressure) |
 * | `maxBatchRecords` | transport default | most records per fetched batch |
 * | `fromBeginning` | true | where a group without a committed offset starts |
 * | `commitRetry` | 3 attempts, 100 ms → 1 s | retry of a failed offset commit before the client needs a reset |
 * | `checkTopics` | true | check at connect that the markers topic has enough partitions |
 * | `producer` | one from the transport | producer for markers (shared: `close()` leaves it open) |
 * | `clientId` | transport default | client id of the consumer and producer |
 * | `clock` | `Date.now` | time for marker deadlines |
 * | `rebalanceTimeoutMs` | transport default | passed to the group consumer |
 * | `logger` | silent | |
 */
export interface MqClientOptions {
  readonly queue: string;
  readonly markersTopic?: string;
  readonly groupId?: string;
  readonly redeliveryTimeoutMs?: number;
  readonly maxMessagesPerCommit?: number;
  readonly maxChunksAhead?: number;
  readonly maxBufferedMessages?: number;
  readonly maxBatchRecords?: number;
  readonly fromBeginning?: boolean;
  readonly commitRetry?: BackoffOptions;
  readonly checkTopics?: boolean;
  readonly producer?: TransportProducer;
  readonly clientId?: string;
  readonly clock?: Clock;
  readonly rebalanceTimeoutMs?: number;
  readonly logger?: Logger;
}

/** Defaults of {@link MqClientOptions}. */
export const MQ_CLIENT_DEFAULTS = Object.freeze({
  redeliveryTimeoutMs: 30_000,
  maxMessagesPerCommit: 500,
  maxChunksAhead: 2,
  maxBufferedMessages: 1000,
  fromBeginning: true,
  checkTopics: true,
  commitRetry: Object.freeze({ maxAttempts: 3, initialMs: 100, maxMs: 1000 }),
});

/**
 * A queue client.
 *
 * `nextMessage` takes the next message. Fetched messages are taken in
 * chunks of up to `maxMessagesPerCommit`; a chunk's start markers are written
 * in one call and its messages are handed out only once those markers are
 * acknowledged — so every message handed out has a durable start marker and
 * the redeliverer re-sends it unless it is ended in time. A chunk's offsets
 * are committed once its markers are acknowledged and the chunk before it is
 * committed (commits stay in order and never pass a message without a durable
 * start marker), and a chunk is handed out only after the chunk before it is
 * committed: at most `maxMessagesPerCommit` handed-out messages are ever
 * uncommitted. The next `maxChunksAhead` chunks are marked in the background
 * while one is handed out, so most calls return without I/O.
 *
 * The caller then processes the message and calls `processed` (end marker),
 * optionally `processingInProgress` before (keep-alive marker). Both may be
 * called at any time, out of order, for any message of the queue — also from
 * another client or process. A message that should be retried is simply not
 * ended: it comes back after the redelivery timeout.
 *
 * Concurrency: `nextMessage` calls are served one at a time in call order;
 * `processed` and `processingInProgress` may run concurrently with anything.
 */
export interface MqClient {
  readonly queue: string;
  readonly markersTopic: string;
  readonly groupId: string;
  /** Checks the topics and joins the group; `nextMessage` does this on first use. */
  connect(): Promise<void>;
  /**
   * The next message, or `null` when none arrived within `timeoutMs` (or the
   * client was closed while waiting). The timeout bounds the wait for a
   * message to be fetched, not the start-marker write and commit that follow.
   *
   * Rejects with ERR_CLOSED after `close()`; with ERR_STATE while
   * `needsReset()` or `needsReconnect()` is true; with the failure (ERR_PRODUCE,
   * ERR_UNKNOWN_TOPIC, RetriesExhaustedError for a commit, …) when writing the
   * start markers or committing failed — the client then needs a reset. The
   * start markers and commits of chunks run in the background, so the failure
   * may surface on a later call, as the `cause` of an ERR_STATE.
   */
  nextMessage(timeoutMs: number): Promise<Message | null>;
  /** Sends a keep-alive marker: the message's redelivery deadline moves to now + `redeliveryTimeoutMs`. */
  processingInProgress(message: Message): Promise<void>;
  /** Sends the end marker: the message will not be redelivered (once the redeliverer has read the marker). */
  processed(message: Message): Promise<void>;
  /**
   * True when the consumer's position, its committed offsets and the markers
   * written disagree — writing start markers or committing failed — so
   * messages past the committed offset were fetched but cannot be handed out.
   * Call `reset()`.
   */
  needsReset(): boolean;
  /**
   * Goes back to the last committed offset of every owned partition: fetched
   * messages not yet handed out are dropped and read again, and the next start
   * marker written is for the first of them. Messages of chunks whose markers
   * were acknowledged and whose offsets were committed are kept and handed out
   * first.
   */
  reset(): Promise<void>;
  /** True when the underlying consumer failed in a way only a new one fixes (see `isReconnectRequired`). */
  needsReconnect(): boolean;
  /** Closes the group consumer and joins again with a new one (from the committed offsets). Clears `needsReset` too. */
  reconnect(): Promise<void>;
  /**
   * Leaves the group, flushes pending markers and closes what the client
   * created. A pending `nextMessage` resolves with `null`. Messages that were
   * marked but not yet handed out (at most `(1 + maxChunksAhead) ×
   * maxMessagesPerCommit`) are redelivered after the timeout.
   * Idempotent.
   */
  close(): Promise<void>;
}

interface ResolvedOptions extends ResolvedQueueConsumerOptions {
  readonly groupId: string;
  readonly redeliveryTimeoutMs: number;
  readonly maxMessagesPerCommit: number;
  readonly maxChunksAhead: number;
  readonly maxBufferedMessages: number;
  readonly fromBeginning: boolean;
  readonly commitRetry: BackoffOptions;
}

/** Messages whose start markers are written together. */
interface Chunk {
  readonly messages: Message[];
  /** Redelivery deadline of their markers (approximately: taken just before the start markers were written; moved by refreshes). */
  deadline: number;
  /** The consumer that fetched them (their offsets are committed through it). */
  readonly session: Session | undefined;
  /** Settles when the chunk may be handed out: its start markers are acknowledged and the chunk before it is committed. */
  handable: Promise<void>;
  /** Settles when the offsets past the chunk are committed, or rejects when its markers or a commit failed. */
  readonly committed: Promise<void>;
  resolveCommitted(): void;
  rejectCommitted(error: unknown): void;
  /** Its start markers are acknowledged. */
  marked: boolean;
  /** Its markers or a commit failed: its messages are read again after a reset. */
  failed: boolean;
}

/** One group consumer and what belongs to it; replaced by `reconnect()`. */
interface Session {
  readonly consumer: GroupConsumer;
  alive: boolean;
  /** Committed offset (next to read) per owned partition: set by the first batch after assignment, then by each commit. */
  readonly committed: Map<number, number>;
  /** The batch signal each owned partition follows (one per assignment). */
  readonly signals: Map<number, AbortSignal>;
}

const noop = (): void => undefined;

class TransportMqClient implements MqClient {
  readonly queue: string;
  readonly markersTopic: string;
  readonly groupId: string;
  readonly #transport: Transport;
  readonly #o: ResolvedOptions;
  readonly #logger: Logger;
  readonly #markers: MarkerProducer;
  readonly #buffer: MessageBuffer;
  #session: Session | undefined;
  #connecting: Promise<void> | undefined;
  /** The newest chunk: its commit settles after every earlier one (revocation, reset and close wait for it). */
  #lastChunk: Chunk | undefined;
  /** Chunks being marked (or marked) ahead of the one handed out, in order. */
  #chunks: Chunk[] = [];
  /** Chunks not yet committed, in order (a prefix of them may be in the commit in flight). */
  #uncommitted: Chunk[] = [];
  /** The commit in flight: one at a time, so commits apply in order. */
  #commitInFlight: Promise<void> | undefined;
  /** The chunk being handed out. */
  #current: Chunk | undefined;
  /** Its messages not yet handed out, in order. */
  #ready: Array<Message | undefined> = [];
  #readyHead = 0;
  /** Earliest deadline of the messages held (marked, not handed out): they are kept alive before it comes close. */
  #heldDeadline = Number.POSITIVE_INFINITY;
  /** nextMessage calls queued or running. */
  #calls = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #tainted: unknown;
  #isTainted = false;
  #reconnectNeeded = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(transport: Transport, options: ResolvedOptions, producer: TransportProducer | undefined) {
    this.#transport = transport;
    this.#o = options;
    this.queue = options.queue;
    this.markersTopic = options.markersTopic;
    this.groupId = options.groupId;
    this.#logger = options.logger.child({ queue: options.queue, groupId: options.groupId });
    this.#buffer = new MessageBuffer(options.maxBufferedMessages);
    this.#markers = createMarkerProducer(transport, {
      markersTopic: options.markersTopic,
      clock: options.clock,
      logger: this.#logger,
      ...(producer !== undefined ? { producer } : {}),
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    });
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError('connect()'));
    if (this.#connecting === undefined) {
      const connecting = this.#connect();
      this.#connecting = connecting;
      // A failed connect may be retried by the next call.
      connecting.catch(() => {
        if (this.#connecting === connecting) this.#connecting = undefined;
      });
    }
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    if (this.#o.checkTopics) await checkQueueTopics(this.#transport, this.queue, this.markersTopic, 'MqClient');
    if (this.#closed) throw this.#closedError('connect()');
    await this.#startSession();
  }

  nextMessage(timeoutMs: number): Promise<Message | null> {
    if (this.#closed) return Promise.reject(this.#closedError('nextMessage()'));
    if (!(typeof timeoutMs === 'number' && timeoutMs >= 0 && timeoutMs <= MAX_DELAY_MS)) {
      return Promise.reject(new TributaryError('ERR_CONFIG', `nextMessage: timeoutMs must be a number between 0 and ${MAX_DELAY_MS} (got ${String(timeoutMs)})`));
    }
    // Fast path: a marked message is ready and nobody is queued before us.
    if (this.#calls === 0 && this.#readyHead < this.#ready.length && !this.#isTainted && !this.#reconnectNeeded) {
      return Promise.resolve(this.#handOut());
    }
    this.#calls++;
    const run = this.#tail.then(() => this.#next(timeoutMs)).finally(() => this.#calls--);
    this.#tail = run.catch(noop);
    return run;
  }

  async #next(timeoutMs: number): Promise<Message | null> {
    if (this.#closed) return null;
    this.#ensureUsable();
    if (this.#readyHead < this.#ready.length) return this.#handOut();
    await this.connect();
    if (this.#chunks.length === 0) {
      if (this.#buffer.size === 0) await this.#buffer.waitForData(timeoutMs);
      if (this.#closed) return null;
      this.#ensureUsable();
      this.#prepare(Math.max(1, this.#o.maxChunksAhead));
    }
    const chunk = this.#chunks[0];
    if (chunk === undefined) return null;
    try {
      await chunk.handable;
    } finally {
      if (this.#chunks[0] === chunk) this.#chunks.shift();
    }
    // Closed meanwhile: the chunk stays unhanded (its messages are redelivered after the timeout).
    if (this.#closed) return null;
    this.#current = chunk;
    this.#ready = chunk.messages;
    this.#readyHead = 0;
    this.#prepare(this.#o.maxChunksAhead);
    return this.#handOut();
  }

  /**
   * Pipelining: takes chunks from the buffer until `target` are being marked
   * ahead of the one handed out, and starts writing their start markers (the
   * markers of several chunks may be in flight at once).
   *
   * Commits: one at a time, each covering the chunks whose start markers are
   * acknowledged, from the oldest uncommitted chunk up to the first one not
   * yet acknowledged — so commits apply in order and never pass a message
   * without a durable start marker, and a slow commit is followed by one that
   * covers everything acknowledged meanwhile. A chunk is handed out only once
   * the chunk before it is committed: at most one chunk (≤
   * maxMessagesPerCommit messages) is ever handed out past the committed
   * offsets.
   */
  #prepare(target: number): void {
    while (this.#chunks.length < target && this.#buffer.size > 0 && !this.#closed && !this.#isTainted && !this.#reconnectNeeded) {
      const previous = this.#lastChunk?.committed;
      let resolveCommitted!: () => void;
      let rejectCommitted!: (error: unknown) => void;
      const committed = new Promise<void>((resolve, reject) => {
        resolveCommitted = resolve;
        rejectCommitted = reject;
      });
      const chunk: Chunk = {
        messages: this.#buffer.take(this.#o.maxMessagesPerCommit),
        deadline: this.#o.clock() + this.#o.redeliveryTimeoutMs,
        session: this.#session,
        handable: Promise.resolve(),
        committed,
        resolveCommitted,
        rejectCommitted,
        marked: false,
        failed: false,
      };
      committed.catch(() => (chunk.failed = true));
      const marked = this.#markers.sendStarts(chunk.messages, this.#o.redeliveryTimeoutMs).then(
        () => {
          chunk.marked = true;
          this.#pumpCommits();
        },
        (err: unknown) => {
          this.#taint(err, 'writing start markers failed');
          this.#failFrom(chunk, err);
          throw err;
        },
      );
      // The failure reaches the nextMessage call that waits for the chunk; the client is tainted at once.
      chunk.handable = afterBoth(marked, previous);
      chunk.handable.catch(noop);
      this.#chunks.push(chunk);
      this.#uncommitted.push(chunk);
      this.#lastChunk = chunk;
      this.#heldDeadline = Math.min(this.#heldDeadline, chunk.deadline);
    }
  }

  /** Starts a commit of the acknowledged prefix of the uncommitted chunks, unless one is in flight. */
  #pumpCommits(): void {
    if (this.#commitInFlight !== undefined) return;
    const batch: Chunk[] = [];
    for (const chunk of this.#uncommitted) {
      if (!chunk.marked) break;
      batch.push(chunk);
    }
    if (batch.length === 0) return;
    this.#commitInFlight = this.#commit(batch).finally(() => {
      this.#commitInFlight = undefined;
      this.#pumpCommits();
    });
  }

  async #commit(batch: readonly Chunk[]): Promise<void> {
    const session = batch[0]?.session;
    const offsets = nextOffsets(this.queue, batch);
    try {
      if (session === undefined || !session.alive || batch.some((c) => c.session !== session)) {
        throw new TributaryError('ERR_STATE', 'the consumer was replaced while the start markers were written');
      }
      await retryWithBackoff(() => session.consumer.commit(offsets), {
        ...this.#o.commitRetry,
        shouldRetry: (err) => !isPermanentError(err) && !isReconnectRequired(err),
      });
    } catch (err) {
      if (isReconnectRequired(err)) this.#reconnectNeeded = true;
      this.#taint(err, 'committing queue offsets failed');
      this.#failFrom(batch[0] as Chunk, err);
      return;
    }
    for (const o of offsets) session.committed.set(o.partition, o.offset);
    this.#uncommitted.splice(0, batch.length);
    for (const chunk of batch) chunk.resolveCommitted();
  }

  /** Fails `chunk` and every uncommitted chunk after it: none of them may ever commit. */
  #failFrom(chunk: Chunk, err: unknown): void {
    const at = this.#uncommitted.indexOf(chunk);
    if (at < 0) return;
    const failed = this.#uncommitted.splice(at);
    failed.forEach((c, i) => c.rejectCommitted(i === 0 ? err : new TributaryError('ERR_STATE', 'an earlier chunk of start markers or its commit failed', { cause: err })));
  }

  #handOut(): Message {
    // Messages held in this client since their start markers were written are
    // kept alive while it is active (calling nextMessage); one that stops
    // calling lets them expire, so they are redelivered to another client.
    const now = this.#o.clock();
    if (this.#heldDeadline - now < this.#o.redeliveryTimeoutMs / 2) this.#refreshHeld(now);
    const message = this.#ready[this.#readyHead] as Message;
    this.#ready[this.#readyHead++] = undefined;
    if (this.#readyHead === this.#ready.length) {
      this.#ready = [];
      this.#readyHead = 0;
    }
    if (this.#chunks.length < this.#o.maxChunksAhead) this.#prepare(this.#o.maxChunksAhead);
    return message;
  }

  /**
   * Sends keep-alives for every held message whose chunk has less than half
   * its timeout left — the rest of the chunk being handed out (the message
   * about to be handed out included) and the chunks marked ahead. Each is
   * sent before anything the caller can send for the message, so it never
   * lands after the message's end marker.
   */
  #refreshHeld(now: number): void {
    const half = this.#o.redeliveryTimeoutMs / 2;
    const deadline = now + this.#o.redeliveryTimeoutMs;
    const due: Message[] = [];
    const current = this.#current;
    if (current !== undefined && this.#readyHead < this.#ready.length && current.deadline - now < half) {
      for (let i = this.#readyHead; i < this.#ready.length; i++) due.push(this.#ready[i] as Message);
      current.deadline = deadline;
    }
    for (const chunk of this.#chunks) {
      if (chunk.deadline - now >= half) continue;
      due.push(...chunk.messages);
      chunk.deadline = deadline;
    }
    for (const message of due) {
      this.#markers.sendKeepAlive(message, this.#o.redeliveryTimeoutMs).catch((err: unknown) => {
        this.#logger.warn({ err, partition: message.partition, offset: message.offset }, 'keep-alive of a held message failed');
      });
    }
    this.#recomputeHeld();
  }

  #recomputeHeld(): void {
    let earliest = Number.POSITIVE_INFINITY;
    if (this.#current !== undefined && this.#readyHead < this.#ready.length) earliest = this.#current.deadline;
    for (const chunk of this.#chunks) earliest = Math.min(earliest, chunk.deadline);
    this.#heldDeadline = earliest;
  }

  processingInProgress(message: Message): Promise<void> {
    const problem = this.#checkMessage(message, 'processingInProgress()');
    if (problem !== undefined) return Promise.reject(problem);
    return this.#markers.sendKeepAlive(message, this.#o.redeliveryTimeoutMs);
  }

  processed(message: Message): Promise<void> {
    const problem = this.#checkMessage(message, 'processed()');
    if (problem !== undefined) return Promise.reject(problem);
    return this.#markers.sendEnd(message);
  }

  needsReset(): boolean {
    return this.#isTainted;
  }

  async reset(): Promise<void> {
    if (this.#closed) throw this.#closedError('reset()');
    await this.#settled();
    this.#dropFailedChunks();
    this.#buffer.clear();
    const session = this.#session;
    if (session !== undefined && session.alive) {
      for (const tp of session.consumer.assignment()) {
        if (tp.topic !== this.queue) continue;
        const committed = session.committed.get(tp.partition);
        if (committed !== undefined) session.consumer.seek({ topic: tp.topic, partition: tp.partition, offset: committed });
      }
    }
    this.#isTainted = false;
    this.#tainted = undefined;
    this.#logger.info('reset to the committed offsets');
  }

  needsReconnect(): boolean {
    return this.#reconnectNeeded;
  }

  async reconnect(): Promise<void> {
    if (this.#closed) throw this.#closedError('reconnect()');
    await this.#settled();
    this.#dropFailedChunks();
    await this.#endSession();
    this.#connecting = undefined;
    this.#reconnectNeeded = false;
    this.#isTainted = false;
    this.#tainted = undefined;
    if (this.#closed) throw this.#closedError('reconnect()');
    this.#connecting = this.#startSession();
    try {
      await this.#connecting;
    } catch (err) {
      this.#connecting = undefined;
      throw err;
    }
    this.#logger.info('reconnected');
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#buffer.release();
    await this.#connecting?.catch(noop);
    await this.#settled();
    await this.#endSession();
    await this.#markers.close();
  }

  // --- sessions ---

  async #startSession(): Promise<void> {
    const o = this.#o;
    const consumer = this.#transport.groupConsumer({
      groupId: o.groupId,
      topics: [o.queue],
      fromBeginning: o.fromBeginning,
      logger: this.#logger,
      ...consumerTuning(o),
    });
    const session: Session = { consumer, alive: true, committed: new Map(), signals: new Map() };
    this.#session = session;
    try {
      await consumer.run(this.#handlers(session));
    } catch (err) {
      session.alive = false;
      if (this.#session === session) this.#session = undefined;
      if (isReconnectRequired(err)) this.#reconnectNeeded = true;
      await consumer.close().catch(noop);
      throw err;
    }
  }

  async #endSession(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    session.alive = false;
    this.#session = undefined;
    // Wakes a consumer waiting for room; its batch is dropped (it was not committed).
    this.#buffer.clear();
    try {
      await session.consumer.close();
    } catch (err) {
      this.#logger.warn({ err }, `closing the group consumer failed: ${errorMessage(err)}`);
    }
  }

  #handlers(session: Session): ConsumerHandlers {
    return {
      onBatch: async (batch) => {
        if (!session.alive || this.#closed) return;
        const { signal } = batch;
        // The partition is being given up: its messages are the next owner's (none of them was marked or committed here).
        if (signal?.aborted === true) return;
        if (signal !== undefined) this.#followAssignment(session, batch.partition, signal);
        const first = batch.messages[0];
        if (first !== undefined && !session.committed.has(batch.partition)) session.committed.set(batch.partition, first.offset);
        this.#buffer.push(batch);
        // Ends when the revocation begins too: the transport waits for this call before onRevoked.
        await this.#buffer.waitForRoom(signal);
      },
      onRevoked: async (partitions: readonly TopicPartition[]) => {
        // Unmarked messages of these partitions are left to the next owner (they are not committed)...
        const revoked = new Set(partitions.filter((tp) => tp.topic === this.queue).map((tp) => tp.partition));
        // The assignments revoked here, by the signal they follow (taken now: see below).
        const followed = new Map([...revoked].map((p) => [p, session.signals.get(p)]));
        if (session.alive) this.#buffer.dropPartitions(revoked);
        // ...and the chunks already taken commit before the partitions move.
        await this.#settled();
        for (const [p, signal] of followed) {
          // Only the entries of the assignment revoked here: a partition
          // assigned again while this ran (a revocation that outlived the
          // transport's rebalance timeout) follows a new signal, and its
          // committed offset must survive, or its next batch would set it past
          // messages not yet marked and reset() would skip them.
          if (session.signals.get(p) !== signal) continue;
          session.committed.delete(p);
          session.signals.delete(p);
        }
      },
      onError: (error) => {
        if (!session.alive) return;
        if (isReconnectRequired(error)) {
          this.#reconnectNeeded = true;
          this.#logger.error({ err: error }, `consumer needs a reconnect: ${error.message}`);
        } else {
          this.#logger.warn({ err: error }, `consumer error: ${error.message}`);
        }
      },
    };
  }

  /**
   * Once per assignment: when `partition`'s revocation (or the consumer's
   * close) begins, its buffered messages are no longer handed out — they
   * were neither marked nor committed, so the next owner reads them from the
   * committed offset. Chunks already taken keep going: their start markers
   * are written and they commit in onRevoked.
   */
  #followAssignment(session: Session, partition: number, signal: AbortSignal): void {
    const previous = session.signals.get(partition);
    if (previous === signal) return;
    // A new assignment while the entries of a previous one whose revocation
    // began are still here (its onRevoked outlived the transport's rebalance
    // timeout, and the partition came back meanwhile): its committed offset
    // is the previous assignment's, so the first batch of this one sets it.
    if (previous?.aborted === true) session.committed.delete(partition);
    session.signals.set(partition, signal);
    signal.addEventListener(
      'abort',
      () => {
        if (session.alive && this.#session === session) this.#buffer.dropPartitions(new Set([partition]));
      },
      { once: true },
    );
  }

  // --- state ---

  /** Resolves once every chunk's commit has settled and no commit is in flight. */
  async #settled(): Promise<void> {
    for (;;) {
      await this.#lastChunk?.committed.catch(noop);
      const inFlight = this.#commitInFlight;
      if (inFlight === undefined) return;
      await inFlight;
    }
  }

  /**
   * After a failure (everything settled): chunks whose markers or commit
   * failed are read again from the committed offset, so they are dropped —
   * also the rest of the chunk being handed out when its commit failed.
   * Committed chunks are kept.
   */
  #dropFailedChunks(): void {
    this.#chunks = this.#chunks.filter((c) => !c.failed);
    if (this.#current?.failed === true) {
      this.#ready = [];
      this.#readyHead = 0;
    }
    if (this.#lastChunk?.failed === true) this.#lastChunk = undefined;
    this.#recomputeHeld();
  }

  #taint(err: unknown, what: string): void {
    this.#isTainted = true;
    this.#tainted = err;
    this.#logger.error({ err }, `${what}: the client needs a reset`);
  }

  #ensureUsable(): void {
    if (this.#closed) throw this.#closedError('nextMessage()');
    if (this.#isTainted) {
      throw new TributaryError('ERR_STATE', 'MqClient needs reset(): start markers and committed offsets disagree', { cause: this.#tainted });
    }
    if (this.#reconnectNeeded) throw new TributaryError('ERR_STATE', 'MqClient needs reconnect(): the consumer failed');
  }

  #checkMessage(message: Message, call: string): TributaryError | undefined {
    if (this.#closed) return this.#closedError(call);
    if (typeof message !== 'object' || message === null || message.topic !== this.queue) {
      return new TributaryError('ERR_CONFIG', `${call}: not a message of queue "${this.queue}"`);
    }
    return undefined;
  }

  #closedError(call: string): TributaryError {
    return new TributaryError('ERR_CLOSED', `MqClient is closed: ${call} is not allowed`);
  }
}

/** Settles like `marked` then `previous` (an earlier chunk's failure becomes ERR_STATE). */
async function afterBoth(marked: Promise<void>, previous: Promise<void> | undefined): Promise<void> {
  await marked;
  await earlier(previous);
}

async function earlier(previous: Promise<void> | undefined): Promise<void> {
  if (previous === undefined) return;
  try {
    await previous;
  } catch (err) {
    throw new TributaryError('ERR_STATE', 'an earlier chunk of start markers or its commit failed', { cause: err });
  }
}

/** Per partition: the offset after the last message of the chunks. */
function nextOffsets(topic: string, chunks: readonly Chunk[]): TopicPartitionOffset[] {
  const last = new Map<number, number>();
  for (const chunk of chunks) {
    for (const m of chunk.messages) {
      const seen = last.get(m.partition);
      if (seen === undefined || m.offset > seen) last.set(m.partition, m.offset);
    }
  }
  return [...last].map(([partition, offset]) => ({ topic, partition, offset: offset + 1 }));
}

/**
 * Creates a queue client. Options are validated once (every problem in one
 * ConfigError) and frozen; nothing connects until `connect()` or the first
 * `nextMessage()`.
 */
export function createMqClient(transport: Transport, options: MqClientOptions): MqClient {
  const check = new ConfigCheck('MqClient');
  checkFactoryArguments(check, transport, options);
  const shared = resolveQueueConsumerOptions(options, MQ_CLIENT_DEFAULTS);
  const resolved: ResolvedOptions = {
    ...shared,
    groupId: options.groupId ?? (typeof shared.queue === 'string' ? defaultClientGroup(shared.queue) : ''),
    redeliveryTimeoutMs: options.redeliveryTimeoutMs ?? MQ_CLIENT_DEFAULTS.redeliveryTimeoutMs,
    maxMessagesPerCommit: options.maxMessagesPerCommit ?? MQ_CLIENT_DEFAULTS.maxMessagesPerCommit,
    maxChunksAhead: options.maxChunksAhead ?? MQ_CLIENT_DEFAULTS.maxChunksAhead,
    maxBufferedMessages: options.maxBufferedMessages ?? MQ_CLIENT_DEFAULTS.maxBufferedMessages,
    fromBeginning: options.fromBeginning ?? MQ_CLIENT_DEFAULTS.fromBeginning,
    commitRetry: { ...(options.commitRetry ?? MQ_CLIENT_DEFAULTS.commitRetry) },
  };
  check
    .nonEmptyString(resolved.queue, 'queue')
    .nonEmptyString(resolved.markersTopic, 'markersTopic')
    .nonEmptyString(resolved.groupId, 'groupId')
    .check(resolved.markersTopic !== resolved.queue, 'markersTopic', 'must differ from queue')
    .integer(resolved.redeliveryTimeoutMs, 'redeliveryTimeoutMs', 1, MAX_DELAY_MS)
    .integer(resolved.maxMessagesPerCommit, 'maxMessagesPerCommit', 1)
    .integer(resolved.maxChunksAhead, 'maxChunksAhead', 0, 64)
    .integer(resolved.maxBufferedMessages, 'maxBufferedMessages', 1)
    .oneOf(resolved.fromBeginning, 'fromBeginning', [true, false]);
  checkQueueConsumerOptions(check, resolved, options.producer, { field: 'commitRetry', options: options.commitRetry });
  check.throwIfInvalid();
  return new TransportMqClient(transport, freezeOptions(resolved), options.producer);
}
