// Compile-time tests of the public types. Not run by Jest: `npm test`
// typechecks this file, so a `@ts-expect-error` that stops erroring (a type
// that got looser) fails the run. The functions are never called.
import type {
  BatchHandler,
  ErrorCode,
  HandlerMiddleware,
  Message,
  MessageHandler,
  ProducerRecord,
  RecordOutcome,
  SendResult,
  Transport,
  TransportProducer,
} from '@tributary/core';
import { ack, createBus, createConsumer, createEventPublisher, deadLetter, eventBatchHandler, jsonBatchHandler, retry, TributaryError } from '@tributary/core';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

/** Keeps messages immutable and keys as strings. */
export function messagesAreImmutable(): void {
  const m = {} as Message;
  // @ts-expect-error a consumed record is read-only
  m.offset = 1;
  // @ts-expect-error headers are read-only
  m.headers['x'] = 'y';
  assertType<Equal<Message['key'], string | null>>();
  assertType<Equal<Message['value'], Uint8Array | null>>();
  const record: ProducerRecord = { topic: 't', value: 'text' };
  // @ts-expect-error a producer record needs a topic
  const noTopic: ProducerRecord = { value: null };
  void [record, noTopic];
}

/** Makes send results a discriminated union. */
export function sendResultsAreDiscriminated(): void {
  const r = {} as SendResult;
  if (r.ok) {
    assertType<Equal<typeof r.offset, number>>();
    // @ts-expect-error a successful result has no error
    void r.error;
  } else {
    assertType<Equal<typeof r.error, TributaryError>>();
    // @ts-expect-error a failed result has no offset
    void r.offset;
  }
  void [true];
}

/** Types handlers, middleware and batch outcomes. */
export function handlersAreTyped(): void {
  const handler: MessageHandler = async (message, _ctx) => {
    assertType<Equal<typeof _ctx.signal, AbortSignal>>();
    void message.topic;
  };
  const mw: HandlerMiddleware = (next) => (m, ctx) => next(m, ctx);
  const batch: BatchHandler = (messages) => messages.map((m): RecordOutcome => (m.offset % 2 ? ack : retry()));
  // @ts-expect-error outcomes are values from ack/retry/deadLetter, not strings
  const badBatch: BatchHandler = (messages) => messages.map(() => 'ack');
  void [handler, mw(handler), batch, badBatch, deadLetter('x')];
}

/** Restricts error codes to the registry. */
export function errorCodesAreClosed(): void {
  const code: ErrorCode = 'ERR_CONFIG';
  // @ts-expect-error unknown codes do not compile
  const bad: ErrorCode = 'ERR_NOPE';
  // @ts-expect-error TributaryError takes a registered code
  const e = new TributaryError('ERR_WHATEVER', 'x');
  void [code, bad, e.code];
}

/** Requires a group id and topics to create a consumer. */
export function consumerNeedsGroupAndTopics(): void {
  const transport = {} as Transport;
  const producer = {} as TransportProducer;
  // @ts-expect-error groupId and topics are required
  const make = () => createConsumer(transport, {});
  void [make, producer];
}

/** Types per-event publish options and the batch adapters. */
export async function publishOptionsAndBatchAdaptersAreTyped(): Promise<void> {
  const bus = createBus({ transport: {} as Transport, source: 's' });
  await bus.publish('t', 1, 'key'); // the original signature
  await bus.publish('t', 1, { key: 'k', extensions: { tenantid: 'acme' }, headers: { 'x-a': '1' }, time: new Date() });
  // @ts-expect-error header values are strings
  await bus.publish('t', 1, { headers: { 'x-n': 1 } });
  await bus.publishBatch([{ type: 't', data: 1, key: null, schemaVersion: '2' }]);
  const publisher = createEventPublisher({} as TransportProducer, { source: 's' });
  await publisher.publish('topic', 't', 1, { subject: 'o-1' });
  // @ts-expect-error publishKeyed takes the key as its argument, not in options
  await publisher.publishKeyed('topic', 't', 1, 'k', { key: 'other' });
  const events: BatchHandler = eventBatchHandler<{ id: string }>((batch, _messages) => {
    assertType<Equal<(typeof batch)[number]['data'], { id: string }>>();
    assertType<Equal<typeof _messages, readonly Message[]>>();
    return batch.map(() => ack);
  });
  const values: BatchHandler = jsonBatchHandler<number>((_batch) => {
    assertType<Equal<typeof _batch, readonly number[]>>();
  });
  // @ts-expect-error outcomes are RecordOutcome values
  const bad = eventBatchHandler((batch) => batch.map(() => 'ack'));
  void [events, values, bad];
}

/** Types the stop budget and the failure metrics. */
export async function stopBudgetAndMetricsAreTyped(): Promise<void> {
  const consumer = createConsumer({} as Transport, { groupId: 'g', topics: ['t'] });
  await consumer.stop(); // the original signature
  await consumer.stop({ timeoutMs: 5_000, signal: AbortSignal.timeout(8_000) });
  // @ts-expect-error timeoutMs is a number of ms
  await consumer.stop({ timeoutMs: '5s' });
  await createBus({ transport: {} as Transport, source: 's' }).shutdown({ timeoutMs: 1_000 });
  const metrics = consumer.metrics();
  assertType<Equal<typeof metrics.decodeErrors, number>>();
  assertType<Equal<typeof metrics.failuresByCode, Readonly<Record<string, number>>>>();
  // @ts-expect-error a metrics snapshot is read-only
  metrics.failuresByCode['TypeError'] = 0;
}
