/**
 * librdkafka errors → Tributary errors, in one place.
 *
 * Every error this package raises is a TributaryError with a stable code from
 * core's ErrorCodes. librdkafka reports numeric codes (negative: raised by the
 * client itself, `ERR__*`; positive: returned by the broker, Kafka protocol
 * codes); `KAFKA_ERROR_TABLE` maps the ones that mean something to a caller.
 * A code not in the table falls back to the operation's own code
 * (ERR_PRODUCE, ERR_COMMIT, else ERR_TRANSPORT) with librdkafka's own
 * retriable verdict.
 */
import { TributaryError, errorMessage, isTributaryError, type ErrorCode, type RecordBatch, type RecordContext } from '@tributary/core';

/** librdkafka error codes used by this package (checked against the binding's table in a test). */
export const RdKafkaCode = {
  ERR__BAD_MSG: -199,
  ERR__DESTROY: -197,
  ERR__FAIL: -196,
  ERR__TRANSPORT: -195,
  ERR__RESOLVE: -193,
  ERR__MSG_TIMED_OUT: -192,
  ERR__UNKNOWN_PARTITION: -190,
  ERR__UNKNOWN_TOPIC: -188,
  ERR__ALL_BROKERS_DOWN: -187,
  ERR__INVALID_ARG: -186,
  ERR__TIMED_OUT: -185,
  ERR__QUEUE_FULL: -184,
  ERR__SSL: -181,
  ERR__WAIT_COORD: -180,
  ERR__ASSIGN_PARTITIONS: -175,
  ERR__REVOKE_PARTITIONS: -174,
  ERR__STATE: -172,
  ERR__AUTHENTICATION: -169,
  ERR__NO_OFFSET: -168,
  ERR__TIMED_OUT_QUEUE: -166,
  ERR__NOENT: -156,
  ERR__PURGE_QUEUE: -152,
  ERR__PURGE_INFLIGHT: -151,
  ERR__FATAL: -150,
  ERR__MAX_POLL_EXCEEDED: -147,
  ERR__UNKNOWN_BROKER: -146,
  ERR__ASSIGNMENT_LOST: -142,
  ERR__DESTROY_BROKER: -137,
  ERR_UNKNOWN_TOPIC_OR_PART: 3,
  ERR_INVALID_MSG_SIZE: 4,
  ERR_LEADER_NOT_AVAILABLE: 5,
  ERR_NOT_LEADER_FOR_PARTITION: 6,
  ERR_REQUEST_TIMED_OUT: 7,
  ERR_BROKER_NOT_AVAILABLE: 8,
  ERR_MSG_SIZE_TOO_LARGE: 10,
  ERR_NETWORK_EXCEPTION: 13,
  ERR_COORDINATOR_LOAD_IN_PROGRESS: 14,
  ERR_COORDINATOR_NOT_AVAILABLE: 15,
  ERR_NOT_COORDINATOR: 16,
  ERR_RECORD_LIST_TOO_LARGE: 18,
  ERR_NOT_ENOUGH_REPLICAS: 19,
  ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  ERR_ILLEGAL_GENERATION: 22,
  ERR_UNKNOWN_MEMBER_ID: 25,
  ERR_REBALANCE_IN_PROGRESS: 27,
  ERR_TOPIC_AUTHORIZATION_FAILED: 29,
  ERR_GROUP_AUTHORIZATION_FAILED: 30,
  ERR_CLUSTER_AUTHORIZATION_FAILED: 31,
  ERR_INVALID_TIMESTAMP: 32,
  ERR_UNSUPPORTED_SASL_MECHANISM: 33,
  ERR_ILLEGAL_SASL_STATE: 34,
  ERR_TOPIC_ALREADY_EXISTS: 36,
  ERR_INVALID_PARTITIONS: 37,
  ERR_INVALID_REPLICATION_FACTOR: 38,
  ERR_INVALID_CONFIG: 40,
  ERR_INVALID_REQUEST: 42,
  ERR_POLICY_VIOLATION: 44,
  ERR_OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  ERR_KAFKA_STORAGE_ERROR: 56,
  ERR_SASL_AUTHENTICATION_FAILED: 58,
  ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED: 65,
  ERR_INVALID_RECORD: 87,
  ERR_THROTTLING_QUOTA_EXCEEDED: 89,
  ERR_UNKNOWN_TOPIC_ID: 100,
  ERR_FENCED_MEMBER_EPOCH: 110,
  ERR_STALE_MEMBER_EPOCH: 113,
} as const;

