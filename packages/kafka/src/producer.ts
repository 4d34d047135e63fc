import {
  ConfigError,
  TributaryError,
  type ProducerRecord,
  type SendResult,
  type TransportProducer,
} from '@tributary/core';
import { ClientDiagnostics, connectNative } from './connection';
import { RdKafkaCode, closedError, fromNativeError, nativeCodeOf } from './errors';
import { NativeHeaderList, headerBytes, toNativeValue } from './messages';
import { createNativeProducer, type NativeDeliveryReport, type NativeError, type NativeProducer } from './native';
import { producerNativeConfig, type ResolvedKafkaConfig, type ResolvedProducerOptions } from './options';

/** Counters of a producer (seed 000's metrics), cheap to read. */
export interface KafkaProducerMetrics {
  /** Records acknowledged by the broker. */
  readonly sent: number;
  /** Records that failed (locally or on the broker). */
  readonly failed: number;
  /** Records handed to `send` without a result yet. */
  readonly pending: number;
  /** Times a send waited because librdkafka's local queue was full. */
  readonly queueFullWaits: number;
}

/** The Kafka transport's producer: the core contract plus metrics. */
export interface KafkaTransportProducer extends TransportProducer {
  metrics(): KafkaProducerMetrics;
}

/** One `send` call: its records, their results so far, and where producing stopped when the queue filled. */
interface SendCall {
  readonly records: readonly ProducerRecord[];
  readonly results: SendResult[];
  /** Records without a result yet. */
  pending: number;
  /** Index of the next record to hand to librdkafka. */
  next: number;
  resolve(results: SendResult[]): void;
  reject(error: unknown): void;
  readonly done: Promise<SendResult[]>;
}

/** The opaque librdkafka hands back in the delivery report of a record. */
class DeliverySlot {
  constructor(
    readonly call: SendCall,
    readonly index: number,
  ) {}
}

/** How long to wait before retrying a produce that met a full queue when no delivery report wakes us sooner. */
const QUEUE_FULL_RETRY_MS = 5;

type State = 'open' | 'closing' | 'closed';

/**
 * A producer on librdkafka: idempotent with acks=all by default, Java's
 * murmur2 key partitioning, one delivery report per record.
 *
 * `send` hands every record to librdkafka at once (one small object per
 * record, no promise per record) and resolves when the last report of the
 * call arrives. When librdkafka's local queue is full the call is parked and
 * resumed as delivery reports free space, so records are never refused with
 * QUEUE_FULL; calls made meanwhile queue behind it, which keeps call order
 * per partition. Delivery reports are polled by librdkafka's background
 * thread, so no JavaScript timer polls.
 */
export class KafkaProducer implements KafkaTransportProducer {
  readonly #config: ResolvedKafkaConfig;
  readonly #options: ResolvedProducerOptions;
  readonly #onClosed: () => void;
  #native: NativeProducer | undefined;
  #connecting: Promise<void> | undefined;
  #state: State = 'open';
  #closing: Promise<void> | undefined;
  /** Calls (or the rest of a call) waiting to be handed to librdkafka, in call order. */
  readonly #backlog: SendCall[] = [];
  readonly #outstanding = new Set<SendCall>();
  #retryTimer: NodeJS.Timeout | undefined;
  #sent = 0;
  #failed = 0;
  #pending = 0;
  #queueFullWaits = 0;
  /** Reused for every record: the binding copies headers synchronously in produce(). */
  readonly #headerList = new NativeHeaderList();
  /** librdkafka's `message.timeout.ms` as applied (named in timeout errors). */
  #deliveryTimeoutMs = 0;

  constructor(config: ResolvedKafkaConfig, options: ResolvedProducerOptions, onClosed: () => void) {
    this.#config = config;
    this.#options = options;
    this.#onClosed = onClosed;
  }

