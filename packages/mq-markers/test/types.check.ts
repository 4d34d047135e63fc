// Compile-time tests of the public types. Not run by Jest: the typecheck of
// the package covers this file, so a `@ts-expect-error` that stops erroring
// (a type that got looser) fails the run. The functions are never called.
import type { Message, SendResult, SentRecord, Transport } from '@tributary/core';
import {
  createMarkerProducer,
  createMessageSender,
  createMqClient,
  createRedeliverer,
  type Marker,
  type MarkerTarget,
  type MessageSender,
  type MqClient,
  type RedelivererMetrics,
} from '@tributary/mq-markers';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

/** nextMessage resolves with a core Message or null on timeout; acknowledgements take core Messages. */
export function clientTypes(transport: Transport): void {
  const client = createMqClient(transport, { queue: 'q' });
  assertType<Equal<ReturnType<MqClient['nextMessage']>, Promise<Message | null>>>();
  assertType<Equal<Parameters<MqClient['processed']>[0], Message>>();
  assertType<Equal<ReturnType<MqClient['needsReset']>, boolean>>();
  // @ts-expect-error the queue is required
  createMqClient(transport, {});
  // @ts-expect-error nextMessage needs a timeout
  void client.nextMessage();
}

/** Markers: a discriminated union; only start and keep-alive carry a deadline. */
export function markerTypes(marker: Marker): void {
  if (marker.kind === 'end') {
    // @ts-expect-error an end marker has no deadline
    void marker.deadline;
  } else {
    assertType<Equal<typeof marker.deadline, number>>();
  }
  const target: MarkerTarget = { partition: 0, offset: 1 };
  // @ts-expect-error a marker target needs an offset
  const noOffset: MarkerTarget = { partition: 0 };
  void [target, noOffset];
}

/** Senders report per message; the marker producer needs its topic. */
export function senderTypes(transport: Transport): void {
  const sender = createMessageSender(transport);
  assertType<Equal<ReturnType<MessageSender['send']>, Promise<SentRecord>>>();
  assertType<Equal<ReturnType<MessageSender['sendBatch']>, Promise<SendResult[]>>>();
  void sender.flush();
  // @ts-expect-error the markers topic is required
  createMarkerProducer(transport, {});
  const r = createRedeliverer(transport, { queue: 'q' });
  assertType<Equal<ReturnType<typeof r.metrics>, RedelivererMetrics>>();
  const m = r.metrics();
  // @ts-expect-error metrics are read-only
  m.redelivered = 1;
}
