/**
 * Sends messages to queues (seed 002's MessageSender). A queue is a topic:
 * its name is the topic's name. Used by producers of queue messages and by
 * the redeliverer.
 */
import {
  ConfigCheck,
  TributaryError,
  createBatchProducer,
  errorMessage,
  freezeOptions,
  isTributaryError,
  silentLogger,
  type BatchProducer,
  type FlushReport,
  type Headers,
  type Logger,
  type ProducerRecord,
  type SendResult,
  type SentRecord,
  type Transport,
  type TransportProducer,
} from '@tributary/core';

/** A message payload: bytes, a string (sent as UTF-8) or null (a tombstone). */
export type Payload = Uint8Array | string | null;

/** Optional record fields of a queue message. */
export interface QueueMessageOptions {
  /** Record key: messages with one key land in one partition, in order. Default null (spread over partitions). */
  readonly key?: string | null;
  readonly headers?: Headers;
  /** Explicit partition; overrides the key. */
  readonly partition?: number;
  /** Epoch ms; default the send time. */
  readonly timestamp?: number;
}

/** One message of {@link MessageSender.sendBatch}. */
export interface QueueMessage extends QueueMessageOptions {
  readonly queue: string;
  readonly payload: Payload;
}

/**
 * Options of {@link createMessageSender}.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `producer` | one from the transport (closed by `close()`) | a producer to share; `close()` leaves it open |
 * | `clientId` | transport default | client id of the producer this creates |
 * | `lingerMs` | 5 | `sendAsync`: how long a batch waits for more messages (like librdkafka's `linger.ms`) |
 * | `maxBatchRecords` | 500 | `sendAsync`: a batch is sent at this many messages |
 * | `logger` | silent | |
 */
export interface MessageSenderOptions {
  readonly producer?: TransportProducer;
  readonly clientId?: string;
  readonly lingerMs?: number;
  readonly maxBatchRecords?: number;
  readonly logger?: Logger;
}

/**
 * Sends messages to named queues.
 *
 * Ordering: messages to one partition (same key, or same explicit partition)
 * are appended in call order, across `send`, `sendAsync` and `sendBatch`
 * only as far as calls are not awaited in between (`sendAsync` messages wait
 * in a batch, so a later `send` can overtake them).
 *
 * Concurrency: safe to call from many async contexts at once.
 */
export interface MessageSender {
  /**
   * Sends one message in its own transport call and resolves once it is
   * acknowledged, with where it landed; rejects with its TributaryError.
   */
  send(queue: string, payload: Payload, options?: QueueMessageOptions): Promise<SentRecord>;
  /**
   * Adds the message to a batch (sent after `lingerMs`, at `maxBatchRecords`,
   * or on `flush`) and returns its delivery result: resolves with where it
   * landed or rejects with its TributaryError. The promise is pre-handled: a
   * caller that ignores it gets no unhandled rejection, and the failure is
   * also listed in the next `flush()`/`close()` report.
   */
  sendAsync(queue: string, payload: Payload, options?: QueueMessageOptions): Promise<SentRecord>;
  /** Sends many messages in one transport call: one result per message, in input order; never rejects for a single message. */
  sendBatch(messages: readonly QueueMessage[]): Promise<SendResult[]>;
  /** Sends the pending `sendAsync` batch and resolves, once every message sent so far has settled, with what settled since the last report. */
  flush(): Promise<FlushReport>;
  /** Refuses further messages (ERR_CLOSED), flushes, closes the producer it created, and resolves with the final report. Idempotent. */
  close(): Promise<FlushReport>;
}

class TransportMessageSender implements MessageSender {
  readonly #producer: TransportProducer;
  readonly #owned: boolean;
  readonly #batch: BatchProducer;
  #closing: Promise<FlushReport> | undefined;

  constructor(producer: TransportProducer, owned: boolean, batch: BatchProducer) {
    this.#producer = producer;
    this.#owned = owned;
    this.#batch = batch;
  }

