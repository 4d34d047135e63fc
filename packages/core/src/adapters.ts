/**
 * Handler adapters (seed 001's JSONHandler, BinaryHandler, EventHandler;
 * seed 000's BatchEventHandler): turn a function of a decoded value, raw
 * bytes or a typed event into a {@link MessageHandler} the consumer runtime
 * and the router take — or, for the batch adapters, a function of many
 * decoded values or events into a {@link BatchHandler}.
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
import { TributaryError, errorMessage, isPermanentError, isTributaryError, type RecordContext } from './errors';
import { eventFromMessage, parseDataAsync, type Event } from './event';
import { ack, deadLetter, retry, type BatchHandler, type HandlerContext, type MessageHandler, type RecordOutcome } from './handler';
import type { Message } from './message';

/** Handles one decoded value (seed 001's JSONHandler). */
export type ValueHandler<T> = (value: T, message: Message, ctx: HandlerContext) => Promise<void> | void;

/** Handles one record's raw value bytes (seed 001's BinaryHandler). */
export type BinaryValueHandler = (value: Uint8Array, message: Message, ctx: HandlerContext) => Promise<void> | void;

/** Handles one typed event (seed 001's EventHandler). */
export type EventMessageHandler<T> = (event: Event<T>, message: Message, ctx: HandlerContext) => Promise<void> | void;

/**
 * Handles the decoded values of one batch (records that decoded, in offset
 * order, with their messages at the same index). Resolving with nothing acks
 * them all; resolving with an array gives one outcome per value (same order,
 * same length); throwing retries them.
 */
export type ValueBatchHandler<T> = (
  values: readonly T[],
  messages: readonly Message[],
  ctx: HandlerContext,
) => Promise<void | readonly RecordOutcome[]> | void | readonly RecordOutcome[];

/**
 * Handles the typed events of one batch (seed 000's BatchEventHandler):
 * records that decoded, in offset order, with their messages at the same
 * index. Outcomes as for {@link ValueBatchHandler}.
 */
export type EventBatchHandler<T> = (
  events: readonly Event<T>[],
  messages: readonly Message[],
  ctx: HandlerContext,
) => Promise<void | readonly RecordOutcome[]> | void | readonly RecordOutcome[];

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

/** Reads one record's value: decode with `codec`, then validate with `schema` when given. */
async function readValue<T>(message: Message, codec: Codec<unknown>, schema: StandardSchemaV1<unknown, T> | undefined): Promise<T> {
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
  return schema ? validateAsync(schema, decoded) : (decoded as T);
}

/** Reads one record's event (CloudEvents binary mode), its data validated with `schema` when given. */
async function readEvent<T>(message: Message, codec: Codec<unknown> | undefined, schema: StandardSchemaV1<unknown, T> | undefined): Promise<Event<T>> {
  const event = eventFromMessage<unknown>(message, codec);
  return schema ? Object.freeze({ ...event, data: await parseDataAsync(event, schema) }) : (event as Event<T>);
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
    await handler(await readValue(message, codec, schema), message, ctx);
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
    await handler(await readEvent(message, codec, schema), message, ctx);
  };
}

/**
 * The outcome of a record that could not be read. Decode failures are
 * permanent (ERR_DECODE, ERR_EMPTY_MESSAGE, ERR_VALIDATION): dead-lettered
 * with the error as reason, as the runtime does with a single-record
 * adapter's failure. Anything else (an async validator that could not reach
 * its service) is retried like a throwing handler.
 */
function unreadable(err: unknown): RecordOutcome {
  return isPermanentError(err) ? deadLetter(err) : retry(err);
}

/**
 * The shared body of the batch adapters: read every record in order, give
 * what was read to `handler`, and map its outcomes back to the batch.
 */
