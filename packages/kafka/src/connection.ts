/**
 * Connecting a librdkafka client with a bounded wait, and telling *why* it
 * failed. librdkafka itself retries unreachable brokers forever; a caller
 * instead gets ERR_CONNECTION (or ERR_AUTHENTICATION when the broker answered
 * but refused the credentials) after `connectTimeoutMs`, naming what the
 * client saw.
 */
import { TributaryError, type Logger } from '@tributary/core';
import { RdKafkaCode, nativeCodeOf } from './errors';
import type { NativeError, NativeLogEvent } from './native';

interface DiagnosedClient {
  on(event: 'event.log', listener: (event: NativeLogEvent) => void): unknown;
  on(event: 'event.error', listener: (err: NativeError) => void): unknown;
}

const AUTH_TEXT = /sasl|authenticat|ssl handshake|certificate|credentials/i;
const AUTH_CODES: ReadonlySet<number> = new Set([
  RdKafkaCode.ERR__AUTHENTICATION,
  RdKafkaCode.ERR__SSL,
  RdKafkaCode.ERR_SASL_AUTHENTICATION_FAILED,
  RdKafkaCode.ERR_UNSUPPORTED_SASL_MECHANISM,
  RdKafkaCode.ERR_ILLEGAL_SASL_STATE,
]);
const CONNECTION_TEXT = /connect|connection|all broker|transport|resolve|refused|unreachable/i;
const KEEP = 8;

/**
 * Forwards a client's librdkafka logs to the Tributary logger and remembers
 * the latest failures (connect errors, authentication errors) to explain a
 * failed connect or a stalled request.
 */
export class ClientDiagnostics {
  readonly #logger: Logger;
  readonly #recent: string[] = [];
  #authFailure: string | undefined;
  #lastAt = 0;
  #authSignal: ((text: string) => void) | undefined;
  #authPromise: Promise<string> | undefined;

  constructor(client: DiagnosedClient, logger: Logger) {
    this.#logger = logger;
    client.on('event.log', (event) => this.#onLog(event));
    client.on('event.error', (err) => this.#onError(err));
  }

  /** The latest authentication or TLS failure librdkafka reported, if any. */
  get authFailure(): string | undefined {
    return this.#authFailure;
  }

  /**
   * Resolves with the failure text as soon as librdkafka reports that the
   * broker refused the credentials (at once if it already did): such a
   * failure is not retried, so waiting for a timeout would only delay it.
   */
  authFailed(): Promise<string> {
    if (this.#authFailure !== undefined) return Promise.resolve(this.#authFailure);
    this.#authPromise ??= new Promise((resolve) => (this.#authSignal = resolve));
    return this.#authPromise;
  }

  /** The latest failure texts, oldest first. */
  get recent(): readonly string[] {
    return this.#recent;
  }

  /**
   * Whether the latest failures the client logged were about reaching the
   * brokers (so a timed-out request is better reported as ERR_CONNECTION).
   */
  connectionTrouble(): boolean {
    const last = this.#recent.at(-1);
    return last !== undefined && Date.now() - this.#lastAt < 60_000 && CONNECTION_TEXT.test(last);
  }

  /** The error for a connect that did not succeed within `timeoutMs`. */
  connectError(err: unknown, what: string, brokers: readonly string[], timeoutMs: number): TributaryError {
    const code = nativeCodeOf(err);
    const auth = this.#authFailure ?? (code !== undefined && AUTH_CODES.has(code) ? String((err as NativeError).message) : undefined);
    const detail = auth ?? this.#recent.at(-1) ?? (err as { message?: string } | null)?.message ?? 'no answer';
    if (auth !== undefined) {
      return new TributaryError('ERR_AUTHENTICATION', `${what}: the broker rejected the connection to ${brokers.join(',')}: ${detail}`, {
        cause: err,
      });
    }
    return new TributaryError('ERR_CONNECTION', `${what}: could not connect to ${brokers.join(',')} within ${timeoutMs} ms: ${detail}`, {
      cause: err,
    });
  }

  #remember(text: string): void {
    this.#recent.push(text);
    this.#lastAt = Date.now();
    if (this.#recent.length > KEEP) this.#recent.shift();
    if (AUTH_TEXT.test(text)) this.#setAuthFailure(text);
  }

  #setAuthFailure(text: string): void {
    this.#authFailure ??= text;
    this.#authSignal?.(this.#authFailure);
  }

  #onLog(event: NativeLogEvent): void {
    const fields = { librdkafka: event.fac };
    // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
    if (event.severity <= 3) {
      this.#remember(event.message);
      this.#logger.error(fields, event.message);
    } else if (event.severity === 4) {
      this.#remember(event.message);
      this.#logger.warn(fields, event.message);
    } else if (event.severity <= 6) this.#logger.info(fields, event.message);
    else this.#logger.debug(fields, event.message);
  }

  #onError(err: NativeError): void {
    const code = nativeCodeOf(err);
    const text = String(err?.message ?? err);
    this.#remember(text);
    if (code !== undefined && AUTH_CODES.has(code)) this.#setAuthFailure(text);
    this.#logger.warn({ librdkafka: 'error', code }, text);
  }
}

interface Connectable {
  connect(options: { timeout: number; allTopics: boolean }, cb: (err: NativeError | null) => void): unknown;
}

/**
 * Connects `client` (a metadata round trip), failing after `timeoutMs` with
 * ERR_CONNECTION, or as soon as the broker refuses the credentials with
 * ERR_AUTHENTICATION.
 */
export function connectNative(
  client: Connectable,
  diagnostics: ClientDiagnostics,
  what: string,
  brokers: readonly string[],
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else reject(diagnostics.connectError(err, what, brokers, timeoutMs));
    };
    void diagnostics.authFailed().then((text) => settle({ code: RdKafkaCode.ERR__AUTHENTICATION, message: text }));
    try {
      client.connect({ timeout: timeoutMs, allTopics: false }, (err) => settle(err ?? undefined));
    } catch (err) {
      settle(err ?? new Error('connect failed'));
    }
  });
}