/** What a failed call was doing: decides the fallback code of an unmapped error. */
export type KafkaOperation = 'connect' | 'produce' | 'consume' | 'commit' | 'seek' | 'rebalance' | 'admin';

/** `op`: the operation's own code (ERR_PRODUCE for produce, ERR_COMMIT for commit, else ERR_TRANSPORT). */
export type MappedCode = ErrorCode | 'op';

export interface KafkaErrorMapping {
  readonly code: MappedCode;
  /** Overrides the code's default retriable flag. */
  readonly retriable?: boolean;
}

const C = RdKafkaCode;

/**
 * librdkafka code → Tributary code (and retriable, when it differs from the
 * code's default). The README's error table is this table.
 */
export const KAFKA_ERROR_TABLE: ReadonlyMap<number, KafkaErrorMapping> = new Map<number, KafkaErrorMapping>([
  // The broker cannot be reached or the connection broke.
  [C.ERR__TRANSPORT, { code: 'ERR_CONNECTION' }],
  [C.ERR__ALL_BROKERS_DOWN, { code: 'ERR_CONNECTION' }],
  [C.ERR__RESOLVE, { code: 'ERR_CONNECTION' }],
  [C.ERR__UNKNOWN_BROKER, { code: 'ERR_CONNECTION' }],
  [C.ERR__DESTROY_BROKER, { code: 'ERR_CONNECTION' }],
  [C.ERR_BROKER_NOT_AVAILABLE, { code: 'ERR_CONNECTION' }],
  [C.ERR_NETWORK_EXCEPTION, { code: 'ERR_CONNECTION' }],
  // Time ran out.
  [C.ERR__TIMED_OUT, { code: 'ERR_TIMEOUT' }],
  [C.ERR__TIMED_OUT_QUEUE, { code: 'ERR_TIMEOUT' }],
  [C.ERR__MSG_TIMED_OUT, { code: 'ERR_TIMEOUT' }],
  [C.ERR_REQUEST_TIMED_OUT, { code: 'ERR_TIMEOUT' }],
  // Missing topics and partitions.
  [C.ERR__UNKNOWN_TOPIC, { code: 'ERR_UNKNOWN_TOPIC' }],
  [C.ERR__UNKNOWN_PARTITION, { code: 'ERR_UNKNOWN_TOPIC' }],
  [C.ERR_UNKNOWN_TOPIC_OR_PART, { code: 'ERR_UNKNOWN_TOPIC' }],
  [C.ERR_UNKNOWN_TOPIC_ID, { code: 'ERR_UNKNOWN_TOPIC' }],
  [C.ERR_TOPIC_ALREADY_EXISTS, { code: 'ERR_TOPIC_EXISTS' }],
  // Records over the producer's message.max.bytes or the topic's max.message.bytes.
  [C.ERR_MSG_SIZE_TOO_LARGE, { code: 'ERR_RECORD_TOO_LARGE' }],
  [C.ERR_INVALID_MSG_SIZE, { code: 'ERR_RECORD_TOO_LARGE' }],
  [C.ERR_RECORD_LIST_TOO_LARGE, { code: 'ERR_RECORD_TOO_LARGE' }],
  // Credentials and permissions.
  [C.ERR__AUTHENTICATION, { code: 'ERR_AUTHENTICATION' }],
  [C.ERR__SSL, { code: 'ERR_AUTHENTICATION' }],
  [C.ERR_SASL_AUTHENTICATION_FAILED, { code: 'ERR_AUTHENTICATION' }],
  [C.ERR_UNSUPPORTED_SASL_MECHANISM, { code: 'ERR_AUTHENTICATION' }],
  [C.ERR_ILLEGAL_SASL_STATE, { code: 'ERR_AUTHENTICATION' }],
  [C.ERR_TOPIC_AUTHORIZATION_FAILED, { code: 'ERR_AUTHORIZATION' }],
  [C.ERR_GROUP_AUTHORIZATION_FAILED, { code: 'ERR_AUTHORIZATION' }],
  [C.ERR_CLUSTER_AUTHORIZATION_FAILED, { code: 'ERR_AUTHORIZATION' }],
  [C.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, { code: 'ERR_AUTHORIZATION' }],
  [C.ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED, { code: 'ERR_AUTHORIZATION' }],
  // Transient broker-side conditions: the operation's code, worth retrying.
  [C.ERR_LEADER_NOT_AVAILABLE, { code: 'op', retriable: true }],
  [C.ERR_NOT_LEADER_FOR_PARTITION, { code: 'op', retriable: true }],
  [C.ERR_NOT_ENOUGH_REPLICAS, { code: 'op', retriable: true }],
  [C.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, { code: 'op', retriable: true }],
  [C.ERR_KAFKA_STORAGE_ERROR, { code: 'op', retriable: true }],
  [C.ERR_THROTTLING_QUOTA_EXCEEDED, { code: 'op', retriable: true }],
  [C.ERR_COORDINATOR_LOAD_IN_PROGRESS, { code: 'op', retriable: true }],
  [C.ERR_COORDINATOR_NOT_AVAILABLE, { code: 'op', retriable: true }],
  [C.ERR_NOT_COORDINATOR, { code: 'op', retriable: true }],
  [C.ERR__WAIT_COORD, { code: 'op', retriable: true }],
  [C.ERR_REBALANCE_IN_PROGRESS, { code: 'op', retriable: true }],
  [C.ERR_STALE_MEMBER_EPOCH, { code: 'op', retriable: true }],
  // The member lost its partitions: committing again in this generation cannot succeed.
  [C.ERR_ILLEGAL_GENERATION, { code: 'op', retriable: false }],
  [C.ERR_UNKNOWN_MEMBER_ID, { code: 'op', retriable: false }],
  [C.ERR_FENCED_MEMBER_EPOCH, { code: 'op', retriable: false }],
  [C.ERR__ASSIGNMENT_LOST, { code: 'op', retriable: false }],
  // Records the broker will never accept, and a producer that cannot go on.
  [C.ERR_INVALID_RECORD, { code: 'op', retriable: false }],
  [C.ERR_INVALID_TIMESTAMP, { code: 'op', retriable: false }],
  [C.ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, { code: 'op', retriable: false }],
  [C.ERR__FATAL, { code: 'op', retriable: false }],
  [C.ERR__BAD_MSG, { code: 'op', retriable: false }],
  // Requests the broker rejects as invalid: retrying the same request fails again.
  [C.ERR__INVALID_ARG, { code: 'op', retriable: false }],
  [C.ERR_INVALID_PARTITIONS, { code: 'op', retriable: false }],
  [C.ERR_INVALID_REPLICATION_FACTOR, { code: 'op', retriable: false }],
  [C.ERR_INVALID_CONFIG, { code: 'op', retriable: false }],
  [C.ERR_INVALID_REQUEST, { code: 'op', retriable: false }],
  [C.ERR_POLICY_VIOLATION, { code: 'op', retriable: false }],
  // The client went away under the operation.
  [C.ERR__DESTROY, { code: 'ERR_CLOSED' }],
  [C.ERR__PURGE_QUEUE, { code: 'ERR_CLOSED', retriable: true }],
  [C.ERR__PURGE_INFLIGHT, { code: 'ERR_CLOSED', retriable: true }],
  [C.ERR__STATE, { code: 'ERR_STATE' }],
]);

