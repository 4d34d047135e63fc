/**
 * The one file that touches `@confluentinc/kafka-javascript`: it loads the
 * librdkafka binding's callback API and describes, as small structural
 * interfaces, exactly the part of it this package uses. Nothing here is
 * exported from the package, so no client type reaches the public API.
 *
 * Why the callback API (`RdKafka.KafkaConsumer`, `RdKafka.Producer`) and not
 * the KafkaJS-compatible one: the transport needs its own per-partition
 * batching, an asynchronous revocation that holds librdkafka's rebalance
 * until `onRevoked` settles, and no promise per record on the hot path. The
 * callback API gives all three: `consume(n)` returns arrays of messages,
 * `rebalance_cb` leaves the (incremental) assign/unassign call to us, and the
 * producer reports deliveries through one event with an opaque per record.
 */
import { RdKafka } from '@confluentinc/kafka-javascript';

/** librdkafka configuration: property name → value (callbacks for the `*_cb` ones). */
export type NativeConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

/** The error shape the binding reports (LibrdKafkaError). */
export interface NativeError {
  readonly message: string;
  /** librdkafka error code (negative: local; positive: broker protocol). -1 when unknown. */
  readonly code: number;
  readonly origin?: string;
  readonly isFatal?: boolean;
  readonly isRetriable?: boolean;
}

export interface NativeTopicPartition {
  topic: string;
  partition: number;
  offset?: number;
  error?: NativeError | null;
}

export interface NativeMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: Buffer | null;
  readonly key?: Buffer | string | null;
  readonly timestamp?: number;
  /** One object per header, each with a single key. */
  readonly headers?: readonly Readonly<Record<string, Buffer | string>>[];
  readonly size: number;
}

export interface NativeDeliveryReport {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly opaque?: unknown;
}

export interface NativeMetadataOptions {
  readonly timeout: number;
  readonly allTopics?: boolean;
  readonly topic?: string;
}

export interface NativeLogEvent {
  readonly severity: number;
  readonly fac: string;
  readonly message: string;
}

/** What producers and consumers share. */
interface NativeClient {
  connect(options: NativeMetadataOptions, cb: (err: NativeError | null) => void): unknown;
  disconnect(cb: (err?: unknown) => void): unknown;
  isConnected(): boolean;
  queryWatermarkOffsets(
    topic: string,
    partition: number,
    timeout: number,
    cb: (err: NativeError | null, offsets: { lowOffset: number; highOffset: number }) => void,
  ): unknown;
  on(event: 'event.log', listener: (event: NativeLogEvent) => void): unknown;
  on(event: 'event.error', listener: (err: NativeError) => void): unknown;
}

export interface NativeProducer extends NativeClient {
  produce(
    topic: string,
    partition: number,
    value: Buffer | null,
    key: string | null,
    timestamp: number | null,
    opaque: unknown,
    headers: Record<string, string>[] | undefined,
  ): unknown;
  flush(timeout: number, cb: (err: NativeError | null) => void): unknown;
  setPollInBackground(set: boolean): unknown;
  on(event: 'delivery-report', listener: (err: NativeError | null, report: NativeDeliveryReport) => void): unknown;
  on(event: 'event.log', listener: (event: NativeLogEvent) => void): unknown;
  on(event: 'event.error', listener: (err: NativeError) => void): unknown;
}

export interface NativeConsumer extends NativeClient {
  subscribe(topics: string[]): unknown;
  unsubscribe(): unknown;
  assign(partitions: NativeTopicPartition[]): unknown;
  unassign(): unknown;
  incrementalAssign(partitions: NativeTopicPartition[]): unknown;
  incrementalUnassign(partitions: NativeTopicPartition[]): unknown;
  assignmentLost(): boolean;
  rebalanceProtocol(): string;
  consume(count: number, cb: (err: NativeError | null, messages: NativeMessage[]) => void): void;
  setDefaultConsumeTimeout(timeoutMs: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void;
  /** Asynchronous commit; the result arrives through `offset_commit_cb`. */
  commit(offsets: NativeTopicPartition[]): unknown;
  pause(partitions: NativeTopicPartition[]): unknown;
  resume(partitions: NativeTopicPartition[]): unknown;
  seek(position: NativeTopicPartition, timeout: number, cb: (err: NativeError | null) => void): unknown;
  getWatermarkOffsets(topic: string, partition: number): { lowOffset: number; highOffset: number };
}

export interface NativeTopicDescription {
  readonly name: string;
  readonly error?: NativeError;
  readonly partitions: readonly { readonly partition: number; readonly leader: { readonly id: number } | null }[];
}

export interface NativeListOffsetsResult {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly error?: NativeError;
}

export interface NativeGroupOffsets {
  readonly groupId: string;
  readonly error?: NativeError;
  readonly partitions: readonly NativeTopicPartition[];
}

export interface NativeAdmin {
  createTopic(
    topic: { topic: string; num_partitions: number; replication_factor: number; config?: Record<string, string> },
    timeout: number,
    cb: (err: NativeError | null) => void,
  ): void;
  deleteTopic(topic: string, timeout: number, cb: (err: NativeError | null) => void): void;
  listTopics(options: { timeout: number }, cb: (err: NativeError | null, topics: string[]) => void): void;
  describeTopics(
    topics: string[],
    options: { timeout: number },
    cb: (err: NativeError | null, descriptions: NativeTopicDescription[]) => void,
  ): void;
  listOffsets(
    partitions: { topic: string; partition: number; offset: unknown }[],
    options: { timeout: number },
    cb: (err: NativeError | null, results: NativeListOffsetsResult[]) => void,
  ): void;
  listConsumerGroupOffsets(
    groups: { groupId: string; partitions?: NativeTopicPartition[] }[],
    options: { timeout: number },
    cb: (err: NativeError | null, results: NativeGroupOffsets[]) => void,
  ): void;
  disconnect(): void;
  on(event: 'event.log', listener: (event: NativeLogEvent) => void): unknown;
  on(event: 'event.error', listener: (err: NativeError) => void): unknown;
}

/** librdkafka's logical offsets for listOffsets. */
export const OFFSET_SPEC = {
  earliest: RdKafka.OffsetSpec.EARLIEST as unknown,
  latest: RdKafka.OffsetSpec.LATEST as unknown,
};

/** librdkafka's logical offsets for assign(). */
export const LOGICAL_OFFSET = { beginning: -2, end: -1 } as const;

/** librdkafka's version, for logs and the README. */
export const librdkafkaVersion: string = RdKafka.librdkafkaVersion;

/**
 * The binding's error codes by name (`ERR__TRANSPORT`, `ERR_MSG_SIZE_TOO_LARGE`, …);
 * errors.ts keeps its own numbers and a test checks them against this table.
 */
export const nativeErrorCodes: Readonly<Record<string, number>> = RdKafka.CODES.ERRORS;

/** Creates (does not connect) a producer. Throws the binding's error for an invalid property. */
export function createNativeProducer(config: NativeConfig): NativeProducer {
  return new RdKafka.Producer(config);
}

/** Creates (does not connect) a consumer. Throws the binding's error for an invalid property. */
export function createNativeConsumer(config: NativeConfig): NativeConsumer {
  return new RdKafka.KafkaConsumer(config) as unknown as NativeConsumer;
}

/** Creates an admin client (its librdkafka handle starts at once; requests connect lazily). */
export function createNativeAdmin(config: NativeConfig): NativeAdmin {
  return RdKafka.AdminClient.create(config) as unknown as NativeAdmin;
}
