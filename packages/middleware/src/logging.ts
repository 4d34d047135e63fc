/**
 * Logging middleware: a child logger per record, bound to the record's
 * coordinates and handed to the handler as `ctx.logger`, and one log line
 * per outcome (processed, retried, dead-lettered, skipped, failed).
 */
import {
  ConfigCheck,
  EventHeaders,
  errorMessage,
  type HandlerContext,
  type HandlerMiddleware,
  type Logger,
  type Message,
} from '@tributary/core';
import { trace, context as otelContext } from '@opentelemetry/api';
import { definedOnly } from './defined-only';
import { observeRecord, type RecordEvent } from './record-events';

/** A logger method name, or `silent` for no line at all. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Levels of the outcome lines. */
export interface LoggingLevels {
  /** The record was processed (`record processed`). Default `debug`. */
  readonly success: LogLevel;
  /** An attempt failed and is retried (`record retry`). Default `warn`. */
  readonly retry: LogLevel;
  /** The record was dead-lettered (`record dead-lettered`). Default `error`. */
  readonly deadLetter: LogLevel;
  /** The record was skipped as a duplicate (`record skipped as duplicate`). Default `debug`. */
  readonly duplicate: LogLevel;
  /** The record failed and the error goes on to the consumer (`record failed`). Default `error`. */
  readonly failure: LogLevel;
}

export const LOGGING_LEVEL_DEFAULTS: LoggingLevels = Object.freeze({
  success: 'debug',
  retry: 'warn',
  deadLetter: 'error',
  duplicate: 'debug',
  failure: 'error',
});

export interface LoggingOptions {
  /** Parent of the per-record loggers (pino fits). Default: the consumer's logger (`ctx.logger`). */
  readonly logger?: Logger;
  /** Levels of the outcome lines; missing ones take {@link LOGGING_LEVEL_DEFAULTS}. */
  readonly levels?: Partial<LoggingLevels>;
  /**
   * Record headers to bind as `headers`: `true` for all, a list of names for
   * those (case-insensitive). Default false: headers are not logged.
   */
  readonly headers?: boolean | readonly string[];
  /**
   * Bindings whose value is replaced by `censor`: any binding name (`key`,
   * `eventId`, `topic`, …), `headers` for all headers, or `headers.<name>`
   * for one header (case-insensitive). Default none.
   */
  readonly redact?: readonly string[];
  /** What redacted values become. Default `[Redacted]` (pino's). */
  readonly censor?: string;
}

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

/**
 * Logs what becomes of each record.
 *
 * Every record gets a child logger of `logger` bound to `topic`,
 * `partition`, `offset`, `key`, `eventType` and `eventId` (the `ce_type` /
 * `ce_id` headers, when present), `groupId`, and `trace_id` / `span_id`
 * when a span is active (withTracing further out) — the handler logs
 * through it as `ctx.logger`. The outcome lines carry `durationMs` and, on
 * failures, `err` (pino's error serializer applies). Retries, dead-letters
 * and duplicates come from middleware further in, as record events.
 *
 * Nothing is written to the console; a level of `silent` drops that line.
 *
 * @throws ConfigError (ERR_CONFIG) naming every invalid option.
 */