  async send(queue: string, payload: Payload, options?: QueueMessageOptions): Promise<SentRecord> {
    this.#ensureOpen('send()');
    const [result] = await this.#producer.send([toRecord(queue, payload, options)]);
    if (result === undefined) throw new TributaryError('ERR_PRODUCE', 'the transport returned no result', { context: { topic: queue } });
    if (!result.ok) throw result.error;
    return result;
  }

  sendAsync(queue: string, payload: Payload, options?: QueueMessageOptions): Promise<SentRecord> {
    try {
      this.#ensureOpen('sendAsync()');
      return this.#batch.add(toRecord(queue, payload, options));
    } catch (err) {
      return Promise.reject(asError(err));
    }
  }

  async sendBatch(messages: readonly QueueMessage[]): Promise<SendResult[]> {
    this.#ensureOpen('sendBatch()');
    const list: unknown = messages;
    if (!Array.isArray(list)) throw new TributaryError('ERR_CONFIG', 'sendBatch: messages must be an array');
    return this.#producer.send(messages.map((m) => toRecord(m.queue, m.payload, m)));
  }

  flush(): Promise<FlushReport> {
    return this.#batch.flush();
  }

  close(): Promise<FlushReport> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<FlushReport> {
    const report = await this.#batch.close();
    if (this.#owned) await this.#producer.close();
    return report;
  }

  #ensureOpen(call: string): void {
    if (this.#closing !== undefined) throw new TributaryError('ERR_CLOSED', `message sender is closed: ${call} is not allowed`);
  }
}

function toRecord(queue: string, payload: Payload, options: QueueMessageOptions | undefined): ProducerRecord {
  if (typeof queue !== 'string' || queue.length === 0) {
    throw new TributaryError('ERR_CONFIG', `queue must be a non-empty string (got ${typeof queue === 'string' ? '""' : typeof queue})`);
  }
  if (options === undefined) return { topic: queue, value: payload };
  const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = { topic: queue, value: payload };
  if (options.key !== undefined) record.key = options.key;
  if (options.headers !== undefined) record.headers = options.headers;
  if (options.partition !== undefined) record.partition = options.partition;
  if (options.timestamp !== undefined) record.timestamp = options.timestamp;
  return record;
}

function asError(err: unknown): TributaryError {
  return isTributaryError(err) ? err : new TributaryError('ERR_PRODUCE', errorMessage(err), { cause: err });
}

/**
 * Creates a MessageSender. Options are validated once (every problem in one
 * ConfigError) and frozen.
 */
export function createMessageSender(transport: Transport, options: MessageSenderOptions = {}): MessageSender {
  const check = new ConfigCheck('MessageSender');
  check.check(typeof transport === 'object' && transport !== null && typeof transport.producer === 'function', 'transport', 'must be a Transport');
  check.check(typeof options === 'object' && options !== null, 'options', 'must be an object');
  const o = typeof options === 'object' && options !== null ? options : {};
  const resolved = {
    lingerMs: o.lingerMs ?? 5,
    maxBatchRecords: o.maxBatchRecords ?? 500,
    logger: o.logger ?? silentLogger,
  };
  check
    .integer(resolved.lingerMs, 'lingerMs', 0, 60_000)
    .integer(resolved.maxBatchRecords, 'maxBatchRecords', 1)
    .check(
      o.producer === undefined || (typeof o.producer === 'object' && o.producer !== null && typeof o.producer.send === 'function'),
      'producer',
      'must be a TransportProducer',
    );
  if (o.clientId !== undefined) check.nonEmptyString(o.clientId, 'clientId');
  check.throwIfInvalid();
  freezeOptions(resolved);
  const producer = o.producer ?? transport.producer({ ...(o.clientId !== undefined ? { clientId: o.clientId } : {}), logger: resolved.logger });
  const batch = createBatchProducer(producer, { maxRecords: resolved.maxBatchRecords, maxWaitMs: resolved.lingerMs, logger: resolved.logger });
  return new TransportMessageSender(producer, o.producer === undefined, batch);
}
