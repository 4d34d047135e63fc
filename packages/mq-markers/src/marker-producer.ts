/**
 * Writes start, keep-alive and end markers to the markers topic (seed 002's
 * MarkerProducer).
 */
import {
  ConfigCheck,
  MAX_DELAY_MS,
  TributaryError,
  freezeOptions,
  silentLogger,
  type Logger,
  type ProducerRecord,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { systemClock, type Clock } from './clock';
import { encodeMarkerKey, encodeMarkerValue, type Marker, type MarkerTarget } from './marker';
import { RecordBatcher } from './record-batcher';

/**
 * Options of {@link createMarkerProducer}.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `markersTopic` | required | topic the markers go to |
 * | `producer` | one from the transport (closed by `close()`) | a producer to share; `close()` leaves it open |
 * | `clientId` | transport default | client id of the producer this creates |
 * | `clock` | `Date.now` | time for deadlines and marker timestamps |
 * | `maxBatchRecords` | 1000 | most markers per transport call |
 * | `logger` | silent | |
 */
export interface MarkerProducerOptions {
  readonly markersTopic: string;
  readonly producer?: TransportProducer;
  readonly clientId?: string;
  readonly clock?: Clock;
  readonly maxBatchRecords?: number;
  readonly logger?: Logger;
}

/**
 * Sends markers for queue messages. Every marker of a message goes to the
 * markers partition numbered like the message's queue partition, so the
 * markers of one message keep the order they were sent in.
 *
 * Markers sent in the same event-loop turn share one transport call. Each
 * method resolves once its markers are acknowledged (durable as far as the
 * transport's acks go) and rejects with the marker's TributaryError
 * otherwise — e.g. ERR_UNKNOWN_TOPIC when the markers topic has fewer
 * partitions than the queue.
 *
 * Concurrency: safe to call from many async contexts at once.
 */
export interface MarkerProducer {
  readonly markersTopic: string;
  /** Sends a start marker whose deadline is `clock() + redeliveryTimeoutMs`, at once (no linger). */
  sendStart(message: MarkerTarget, redeliveryTimeoutMs: number): Promise<void>;
  /** Start markers for many messages in one transport call, at once; rejects with the first failure after all settled. */
  sendStarts(messages: readonly MarkerTarget[], redeliveryTimeoutMs: number): Promise<void>;
  /** Sends a keep-alive marker: the deadline moves to `clock() + redeliveryTimeoutMs`. */
  sendKeepAlive(message: MarkerTarget, redeliveryTimeoutMs: number): Promise<void>;
  /** Sends an end marker: the message is done and never redelivered after it is read. */
  sendEnd(message: MarkerTarget): Promise<void>;
  /** Sends what is pending and resolves once every marker sent so far has settled. */
  flush(): Promise<void>;
  /** Refuses further markers (ERR_CLOSED), flushes, and closes the producer it created. Idempotent. */
  close(): Promise<void>;
}

interface ResolvedOptions {
  readonly markersTopic: string;
  readonly clock: Clock;
  readonly maxBatchRecords: number;
  readonly logger: Logger;
}

class TransportMarkerProducer implements MarkerProducer {
  readonly markersTopic: string;
  readonly #clock: Clock;
  /** With the system clock the transport stamps records itself (same time, less work). */
  readonly #stamp: boolean;
  readonly #batcher: RecordBatcher;
  readonly #ownedProducer: TransportProducer | undefined;
  #closing: Promise<void> | undefined;

  constructor(producer: TransportProducer, owned: boolean, options: ResolvedOptions) {
    this.markersTopic = options.markersTopic;
    this.#clock = options.clock;
    this.#stamp = options.clock !== systemClock;
    this.#batcher = new RecordBatcher(producer, options.maxBatchRecords, 'marker producer');
    this.#ownedProducer = owned ? producer : undefined;
  }

  sendStart(message: MarkerTarget, redeliveryTimeoutMs: number): Promise<void> {
    return this.sendStarts([message], redeliveryTimeoutMs);
  }

  sendStarts(messages: readonly MarkerTarget[], redeliveryTimeoutMs: number): Promise<void> {
    try {
      const now = this.#clock();
      const value = encodeMarkerValue({ kind: 'start', deadline: deadlineOf(now, redeliveryTimeoutMs) });
      const records = messages.map((m) => this.#record(m, value, now));
      return this.#batcher.addAll(records, { now: true });
    } catch (err) {
      return rejected(err);
    }
  }

  sendKeepAlive(message: MarkerTarget, redeliveryTimeoutMs: number): Promise<void> {
    return this.#send(message, redeliveryTimeoutMs);
  }

  sendEnd(message: MarkerTarget): Promise<void> {
    return this.#send(message, undefined);
  }

  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#batcher.close();
    await this.#ownedProducer?.close();
  }

  #send(message: MarkerTarget, redeliveryTimeoutMs: number | undefined): Promise<void> {
    try {
      const now = redeliveryTimeoutMs === undefined && !this.#stamp ? 0 : this.#clock();
      const marker: Marker = redeliveryTimeoutMs === undefined ? END_MARKER : { kind: 'keep-alive', deadline: deadlineOf(now, redeliveryTimeoutMs) };
      const value = redeliveryTimeoutMs === undefined ? END_VALUE : encodeMarkerValue(marker);
      return this.#batcher.add(this.#record(message, value, now));
    } catch (err) {
      return rejected(err);
    }
  }

  #record(message: MarkerTarget, value: Uint8Array, now: number): ProducerRecord {
    checkTarget(message);
    const record = { topic: this.markersTopic, partition: message.partition, key: encodeMarkerKey(message), value };
    return this.#stamp ? { ...record, timestamp: now } : record;
  }
}