/**
 * librdkafka's error texts (err2str, lower case without the `Local: ` /
 * `Broker: ` prefix) for the codes that arrive as text only: the binding
 * hands `event.error` listeners a message without its code.
 */
const CODE_BY_TEXT: ReadonlyMap<string, number> = new Map([
  ['authentication failure', C.ERR__AUTHENTICATION],
  ['sasl authentication failed', C.ERR_SASL_AUTHENTICATION_FAILED],
  ['ssl error', C.ERR__SSL],
  ['all broker connections are down', C.ERR__ALL_BROKERS_DOWN],
  ['broker transport failure', C.ERR__TRANSPORT],
  ['host resolution failure', C.ERR__RESOLVE],
  ['timed out', C.ERR__TIMED_OUT],
  ['unknown topic or partition', C.ERR_UNKNOWN_TOPIC_OR_PART],
  ['topic authorization failed', C.ERR_TOPIC_AUTHORIZATION_FAILED],
  ['group authorization failed', C.ERR_GROUP_AUTHORIZATION_FAILED],
]);

/** Kafka protocol codes the Java client treats as retriable (RetriableException), for unmapped fallbacks. */
const RETRIABLE_BROKER_CODES: ReadonlySet<number> = new Set([1, 2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 56, 74, 75, 89]);

