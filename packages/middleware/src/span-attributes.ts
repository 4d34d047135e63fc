import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { EventHeaders, errorMessage, type HandlerContext, type Message } from '@tributary/core';
import { errorType } from './error-type';
import { MessagingAttr, OperationType } from './semconv';

/** Attributes of a `process` span or metric point for one record. */
export function processAttributes(system: string, message: Message, ctx: HandlerContext): Attributes {
  const a: Attributes = {
    [MessagingAttr.system]: system,
    [MessagingAttr.destinationName]: message.topic,
    [MessagingAttr.partitionId]: String(message.partition),
    [MessagingAttr.operationType]: OperationType.process,
    [MessagingAttr.operationName]: OperationType.process,
    [MessagingAttr.kafkaOffset]: message.offset,
  };
  if (ctx.groupId !== undefined) a[MessagingAttr.consumerGroup] = ctx.groupId;
  if (message.key !== null) a[MessagingAttr.kafkaKey] = message.key;
  if (message.value === null) a[MessagingAttr.kafkaTombstone] = true;
  const id = message.headers[EventHeaders.id];
  if (id !== undefined) a[MessagingAttr.messageId] = id;
  return a;
}

/** Marks `span` failed by `err`: status ERROR, `error.type`, and the exception event for Errors. */
export function recordFailure(span: Span, err: unknown, description = errorMessage(err)): void {
  span.setAttribute(MessagingAttr.errorType, errorType(err));
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: description });
}