export function withLogging(options: LoggingOptions = {}): HandlerMiddleware {
  const levels: LoggingLevels = { ...LOGGING_LEVEL_DEFAULTS, ...definedOnly(options.levels ?? {}) };
  const check = new ConfigCheck('withLogging');
  if (options.logger !== undefined) {
    const l = options.logger as Partial<Logger> | null;
    check.check(
      typeof l === 'object' && l !== null && (['debug', 'info', 'warn', 'error', 'child'] as const).every((m) => typeof l[m] === 'function'),
      'logger',
      'must be a Logger (pino fits)',
    );
  }
  for (const [name, level] of Object.entries(levels)) check.oneOf(level, `levels.${name}`, LEVELS);
  const headers = options.headers ?? false;
  check.check(
    typeof headers === 'boolean' || (Array.isArray(headers) && headers.every((h) => typeof h === 'string')),
    'headers',
    'must be a boolean or a list of header names',
  );
  const redact = options.redact ?? [];
  check.check(Array.isArray(redact) && redact.every((r) => typeof r === 'string' && r.length > 0), 'redact', 'must be a list of binding names');
  const censor = options.censor ?? '[Redacted]';
  check.check(typeof censor === 'string', 'censor', 'must be a string');
  check.throwIfInvalid();

  const bind = bindingsOf(headers, redact, censor);
  return (next) => async (message, ctx) => {
    const started = performance.now();
    const logger = (options.logger ?? ctx.logger).child(bind(message, ctx));
    const inner = observeRecord({ ...ctx, logger }, (event) => logEvent(logger, levels, event));
    try {
      await next(message, inner);
    } catch (err) {
      log(logger, levels.failure, { err, durationMs: elapsed(started) }, `record failed: ${errorMessage(err)}`);
      throw err;
    }
    log(logger, levels.success, { durationMs: elapsed(started) }, 'record processed');
  };
}

function logEvent(logger: Logger, levels: LoggingLevels, event: RecordEvent): void {
  switch (event.type) {
    case 'retry':
      log(logger, levels.retry, { err: event.error, attempt: event.attempt, delayMs: event.delayMs }, `record retry after attempt ${event.attempt}: ${errorMessage(event.error)}`);
      break;
    case 'dead-letter':
      log(
        logger,
        levels.deadLetter,
        event.writer ? { err: event.error, deadLetterWriter: true, attempts: event.attempts } : { err: event.error, deadLetterTopic: event.topic, attempts: event.attempts },
        `record dead-lettered ${event.writer ? 'through the writer' : `to ${event.topic}`}: ${errorMessage(event.error)}`,
      );
      break;
    case 'duplicate':
      log(logger, levels.duplicate, { id: event.id }, 'record skipped as duplicate');
      break;
  }
}

function log(logger: Logger, level: LogLevel, fields: object, msg: string): void {
  if (level !== 'silent') logger[level](fields, msg);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/** Builds the per-record bindings, with headers selected and redaction applied. */
function bindingsOf(
  headers: boolean | readonly string[],
  redact: readonly string[],
  censor: string,
): (message: Message, ctx: HandlerContext) => Record<string, unknown> {
  const redactAllHeaders = redact.includes('headers');
  const redactedHeaders = new Set(redact.filter((r) => r.startsWith('headers.')).map((r) => r.slice('headers.'.length).toLowerCase()));
  const redactedFields = new Set(redact.filter((r) => r !== 'headers' && !r.startsWith('headers.')));
  const wantedHeaders = typeof headers === 'boolean' ? undefined : new Set(headers.map((h) => h.toLowerCase()));

  return (message, ctx) => {
    const b: Record<string, unknown> = { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key };
    const eventType = message.headers[EventHeaders.type];
    if (eventType !== undefined) b.eventType = eventType;
    const eventId = message.headers[EventHeaders.id];
    if (eventId !== undefined) b.eventId = eventId;
    if (ctx.groupId !== undefined) b.groupId = ctx.groupId;
    const span = trace.getSpanContext(otelContext.active());
    if (span !== undefined && trace.isSpanContextValid(span)) {
      b.trace_id = span.traceId;
      b.span_id = span.spanId;
    }
    if (headers !== false) {
      const h: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers)) {
        const lower = name.toLowerCase();
        if (wantedHeaders !== undefined && !wantedHeaders.has(lower)) continue;
        h[name] = redactedHeaders.has(lower) ? censor : value;
      }
      b.headers = redactAllHeaders ? censor : h;
    }
    for (const field of redactedFields) {
      if (field in b && b[field] !== null && b[field] !== undefined) b[field] = censor;
    }
    return b;
  };
}