  connect(): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(closedError('producer', 'connect()'));
    return this.#connect();
  }

  send(records: readonly ProducerRecord[]): Promise<SendResult[]> {
    if (this.#state !== 'open') return Promise.reject(closedError('producer', 'send()'));
    if (!Array.isArray(records)) {
      return Promise.reject(new ConfigError('kafka send', [{ field: 'records', message: 'must be an array of records' }]));
    }
    if (records.length === 0) return Promise.resolve([]);
    const call = newCall(records);
    this.#outstanding.add(call);
    this.#pending += records.length;
    if (this.#native === undefined) {
      this.#backlog.push(call);
      this.#connect().then(
        () => this.#drain(),
        (err: unknown) => this.#failBacklog(err),
      );
    } else if (this.#backlog.length > 0 || !this.#produceFrom(call)) {
      // Behind parked calls (call order per partition), or parked itself on a full queue.
      this.#backlog.push(call);
      this.#scheduleRetry();
    }
    return call.done;
  }

  async flush(): Promise<void> {
    if (this.#state === 'closed') throw closedError('producer', 'flush()');
    await Promise.allSettled([...this.#outstanding].map((c) => c.done));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  metrics(): KafkaProducerMetrics {
    return { sent: this.#sent, failed: this.#failed, pending: this.#pending, queueFullWaits: this.#queueFullWaits };
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    if (this.#connecting) await this.#connecting.catch(() => undefined);
    // Everything handed to send before close gets its result first.
    await Promise.allSettled([...this.#outstanding].map((c) => c.done));
    clearTimeout(this.#retryTimer);
    const native = this.#native;
    this.#native = undefined;
    if (native) await new Promise<void>((resolve) => native.disconnect(() => resolve()));
    this.#state = 'closed';
    this.#options.logger.debug('producer closed');
    this.#onClosed();
  }

  #connect(): Promise<void> {
    this.#connecting ??= this.#open().catch((err: unknown) => {
      // A later send may try again (the broker may be back).
      this.#connecting = undefined;
      throw err;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    const nativeConfig = producerNativeConfig(this.#config, this.#options.clientId);
    this.#deliveryTimeoutMs = Number(nativeConfig['message.timeout.ms']);
    const native = createNativeProducer(nativeConfig);
    const diagnostics = new ClientDiagnostics(native, this.#options.logger);
    native.on('delivery-report', (err, report) => this.#onDelivery(err, report));
    await connectNative(native, diagnostics, 'kafka producer', this.#config.brokers, this.#config.connectTimeoutMs);
    // Delivery reports are served by librdkafka's background thread and
    // dispatched to JavaScript as they come: no poll timer.
    native.setPollInBackground(true);
    this.#native = native;
    this.#options.logger.debug({ brokers: this.#config.brokers }, 'producer connected');
  }

  /**
   * Hands the records of `call` from `call.next` on to librdkafka. Returns
   * false when the local queue filled up (the call must wait), true when every
   * record was handed over or failed.
   */
  #produceFrom(call: SendCall): boolean {
    const native = this.#native as NativeProducer;
    const records = call.records;
    const maxBytes = this.#config.maxRecordBytes;
    const headerList = this.#headerList;
    for (let i = call.next; i < records.length; i++) {
      const record = records[i] as ProducerRecord | null | undefined;
      if (typeof record !== 'object' || record === null) {
        this.#fail(call, i, '', new TributaryError('ERR_PRODUCE', `records[${i}] is not a record`, { retriable: false }));
        continue;
      }
      const topic = record.topic;
      if (typeof topic !== 'string' || topic.length === 0) {
        this.#fail(call, i, '', new TributaryError('ERR_PRODUCE', `records[${i}].topic must be a non-empty string`, { retriable: false }));
        continue;
      }
      const value = toNativeValue(record.value);
      if (value === undefined) {
        this.#fail(call, i, topic, invalid(`records[${i}].value must be a Uint8Array, a string or null`, topic));
        continue;
      }
      const key = record.key ?? null;
      if (key !== null && typeof key !== 'string') {
        this.#fail(call, i, topic, invalid(`records[${i}].key must be a string or null`, topic));
        continue;
      }
      const headers = headerList.fill(record.headers);
      if (headers === null) {
        this.#fail(call, i, topic, invalid(`records[${i}].headers["${headerList.invalid}"] must be a string`, topic));
        continue;
      }
      const partition = record.partition ?? -1;
      if (partition !== -1 && !(Number.isInteger(partition) && partition >= 0)) {
        this.#fail(call, i, topic, invalid(`records[${i}].partition must be an integer ≥ 0`, topic));
        continue;
      }
      const timestamp = record.timestamp ?? null;
      if (timestamp !== null && !(Number.isSafeInteger(timestamp) && timestamp >= 0)) {
        this.#fail(call, i, topic, invalid(`records[${i}].timestamp must be an integer ≥ 0 (ms since the epoch)`, topic));
        continue;
      }
      // Cheap upper bound first (a UTF-16 unit is at most 3 UTF-8 bytes); exact size only near the limit.
      const valueBytes = value === null ? 0 : value.length;
      if (valueBytes + (key === null ? 0 : key.length * 3) + headerList.bound > maxBytes) {
        const size = valueBytes + (key === null ? 0 : Buffer.byteLength(key)) + (headers ? headerBytes(headers) : 0);
        if (size > maxBytes) {
          this.#fail(
            call,
            i,
            topic,
            new TributaryError('ERR_RECORD_TOO_LARGE', `record of ${size} bytes to ${topic} exceeds maxRecordBytes (${maxBytes})`, {
              context: { topic, key },
            }),
          );
          continue;
        }
      }
      try {
        native.produce(topic, partition, value, key, timestamp, new DeliverySlot(call, i), headers);
      } catch (err) {
        if ((err as NativeError | null)?.code === RdKafkaCode.ERR__QUEUE_FULL) {
          call.next = i;
          this.#queueFullWaits++;
          return false;
        }
        const where = partition === -1 ? topic : `${topic}/${partition}`;
        this.#fail(call, i, topic, fromNativeError(err, 'produce', `produce to ${where}`, { topic, ...(partition === -1 ? {} : { partition }), key }));
      }
    }
    call.next = records.length;
    return true;
  }

  #onDelivery(err: NativeError | null, report: NativeDeliveryReport): void {
    const slot = report.opaque;
    if (!(slot instanceof DeliverySlot)) return;
    const { call, index } = slot;
    if (err) {
      const topic = report.topic;
      const record = call.records[index] as ProducerRecord;
      const what =
        nativeCodeOf(err) === RdKafkaCode.ERR__MSG_TIMED_OUT
          ? `produce to ${report.partition >= 0 ? `${topic}/${report.partition}` : topic} not acknowledged within the delivery timeout (${this.#deliveryTimeoutMs} ms; is the leader reachable, with enough in-sync replicas?)`
          : `produce to ${topic}`;
      this.#fail(call, index, topic, fromNativeError(err, 'produce', what, { topic, key: record.key ?? null }));
    } else {
      this.#sent++;
      this.#settle(call, index, { ok: true, topic: report.topic, partition: report.partition, offset: report.offset });
    }
    if (this.#backlog.length > 0) this.#drain();
  }

  #fail(call: SendCall, index: number, topic: string, error: TributaryError): void {
    this.#failed++;
    this.#settle(call, index, { ok: false, topic, error });
  }

  #settle(call: SendCall, index: number, result: SendResult): void {
    call.results[index] = result;
    this.#pending--;
    if (--call.pending === 0) {
      this.#outstanding.delete(call);
      call.resolve(call.results);
    }
  }

  /** Hands parked calls to librdkafka in order until the queue fills again. */
  #drain(): void {
    if (this.#native === undefined) return;
    while (this.#backlog.length > 0) {
      const head = this.#backlog[0] as SendCall;
      if (!this.#produceFrom(head)) {
        this.#scheduleRetry();
        return;
      }
      this.#backlog.shift();
    }
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#drain();
    }, QUEUE_FULL_RETRY_MS);
  }

  /** Connecting failed: the calls still waiting for it reject with that error. */
  #failBacklog(err: unknown): void {
    const calls = this.#backlog.splice(0);
    for (const call of calls) {
      this.#outstanding.delete(call);
      this.#pending -= call.pending;
      call.reject(err);
    }
  }
}

function newCall(records: readonly ProducerRecord[]): SendCall {
  let resolve!: (results: SendResult[]) => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<SendResult[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { records, results: new Array<SendResult>(records.length), pending: records.length, next: 0, resolve, reject, done };
}

function invalid(message: string, topic: string): TributaryError {
  return new TributaryError('ERR_PRODUCE', message, { retriable: false, context: { topic } });
}
