/**
 * Logging of sends: one line per send call, and one per record that failed.
 */
import { ConfigCheck, errorMessage, type Logger, type ProducerMiddleware } from '@tributary/core';
import { definedOnly } from './defined-only';
import type { LogLevel } from './logging';

export interface SendLoggingLevels {
  /** Every record of the call was acknowledged (`records sent`). Default `debug`. */
  readonly success: LogLevel;
  /** A record failed (`record send failed`, one line each), or the call was rejected (`send failed`). Default `error`. */
  readonly failure: LogLevel;
}

export const SEND_LOGGING_LEVEL_DEFAULTS: SendLoggingLevels = Object.freeze({ success: 'debug', failure: 'error' });

export interface SendLoggingOptions {
  /** Where to log (pino fits). */
  readonly logger: Logger;
  readonly levels?: Partial<SendLoggingLevels>;
  /** Log record keys (`key`) on failure lines. Default true; false for keys that are personal data. */
  readonly logKeys?: boolean;
}

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

/**
 * Logs sends (a ProducerMiddleware: `wrapProducer(producer, withSendLogging({ logger }))`).
 * The success line carries `records`, `topics` and `durationMs`; a failure
 * line carries `topic`, `key` (unless `logKeys: false`) and `err`. Results
 * and rejections pass through unchanged.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withSendLogging(options: SendLoggingOptions): ProducerMiddleware {
  const o = (options ?? {}) as Partial<SendLoggingOptions>;
  const levels: SendLoggingLevels = { ...SEND_LOGGING_LEVEL_DEFAULTS, ...definedOnly(o.levels ?? {}) };
  const l = o.logger as Partial<Logger> | undefined;
  const check = new ConfigCheck('withSendLogging').check(
    typeof l === 'object' && l !== null && (['debug', 'info', 'warn', 'error'] as const).every((m) => typeof l[m] === 'function'),
    'logger',
    'must be a Logger (pino fits)',
  );
  for (const [name, level] of Object.entries(levels)) check.oneOf(level, `levels.${name}`, LEVELS);
  check.oneOf(o.logKeys ?? true, 'logKeys', [true, false]).throwIfInvalid();
  const logger = o.logger as Logger;
  const logKeys = o.logKeys ?? true;
  const log = (level: LogLevel, fields: object, msg: string): void => {
    if (level !== 'silent') logger[level](fields, msg);
  };

  return (next) => async (records) => {
    const started = performance.now();
    const topics = [...new Set(records.map((r) => r.topic))];
    const durationMs = (): number => Math.round((performance.now() - started) * 1000) / 1000;
    try {
      const results = await next(records);
      let failures = 0;
      results.forEach((r, i) => {
        if (r.ok) return;
        failures++;
        const key = records[i]?.key ?? null;
        log(levels.failure, { topic: r.topic, ...(logKeys ? { key } : {}), err: r.error }, `record send failed: ${errorMessage(r.error)}`);
      });
      if (failures === 0) log(levels.success, { records: records.length, topics, durationMs: durationMs() }, 'records sent');
      return results;
    } catch (err) {
      log(levels.failure, { records: records.length, topics, durationMs: durationMs(), err }, `send failed: ${errorMessage(err)}`);
      throw err;
    }
  };
}
