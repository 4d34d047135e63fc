/**
 * Handler adapters (seed 001's JSONHandler, BinaryHandler, EventHandler):
 * turn a function of a decoded value, raw bytes or a typed event into a
 * {@link MessageHandler} the consumer runtime and the router take.
 *
 * Failures to read a record are permanent (not retriable), so the runtime
 * dead-letters the record (or stops on it) instead of retrying bytes that
 * will never decode:
 * - a record without value (tombstone): ERR_EMPTY_MESSAGE;
 * - bytes the codec cannot read: the codec's ERR_DECODE (a codec that throws
 *   something else is wrapped in ERR_DECODE with the record's coordinates);
 * - data the schema rejects: ERR_VALIDATION (ValidationError, every issue).
 * Errors thrown by the wrapped function pass through unchanged.
 */
import { jsonCodec, validateAsync, type Codec, type StandardSchemaV1 } from './codec';
import { ConfigCheck } from './config';
import { TributaryError, errorMessage, isTributaryError, type RecordContext } from './errors';
import { eventFromMessage, parseDataAsync, type Event } from './event';
import type { HandlerContext, MessageHandler } from './handler';
import type { Message } from './message';

/** Handles one decoded value (seed 001's JSONHandler). */
export type ValueHandler<T> = (value: T, message: Message, ctx: HandlerContext) => Promise<void> | void;

/** Handles one record's raw value bytes (seed 001's BinaryHandler). */
export type BinaryValueHandler = (value: Uint8Array, message: Message, ctx: HandlerContext) => Promise<void> | void;

/** Handles one typed event (seed 001's EventHandler). */
export type EventMessageHandler<T> = (event: Event<T>, message: Message, ctx: HandlerContext) => Promise<void> | void;

export interface DecodeOptions<T> {
  /** Decodes the record value. Default `jsonCodec()`. */
  readonly codec?: Codec<unknown>;
  /**
   * Validates (and may transform) the decoded value; its output is what the
   * handler gets. Sync and async validators both work. Without a schema the
   * decoded value is trusted to be a `T`.
   */
  readonly schema?: StandardSchemaV1<unknown, T>;
}

const defaultCodec = jsonCodec();

function recordContext(message: Message): RecordContext {
  return { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key };
}

function where(message: Message): string {
  return `${message.topic}/${message.partition}@${message.offset}`;
}

function requireValue(message: Message): Uint8Array {
  if (message.value === null) {
    throw new TributaryError('ERR_EMPTY_MESSAGE', `record ${where(message)} has no value (tombstone)`, { context: recordContext(message) });
  }
  return message.value;
}

function checkOptions(component: string, handler: unknown, options: DecodeOptions<unknown>): void {
  new ConfigCheck(component)
    .fn(handler, 'handler', false)
    .check(options.codec === undefined || typeof options.codec?.decode === 'function', 'codec', 'must be a Codec (with a decode function)')
    .check(
      options.schema === undefined || typeof options.schema?.['~standard']?.validate === 'function',
      'schema',
      'must implement Standard Schema v1',
    )
    .throwIfInvalid();
}

/**
 * Adapts a handler of decoded values: the record value is decoded with the
 * codec (JSON by default), then validated by `schema` when given.
 *
 * ```ts
 * consumer.start(jsonHandler<Order>((order) => save(order), { schema: OrderSchema }));
 * ```
 */
export function jsonHandler<T = unknown>(handler: ValueHandler<T>, options: DecodeOptions<T> = {}): MessageHandler {
  checkOptions('jsonHandler', handler, options);
  const codec = options.codec ?? defaultCodec;
  const { schema } = options;
  return async (message, ctx) => {
    const bytes = requireValue(message);
    let decoded: unknown;
    try {
      decoded = codec.decode(bytes);
    } catch (err) {
      if (isTributaryError(err)) throw err;
      throw new TributaryError('ERR_DECODE', `record ${where(message)}: cannot decode value: ${errorMessage(err)}`, {
        cause: err,
        context: recordContext(message),
      });
    }
    const value = schema ? await validateAsync(schema, decoded) : (decoded as T);
    await handler(value, message, ctx);
  };
}

/** Adapts a handler of raw value bytes; a record without value fails with ERR_EMPTY_MESSAGE. */
export function binaryHandler(handler: BinaryValueHandler): MessageHandler {
  checkOptions('binaryHandler', handler, {});
  return (message, ctx) => handler(requireValue(message), message, ctx);
}

/**
 * Adapts a handler of typed events: the record is read with
 * `eventFromMessage` (CloudEvents binary mode; `data` decoded with the
 * codec, JSON by default), then `data` is validated by `schema` when given.
 * A record that is not a CloudEvent fails with ERR_DECODE. An event without
 * data has `data: undefined` unless the schema rejects that.
 */
export function eventHandler<T = unknown>(handler: EventMessageHandler<T>, options: DecodeOptions<T> = {}): MessageHandler {
  checkOptions('eventHandler', handler, options);
  const { codec, schema } = options;
  return async (message, ctx) => {
    const event = eventFromMessage<unknown>(message, codec);
    const typed: Event<T> = schema ? Object.freeze({ ...event, data: await parseDataAsync(event, schema) }) : (event as Event<T>);
    await handler(typed, message, ctx);
  };
}
