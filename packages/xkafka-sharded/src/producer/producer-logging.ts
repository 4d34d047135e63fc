import { errorMessage, type Logger, type ProducerMiddleware } from '@tributary/core';

/**
 * Producer middleware (core's send-level ProducerMiddleware) that logs every
 * record sent through it: `debug` with where it landed, `warn` with the
 * error when the broker did not accept it, `error` when the whole send was
 * rejected (rethrown unchanged). On by default in DispatchingProducer, as the
 * outermost middleware; off with `loggingHandler: false`.
 */
export function producerLoggingHandler(logger: Logger): ProducerMiddleware {
  return (next) => async (records) => {
    const started = performance.now();
    let results;
    try {
      results = await next(records);
    } catch (err) {
      logger.error({ err, records: records.length, durationMs: Math.round(performance.now() - started) }, `send failed: ${errorMessage(err)}`);
      throw err;
    }
    const durationMs = Math.round(performance.now() - started);
    results.forEach((result, i) => {
      const key = records[i]?.key ?? null;
      if (result.ok) {
        logger.debug({ topic: result.topic, partition: result.partition, offset: result.offset, key, durationMs }, 'record produced');
      } else {
        logger.warn({ err: result.error, topic: result.topic, key, durationMs }, `produce failed: ${errorMessage(result.error)}`);
      }
    });
    return results;
  };
}
