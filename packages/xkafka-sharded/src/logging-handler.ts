import { errorMessage, type HandlerMiddleware, type Logger } from '@tributary/core';

/**
 * Consumer middleware that logs every record it handles: `debug` when the
 * handler succeeds (with its duration), `warn` when it fails (the error is
 * rethrown unchanged, so retries and policies still see it). On by default in
 * the sharded consumers (as the outermost middleware); turn it off with
 * `loggingHandler: false`.
 *
 * @param logger where to log; default: the consumer's logger (`ctx.logger`).
 */
export function loggingHandler(logger?: Logger): HandlerMiddleware {
  return (next) => async (message, ctx) => {
    const log = logger ?? ctx.logger;
    const started = performance.now();
    try {
      await next(message, ctx);
    } catch (err) {
      log.warn(
        {
          err,
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          key: message.key,
          attempt: ctx.attempt,
          durationMs: Math.round(performance.now() - started),
        },
        `record failed: ${errorMessage(err)}`,
      );
      throw err;
    }
    log.debug(
      {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        attempt: ctx.attempt,
        durationMs: Math.round(performance.now() - started),
      },
      'record handled',
    );
  };
}
