/**
 * One error base class for the whole toolkit (after KafkaJS): a stable `code`,
 * a `retriable` flag that retry loops trust, the `cause`, and the coordinates
 * of the record it concerns.
 */

/**
 * Every error code Tributary raises, listed once. `retriable` is the default
 * for errors of that code; a single error may override it. Each code is
 * documented in packages/core/README.md (a test keeps the two in step).
 */
export const ErrorCodes = {
  ERR_CONFIG: { retriable: false, summary: 'Invalid configuration; lists every bad field.' },
  ERR_CLOSED: { retriable: false, summary: 'The component was used after close() or stop().' },
  ERR_STATE: { retriable: false, summary: 'A call that is not valid in the current state (e.g. start twice).' },
  ERR_CONNECTION: { retriable: true, summary: 'The broker could not be reached or the connection dropped.' },
  ERR_TIMEOUT: { retriable: true, summary: 'An operation did not finish in time.' },
  ERR_UNKNOWN_TOPIC: { retriable: false, summary: 'The topic or partition does not exist.' },
  ERR_TOPIC_EXISTS: { retriable: false, summary: 'createTopics asked for a topic that already exists.' },
  ERR_RECORD_TOO_LARGE: { retriable: false, summary: 'A record is larger than the broker or producer accepts.' },
  ERR_AUTHENTICATION: { retriable: false, summary: 'The broker rejected the credentials.' },
  ERR_AUTHORIZATION: { retriable: false, summary: 'The principal lacks permission for the operation.' },
  ERR_PRODUCE: { retriable: true, summary: 'The broker did not accept a record (retriable unless stated).' },
  ERR_COMMIT: { retriable: true, summary: 'Committing offsets failed.' },
  ERR_TRANSPORT: { retriable: false, summary: 'Any other transport failure; see cause.' },
  ERR_DECODE: { retriable: false, summary: 'A record could not be decoded: its codec failed, or an event attribute header is missing or invalid.' },
  ERR_ENCODE: { retriable: false, summary: 'A value could not be encoded by its codec (e.g. undefined or a cycle for JSON).' },
  ERR_VALIDATION: { retriable: false, summary: 'Decoded data failed its schema validator.' },
  ERR_UNROUTABLE: { retriable: false, summary: 'No route (and no default) matched a record.' },
  ERR_EVENT_NOT_FOUND: { retriable: false, summary: 'An event type has no topic in the registry.' },
  ERR_NO_SUBSCRIBERS: { retriable: false, summary: 'A scheduler was started with no subscriber tasks.' },
  ERR_EMPTY_MESSAGE: { retriable: false, summary: 'A message without payload where one is required.' },
  ERR_HANDLER: { retriable: true, summary: 'A handler failed without classifying its error.' },
  ERR_RETRIES_EXHAUSTED: { retriable: false, summary: 'Retries ran out; the last error is the cause.' },
  ERR_UNRECOVERABLE: { retriable: false, summary: 'Marked by the caller as never worth retrying.' },
  ERR_DEAD_LETTER: { retriable: true, summary: 'A record could not be dead-lettered: its publish or write failed, or (not retriable then) the deadLetter.topic function threw or returned no topic.' },
  ERR_DEAD_LETTER_RATE: { retriable: false, summary: 'The dead-letter rate limit was reached; the consumer stopped instead of dead-lettering more.' },
  ERR_DROPPED: { retriable: false, summary: 'A record was dropped by policy after retries ran out.' },
  ERR_STOPPED: { retriable: false, summary: 'Consumption stopped by policy (e.g. exhausted retries with a stop policy).' },
  ERR_ABORTED: { retriable: false, summary: 'The operation was aborted through its AbortSignal.' },
} as const satisfies Record<string, { retriable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** Where a failing record sits, attached to errors about it. */
export interface RecordContext {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly key?: string | null;
}

export interface TributaryErrorOptions {
  cause?: unknown;
  /** Overrides the code's default. */
  retriable?: boolean;
  context?: RecordContext;
}

const BRAND = Symbol.for('@tributary/error');

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: RecordContext | undefined;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retriable = options.retriable ?? ErrorCodes[code].retriable;
    this.context = options.context;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True for any TributaryError, also one created by another copy of this
 * package (a brand symbol from the global registry, not `instanceof`).
 */
export function isTributaryError(err: unknown): err is TributaryError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** One invalid configuration field. */
export interface ConfigProblem {
  readonly field: string;
  readonly message: string;
}

/** Invalid configuration: every bad field at once, never the first only. */
export class ConfigError extends TributaryError {
  readonly problems: readonly ConfigProblem[];

  constructor(component: string, problems: readonly ConfigProblem[]) {
    super(
      'ERR_CONFIG',
      `invalid ${component} config: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
    );
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

/** Retries ran out; the last error is `cause`. */
export class RetriesExhaustedError extends TributaryError {
  readonly attempts: number;

  constructor(attempts: number, lastError: unknown, context?: RecordContext) {
    super('ERR_RETRIES_EXHAUSTED', `gave up after ${attempts} attempts: ${errorMessage(lastError)}`, {
      cause: lastError,
      ...(context ? { context } : {}),
    });
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * Wraps an error that no retry can fix (seed 004's ErrUnrecoverableWrap): retry
 * middleware gives up at once and dead-letter middleware sends the record on.
 */
export class UnrecoverableError extends TributaryError {
  constructor(cause: unknown, context?: RecordContext) {
    super('ERR_UNRECOVERABLE', `unrecoverable: ${errorMessage(cause)}`, {
      cause,
      ...(context ? { context } : {}),
    });
    this.name = 'UnrecoverableError';
  }
}

/** ERR_CLOSED for `call` on a closed `component`. */
export function closedError(component: string, call: string): TributaryError {
  return new TributaryError('ERR_CLOSED', `${component} is closed: ${call} is not allowed`);
}

/** Marks `err` as unrecoverable. */
export function unrecoverable(err: unknown, context?: RecordContext): UnrecoverableError {
  return new UnrecoverableError(err, context);
}

/** True when `err`, or any error in its cause chain, is unrecoverable. */
export function isUnrecoverableError(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (isTributaryError(e) && e.code === 'ERR_UNRECOVERABLE') return true;
  }
  return false;
}

/** Message of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    // JSON.stringify gives undefined (not a string) for undefined, functions and symbols.
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** `err` and its causes, outermost first (bounded, cycle-safe). */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < 16 && !chain.includes(current)) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

/**
 * Generic connection error patterns common to most brokers (seed 001). Broker
 * specific patterns are passed as `extra`.
 */
export const CONNECTION_PATTERNS: readonly string[] = Object.freeze([
  'connection refused',
  'connection reset',
  'broken pipe',
  'i/o timeout',
  'no route to host',
  'network is unreachable',
  'connection closed',
  'dial tcp',
  'econnrefused',
  'econnreset',
  'epipe',
  'ehostunreach',
  'enetunreach',
  'socket hang up',
  'all broker connections are down',
  'broker transport failure',
]);

/** Generic retryable patterns that are not connection-specific (seed 001). */
export const RETRYABLE_PATTERNS: readonly string[] = Object.freeze(['temporary', 'request timed out', 'timed out', 'etimedout']);

function matchesAny(err: unknown, patterns: readonly string[]): boolean {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown } | null)?.code;
    const text = `${errorMessage(e)} ${typeof code === 'string' || typeof code === 'number' ? code : ''}`.toLowerCase();
    if (patterns.some((p) => text.includes(p.toLowerCase()))) return true;
  }
  return false;
}

/** True for connection-level failures: ERR_CONNECTION, or a message matching a connection pattern. */
export function isConnectionError(err: unknown, ...extra: string[]): boolean {
  if (err === null || err === undefined) return false;
  for (const e of causeChain(err)) {
    if (isTributaryError(e) && e.code === 'ERR_CONNECTION') return true;
  }
  return matchesAny(err, extra.length ? [...CONNECTION_PATTERNS, ...extra] : CONNECTION_PATTERNS);
}

/**
 * True when retrying may help. Programmer errors (TypeError, RangeError,
 * SyntaxError, ReferenceError) and unrecoverable errors never are; a
 * TributaryError answers with its own `retriable` flag; connection errors
 * always are; otherwise the message is matched against RETRYABLE_PATTERNS and
 * `extra`. Unclassified errors are not retryable here — retry middleware
 * decides its own default for those.
 */
export function isRetryableError(err: unknown, ...extra: string[]): boolean {
  if (err === null || err === undefined) return false;
  if (isProgrammerError(err) || isUnrecoverableError(err)) return false;
  if (isTributaryError(err)) return err.retriable;
  if (isConnectionError(err)) return true;
  return matchesAny(err, extra.length ? [...RETRYABLE_PATTERNS, ...extra] : RETRYABLE_PATTERNS);
}

/**
 * True for failures no retry can fix: programmer errors, unrecoverable errors,
 * and TributaryErrors whose `retriable` flag is false (RetriesExhaustedError
 * included, so an outer retry never multiplies an inner one). Retry loops
 * (the consumer runtime, retry middleware) retry everything else by default:
 * an unclassified `Error` from a handler is usually a transient dependency.
 */
export function isPermanentError(err: unknown): boolean {
  if (isProgrammerError(err) || isUnrecoverableError(err)) return true;
  return isTributaryError(err) && !err.retriable;
}

/** TypeError, RangeError, SyntaxError, ReferenceError: bugs that no retry fixes. */
export function isProgrammerError(err: unknown): boolean {
  const bug = err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError;
  // Node's fetch reports a refused connection as TypeError('fetch failed') with
  // the network error as its cause: judge such wrappers by their cause.
  if (bug && err.cause !== undefined) return isProgrammerError(err.cause);
  return bug;
}

/** Error classification a transport or user can supply (seed 001's ErrorClassifier). */
export interface ErrorClassifier {
  isConnectionError(err: unknown): boolean;
  isRetryableError(err: unknown): boolean;
}

/** The default classifier built from the functions above. */
export const defaultErrorClassifier: ErrorClassifier = Object.freeze({
  isConnectionError: (err: unknown) => isConnectionError(err),
  isRetryableError: (err: unknown) => isRetryableError(err),
});