function batchAdapter<V>(
  component: string,
  read: (message: Message) => Promise<V>,
  handler: (values: readonly V[], messages: readonly Message[], ctx: HandlerContext) => ReturnType<BatchHandler>,
): BatchHandler {
  return async (messages, ctx) => {
    const outcomes: RecordOutcome[] = [];
    const values: V[] = [];
    const readMessages: Message[] = [];
    const at: number[] = []; // batch index of each value
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Message;
      try {
        values.push(await read(m));
        readMessages.push(m);
        at.push(i);
        outcomes.push(ack);
      } catch (err) {
        outcomes.push(unreadable(err));
      }
    }
    if (values.length === 0) return outcomes;
    let result: void | readonly RecordOutcome[] | undefined;
    try {
      result = await handler(values, readMessages, ctx);
    } catch (err) {
      // As a throwing BatchHandler: retry what the handler was given; unreadable records keep their outcome.
      for (const i of at) outcomes[i] = retry(err);
      return outcomes;
    }
    if (result === undefined || result === null) return outcomes;
    // Checked at run time: JavaScript callers are not held to the type.
    const isList: boolean = Array.isArray(result);
    // A hole of a sparse array (`in` sees it) or an undefined/null entry is no outcome.
    const missing = isList && result.length === values.length ? result.findIndex((o, j) => !(j in result) || o === undefined || o === null) : -1;
    if (!isList || result.length !== values.length || missing >= 0) {
      // A bug, not a record's fault: stop the consumer as the runtime does for a
      // BatchHandler with the wrong number of outcomes (or one missing), so nothing is acked or dead-lettered.
      const what =
        missing >= 0
          ? `no outcome at index ${missing} of ${values.length} (a hole, undefined or null)`
          : `${isList ? result.length : typeof result} outcomes for ${values.length} records`;
      const bug = new TypeError(`${component}: handler returned ${what}`);
      ctx.control.stop(bug);
      throw bug;
    }
    for (let j = 0; j < at.length; j++) outcomes[at[j] as number] = result[j] as RecordOutcome;
    return outcomes;
  };
}

/**
 * Adapts a handler of a batch of decoded values (the batch form of
 * {@link jsonHandler}; start it with `consumer.startBatch`). Every record is
 * decoded with the codec (JSON by default) and validated by `schema` when
 * given; the values that decoded go to `handler`, in offset order, with their
 * messages.
 *
 * Records that cannot be read — tombstones (ERR_EMPTY_MESSAGE), bad bytes
 * (ERR_DECODE), data the schema rejects (ERR_VALIDATION) — never reach the
 * handler: their outcome is `deadLetter(error)`, so with a dead-letter topic
 * they land there with the error as `tributary-dlq-reason` (without one, the
 * consumer stops on them, as with {@link jsonHandler}). When no record of the
 * batch can be read the handler is not called.
 *
 * The handler's outcomes (one per value) are mapped back to the records they
 * belong to; resolving with nothing acks every value, throwing retries them
 * (unreadable records are still dead-lettered). An outcome array of the
 * wrong length is a bug: the adapter stops the consumer with a TypeError
 * through `ctx.control`, leaving the batch uncommitted.
 */
export function jsonBatchHandler<T = unknown>(handler: ValueBatchHandler<T>, options: DecodeOptions<T> = {}): BatchHandler {
  checkOptions('jsonBatchHandler', handler, options);
  const codec = options.codec ?? defaultCodec;
  const { schema } = options;
  return batchAdapter('jsonBatchHandler', (message) => readValue(message, codec, schema), handler);
}

/**
 * Adapts a handler of a batch of typed events (seed 000's BatchEventHandler;
 * start it with `consumer.startBatch`). Every record is read as
 * {@link eventHandler} reads one (CloudEvents binary mode, `data` decoded
 * with the codec and validated by `schema` when given); the events go to
 * `handler`, in offset order, with their messages.
 *
 * A record that is not a CloudEvent or whose data cannot be decoded or
 * validated never reaches the handler: its outcome is `deadLetter(error)`
 * (ERR_DECODE or ERR_VALIDATION as reason). Outcomes, throwing and the
 * all-unreadable batch are as for {@link jsonBatchHandler}.
 *
 * ```ts
 * await consumer.startBatch(
 *   eventBatchHandler<Order>(async (events) => {
 *     const saved = await db.saveMany(events.map((e) => e.data));
 *     return saved.map((ok) => (ok ? ack : retry()));
 *   }),
 * );
 * ```
 */
export function eventBatchHandler<T = unknown>(handler: EventBatchHandler<T>, options: DecodeOptions<T> = {}): BatchHandler {
  checkOptions('eventBatchHandler', handler, options);
  const { codec, schema } = options;
  return batchAdapter('eventBatchHandler', (message) => readEvent(message, codec, schema), handler);
}