/** A thrown argument error as a rejection (the methods never throw synchronously). */
function rejected(err: unknown): Promise<never> {
  return Promise.reject(err instanceof Error ? err : new TributaryError('ERR_CONFIG', String(err)));
}

const END_MARKER: Marker = Object.freeze({ kind: 'end' });
// Never mutated: the transport stores record values as given.
const END_VALUE = encodeMarkerValue(END_MARKER);

function deadlineOf(now: number, redeliveryTimeoutMs: number): number {
  if (!(typeof redeliveryTimeoutMs === 'number' && redeliveryTimeoutMs >= 0 && redeliveryTimeoutMs <= MAX_DELAY_MS)) {
    throw new TributaryError('ERR_CONFIG', `redeliveryTimeoutMs must be a number between 0 and ${MAX_DELAY_MS} (got ${String(redeliveryTimeoutMs)})`);
  }
  return Math.round(now + redeliveryTimeoutMs);
}

/** Cheap check on the hot path; the ConfigCheck (all problems) only when something is wrong. */
function checkTarget(message: MarkerTarget): void {
  if (
    typeof message === 'object' &&
    message !== null &&
    Number.isSafeInteger(message.partition) &&
    message.partition >= 0 &&
    Number.isSafeInteger(message.offset) &&
    message.offset >= 0
  ) {
    return;
  }
  const check = new ConfigCheck('marker target');
  if (typeof message !== 'object' || message === null) check.problem('message', 'must be a queue message');
  else {
    check.integer(message.partition, 'partition', 0);
    check.integer(message.offset, 'offset', 0);
  }
  check.throwIfInvalid();
}

/**
 * Creates a MarkerProducer. Options are validated once (every problem in one
 * ConfigError) and frozen.
 */
export function createMarkerProducer(transport: Transport, options: MarkerProducerOptions): MarkerProducer {
  const check = new ConfigCheck('MarkerProducer');
  const resolved = resolveMarkerProducerOptions(check, options);
  check.check(typeof transport === 'object' && transport !== null && typeof transport.producer === 'function', 'transport', 'must be a Transport');
  check.throwIfInvalid();
  const owned = options.producer === undefined;
  const producer =
    options.producer ?? transport.producer({ ...(options.clientId !== undefined ? { clientId: options.clientId } : {}), logger: resolved.logger });
  return new TransportMarkerProducer(producer, owned, freezeOptions(resolved));
}

function resolveMarkerProducerOptions(check: ConfigCheck, options: MarkerProducerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    check.problem('options', 'must be an object');
    return { markersTopic: '', clock: systemClock, maxBatchRecords: 1000, logger: silentLogger };
  }
  const resolved: ResolvedOptions = {
    markersTopic: options.markersTopic,
    clock: options.clock ?? systemClock,
    maxBatchRecords: options.maxBatchRecords ?? 1000,
    logger: options.logger ?? silentLogger,
  };
  check
    .nonEmptyString(resolved.markersTopic, 'markersTopic')
    .fn(resolved.clock, 'clock', false)
    .integer(resolved.maxBatchRecords, 'maxBatchRecords', 1)
    .check(
      options.producer === undefined || (typeof options.producer === 'object' && options.producer !== null && typeof options.producer.send === 'function'),
      'producer',
      'must be a TransportProducer',
    );
  if (options.clientId !== undefined) check.nonEmptyString(options.clientId, 'clientId');
  return resolved;
}
