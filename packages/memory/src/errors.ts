/**
 * The errors the memory components reject with or report to `onError`, built
 * in one place so every component words and classifies them alike.
 */
import {
  TributaryError,
  errorMessage,
  isTributaryError,
  partitionKey,
  type ConsumerHandlers,
  type Logger,
  type RecordBatch,
  type TopicPartition,
} from '@tributary/core';

/**
 * What `onError` receives when `onBatch` rejects: the handler's own
 * TributaryError unchanged (it classified the failure), anything else wrapped
 * as ERR_HANDLER with the batch's first record as context.
 */
export function batchError(err: unknown, batch: RecordBatch): TributaryError {
  if (isTributaryError(err)) return err;
  const first = batch.messages[0];
  return new TributaryError('ERR_HANDLER', `onBatch failed for ${batch.topic}/${batch.partition}: ${errorMessage(err)}`, {
    cause: err,
    context: { topic: batch.topic, partition: batch.partition, ...(first ? { offset: first.offset, key: first.key } : {}) },
  });
}

/** A rebalance callback (onAssigned / onRevoked) threw. Not fatal: the rebalance goes on. */
export function callbackError(callback: string, partitions: readonly TopicPartition[], err: unknown): TributaryError {
  return new TributaryError(
    'ERR_HANDLER',
    `${callback} failed for ${partitions.map(partitionKey).join(', ')}: ${errorMessage(err)}`,
    { cause: err, retriable: false },
  );
}

/** Logs an error and hands it to `onError` (whose own failure is only logged). */
export function reportError(
  logger: Logger,
  handlers: Pick<ConsumerHandlers, 'onError'> | undefined,
  error: TributaryError,
): void {
  logger.error({ err: error, code: error.code }, error.message);
  if (handlers?.onError === undefined) return;
  try {
    handlers.onError(error);
  } catch (err) {
    logger.error({ err }, `onError threw: ${errorMessage(err)}`);
  }
}