/** The librdkafka code of `err`: its numeric `code`, else recovered from the text; undefined when neither. */
export function nativeCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && code !== -1) return code;
  const text = (err as { message?: unknown }).message;
  if (typeof text !== 'string') return undefined;
  const bare = text.replace(/^(local|broker):\s*/i, '').trim().toLowerCase();
  return CODE_BY_TEXT.get(bare);
}

/** The Tributary code and retriable flag for a librdkafka code in the context of `op`. */
export function classifyNativeCode(
  code: number | undefined,
  op: KafkaOperation,
  nativeRetriable?: boolean,
): { readonly code: ErrorCode; readonly retriable: boolean } {
  const mapped = code === undefined ? undefined : KAFKA_ERROR_TABLE.get(code);
  const opCode: ErrorCode = op === 'produce' ? 'ERR_PRODUCE' : op === 'commit' ? 'ERR_COMMIT' : 'ERR_TRANSPORT';
  if (mapped) {
    const resolved = mapped.code === 'op' ? opCode : mapped.code;
    return { code: resolved, retriable: mapped.retriable ?? defaultRetriable(resolved) };
  }
  const retriable = nativeRetriable ?? (code !== undefined && RETRIABLE_BROKER_CODES.has(code));
  return { code: opCode, retriable };
}

function defaultRetriable(code: ErrorCode): boolean {
  switch (code) {
    case 'ERR_CONNECTION':
    case 'ERR_TIMEOUT':
    case 'ERR_PRODUCE':
    case 'ERR_COMMIT':
      return true;
    default:
      return false;
  }
}

/**
 * Wraps anything the client threw or reported as a TributaryError (a
 * TributaryError passes through unchanged). `what` prefixes the message
 * (e.g. `produce to orders/3`); the native error is the `cause`.
 */
export function fromNativeError(err: unknown, op: KafkaOperation, what: string, context?: RecordContext): TributaryError {
  if (isTributaryError(err)) return err;
  const code = nativeCodeOf(err);
  const nativeRetriable = (err as { isRetriable?: unknown } | null)?.isRetriable;
  const classified = classifyNativeCode(code, op, typeof nativeRetriable === 'boolean' ? nativeRetriable : undefined);
  const suffix = code === undefined ? '' : ` (librdkafka ${code})`;
  const text = typeof (err as { message?: unknown } | null)?.message === 'string' ? (err as { message: string }).message : errorMessage(err);
  return new TributaryError(classified.code, `${what}: ${text}${suffix}`, {
    cause: err,
    retriable: classified.retriable,
    ...(context ? { context } : {}),
  });
}

/** The error for a call on a closed component. */
export function closedError(component: string, call: string): TributaryError {
  return new TributaryError('ERR_CLOSED', `kafka ${component} is closed: ${call} is not allowed`);
}

/**
 * What `onError` receives when `onBatch` rejects: the handler's own
 * TributaryError unchanged (it classified the failure), anything else wrapped
 * as ERR_HANDLER with the batch's first record as context.
 */
export function batchError(err: unknown, batch: RecordBatch): TributaryError {
  if (isTributaryError(err)) return err;
  const first = batch.messages[0];
  return new TributaryError('ERR_HANDLER', `onBatch failed for ${batch.topic}/${batch.partition}@${first?.offset ?? '?'}: ${errorMessage(err)}`, {
    cause: err,
    context: { topic: batch.topic, partition: batch.partition, ...(first ? { offset: first.offset, key: first.key } : {}) },
  });
}
