import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TributaryError, isTributaryError, type RecordBatch } from '@tributary/core';
import {
  KAFKA_ERROR_TABLE,
  RdKafkaCode,
  batchError,
  classifyNativeCode,
  closedError,
  fromNativeError,
  nativeCodeOf,
  type KafkaOperation,
} from '../src/errors';
import { nativeErrorCodes } from '../src/native';

const nameOf = new Map<number, string>(Object.entries(RdKafkaCode).map(([name, code]) => [code, name]));

describe('RdKafkaCode', () => {
  it("matches the binding's error code table, name for name", () => {
    const mismatches = Object.entries(RdKafkaCode).filter(([name, code]) => nativeErrorCodes[name] !== code);
    expect(mismatches).toEqual([]);
  });
});

describe('KAFKA_ERROR_TABLE', () => {
  it('maps only to codes core defines', () => {
    const unknown = [...KAFKA_ERROR_TABLE.values()].filter((m) => m.code !== 'op' && !(m.code in ErrorCodes));
    expect(unknown).toEqual([]);
  });

  it('is documented in the README error table, entry for entry', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const missing = [...KAFKA_ERROR_TABLE.keys()].map((code) => nameOf.get(code) ?? String(code)).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('classifyNativeCode', () => {
  const cases: [keyof typeof RdKafkaCode, KafkaOperation, string, boolean][] = [
    ['ERR__TRANSPORT', 'connect', 'ERR_CONNECTION', true],
    ['ERR__ALL_BROKERS_DOWN', 'produce', 'ERR_CONNECTION', true],
    ['ERR__RESOLVE', 'admin', 'ERR_CONNECTION', true],
    ['ERR__TIMED_OUT', 'admin', 'ERR_TIMEOUT', true],
    ['ERR__MSG_TIMED_OUT', 'produce', 'ERR_TIMEOUT', true],
    ['ERR_UNKNOWN_TOPIC_OR_PART', 'produce', 'ERR_UNKNOWN_TOPIC', false],
    ['ERR__UNKNOWN_PARTITION', 'produce', 'ERR_UNKNOWN_TOPIC', false],
    ['ERR__UNKNOWN_TOPIC', 'consume', 'ERR_UNKNOWN_TOPIC', false],
    ['ERR_TOPIC_ALREADY_EXISTS', 'admin', 'ERR_TOPIC_EXISTS', false],
    ['ERR_MSG_SIZE_TOO_LARGE', 'produce', 'ERR_RECORD_TOO_LARGE', false],
    ['ERR_RECORD_LIST_TOO_LARGE', 'produce', 'ERR_RECORD_TOO_LARGE', false],
    ['ERR__AUTHENTICATION', 'connect', 'ERR_AUTHENTICATION', false],
    ['ERR_SASL_AUTHENTICATION_FAILED', 'connect', 'ERR_AUTHENTICATION', false],
    ['ERR__SSL', 'connect', 'ERR_AUTHENTICATION', false],
    ['ERR_TOPIC_AUTHORIZATION_FAILED', 'produce', 'ERR_AUTHORIZATION', false],
    ['ERR_GROUP_AUTHORIZATION_FAILED', 'commit', 'ERR_AUTHORIZATION', false],
    // Transient broker conditions take the operation's code and stay retriable.
    ['ERR_NOT_LEADER_FOR_PARTITION', 'produce', 'ERR_PRODUCE', true],
    ['ERR_NOT_ENOUGH_REPLICAS', 'produce', 'ERR_PRODUCE', true],
    ['ERR_NOT_LEADER_FOR_PARTITION', 'admin', 'ERR_TRANSPORT', true],
    ['ERR_REBALANCE_IN_PROGRESS', 'commit', 'ERR_COMMIT', true],
    ['ERR__WAIT_COORD', 'commit', 'ERR_COMMIT', true],
    // A member that lost its partitions cannot commit them in this generation.
    ['ERR_ILLEGAL_GENERATION', 'commit', 'ERR_COMMIT', false],
    ['ERR_UNKNOWN_MEMBER_ID', 'commit', 'ERR_COMMIT', false],
    ['ERR__ASSIGNMENT_LOST', 'commit', 'ERR_COMMIT', false],
    ['ERR_INVALID_RECORD', 'produce', 'ERR_PRODUCE', false],
    ['ERR__FATAL', 'produce', 'ERR_PRODUCE', false],
    ['ERR_INVALID_REPLICATION_FACTOR', 'admin', 'ERR_TRANSPORT', false],
    ['ERR__DESTROY', 'produce', 'ERR_CLOSED', false],
    ['ERR__PURGE_QUEUE', 'produce', 'ERR_CLOSED', true],
    ['ERR__STATE', 'seek', 'ERR_STATE', false],
  ];

  it.each(cases)('%s during %s → %s (retriable %s)', (name, op, code, retriable) => {
    expect(classifyNativeCode(RdKafkaCode[name], op)).toEqual({ code, retriable });
  });

  it("falls back to the operation's code, with librdkafka's retriable verdict or Kafka's retriable set", () => {
    expect(classifyNativeCode(-1_000, 'produce')).toEqual({ code: 'ERR_PRODUCE', retriable: false });
    expect(classifyNativeCode(-1_000, 'produce', true)).toEqual({ code: 'ERR_PRODUCE', retriable: true });
    expect(classifyNativeCode(-1_000, 'commit')).toEqual({ code: 'ERR_COMMIT', retriable: false });
    expect(classifyNativeCode(undefined, 'consume')).toEqual({ code: 'ERR_TRANSPORT', retriable: false });
    // 74 FENCED_LEADER_EPOCH: unmapped, retriable for the Java client.
    expect(classifyNativeCode(74, 'consume')).toEqual({ code: 'ERR_TRANSPORT', retriable: true });
  });
});

describe('nativeCodeOf', () => {
  it('reads a numeric code, or recovers it from librdkafka error text', () => {
    expect(nativeCodeOf({ code: 10, message: 'Broker: Message size too large' })).toBe(10);
    // The binding hands event.error listeners text only, lower-cased without its prefix.
    expect(nativeCodeOf({ code: -1, message: 'authentication failure' })).toBe(RdKafkaCode.ERR__AUTHENTICATION);
    expect(nativeCodeOf(new Error('Local: All broker connections are down'))).toBe(RdKafkaCode.ERR__ALL_BROKERS_DOWN);
    expect(nativeCodeOf(new Error('something else'))).toBeUndefined();
    expect(nativeCodeOf('text')).toBeUndefined();
    expect(nativeCodeOf(null)).toBeUndefined();
  });
});

describe('fromNativeError', () => {
  it('wraps a librdkafka error with its classification, the native error as cause, and the record context', () => {
    const native = { code: RdKafkaCode.ERR_MSG_SIZE_TOO_LARGE, message: 'Broker: Message size too large', origin: 'kafka' };
    const err = fromNativeError(native, 'produce', 'produce to orders', { topic: 'orders', key: 'k' });
    expect(isTributaryError(err)).toBe(true);
    expect(err.code).toBe('ERR_RECORD_TOO_LARGE');
    expect(err.retriable).toBe(false);
    expect(err.cause).toBe(native);
    expect(err.context).toEqual({ topic: 'orders', key: 'k' });
    expect(err.message).toBe('produce to orders: Broker: Message size too large (librdkafka 10)');
  });

  it("uses librdkafka's own retriable flag for codes the table does not know", () => {
    const err = fromNativeError({ code: 99_999, message: 'odd', isRetriable: true }, 'produce', 'produce');
    expect([err.code, err.retriable]).toEqual(['ERR_PRODUCE', true]);
  });

  it('passes a TributaryError through unchanged', () => {
    const original = new TributaryError('ERR_TIMEOUT', 'already classified');
    expect(fromNativeError(original, 'admin', 'whatever')).toBe(original);
  });
});

describe('closedError and batchError', () => {
  it('closedError is ERR_CLOSED naming the component and call', () => {
    const err = closedError('producer', 'send()');
    expect([err.code, err.message]).toEqual(['ERR_CLOSED', 'kafka producer is closed: send() is not allowed']);
  });

  it("batchError keeps a handler's TributaryError, and wraps anything else as ERR_HANDLER with the first record", () => {
    const batch: RecordBatch = {
      topic: 't',
      partition: 2,
      messages: [{ topic: 't', partition: 2, offset: 7, key: 'k', value: null, timestamp: 0, headers: {} }],
    };
    const own = new TributaryError('ERR_VALIDATION', 'bad');
    expect(batchError(own, batch)).toBe(own);
    const boom = new Error('boom');
    const wrapped = batchError(boom, batch);
    expect([wrapped.code, wrapped.cause, wrapped.context]).toEqual(['ERR_HANDLER', boom, { topic: 't', partition: 2, offset: 7, key: 'k' }]);
  });
});
