// The attribute and metric names the middleware spells out must be the
// semantic conventions' own (imported here, in tests only).
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
} from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { MessagingAttr, MessagingMetric, OperationType } from '../src/semconv';

describe('semantic-convention names', () => {
  it('match @opentelemetry/semantic-conventions', () => {
    expect(MessagingAttr).toEqual({
      system: ATTR_MESSAGING_SYSTEM,
      destinationName: ATTR_MESSAGING_DESTINATION_NAME,
      partitionId: ATTR_MESSAGING_DESTINATION_PARTITION_ID,
      operationType: ATTR_MESSAGING_OPERATION_TYPE,
      operationName: ATTR_MESSAGING_OPERATION_NAME,
      consumerGroup: ATTR_MESSAGING_CONSUMER_GROUP_NAME,
      messageId: ATTR_MESSAGING_MESSAGE_ID,
      batchCount: ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
      kafkaKey: ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
      kafkaOffset: ATTR_MESSAGING_KAFKA_OFFSET,
      kafkaTombstone: ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE,
      errorType: ATTR_ERROR_TYPE,
    });
    expect(MessagingMetric).toEqual({
      sentMessages: METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
      consumedMessages: METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
      operationDuration: METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
      processDuration: METRIC_MESSAGING_PROCESS_DURATION,
    });
    expect(OperationType).toEqual({ send: MESSAGING_OPERATION_TYPE_VALUE_SEND, process: MESSAGING_OPERATION_TYPE_VALUE_PROCESS });
  });
});
