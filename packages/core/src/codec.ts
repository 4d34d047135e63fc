/**
 * Codecs turn values into record bytes and back, and Standard Schema
 * validators check decoded data. Any object that satisfies {@link Codec}
 * works wherever Tributary takes a codec; the ones here cover JSON, UTF-8
 * text and raw bytes.
 */
import { ConfigCheck } from './config';
import { TributaryError, errorMessage } from './errors';

/**
 * Encodes values of type `T` to record bytes and decodes them back.
 *
 * Contract: `decode(encode(v))` equals `v` for every value the codec accepts;
 * `encode` throws ERR_ENCODE for a value it cannot represent; `decode` throws
 * ERR_DECODE (cause = the underlying error) for bytes it cannot read, or
 * ERR_VALIDATION when the bytes decode but fail the codec's schema. Both are
 * synchronous and must not keep state between calls.
 */
export interface Codec<T> {
  /** MIME type of the encoded bytes; becomes the `content-type` header of events. */
  readonly contentType: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/**
 * The Standard Schema interface, v1 (https://standardschema.dev), vendored as
 * a type so core keeps no runtime dependency. Zod ≥ 3.24, Valibot ≥ 1,
 * ArkType ≥ 2, Effect Schema and others implement it, so their schemas can be
 * passed wherever Tributary takes a `StandardSchemaV1`.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

// The spec publishes its types as a declaration-only namespace; keeping that
// shape lets users write `StandardSchemaV1.InferOutput<S>` as they do with the
// spec package. It emits no code.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace StandardSchemaV1 {
  export interface Props<Input = unknown, Output = Input> {
    /** Version of the standard. */
    readonly version: 1;
    /** Name of the schema library. */
    readonly vendor: string;
    /** Validates an unknown value; may return a promise (async validators). */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Inferred types, for type inference only. */
    readonly types?: Types<Input, Output> | undefined;
  }

  export type Result<Output> = SuccessResult<Output> | FailureResult;

  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }

  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }

  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  export interface PathSegment {
    readonly key: PropertyKey;
  }

  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }

  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}

/** Data failed its schema: ERR_VALIDATION, with every issue the validator reported. */
export class ValidationError extends TributaryError {
  readonly issues: readonly StandardSchemaV1.Issue[];

  constructor(issues: readonly StandardSchemaV1.Issue[], vendor?: string) {
    super('ERR_VALIDATION', `${vendor ? `${vendor} ` : ''}validation failed: ${issues.map(formatIssue).join('; ')}`);
    this.name = 'ValidationError';
    this.issues = Object.freeze([...issues]);
  }
}

/** `path.to[0].field: message`, or `(root): message` for an issue without a path. */
export function formatIssue(issue: StandardSchemaV1.Issue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

function formatPath(path: StandardSchemaV1.Issue['path']): string {
  if (!path || path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** True for any object that implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props = (value as { '~standard'?: { validate?: unknown } })['~standard'];
  return typeof props === 'object' && props !== null && typeof props.validate === 'function';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function toOutput<T>(result: StandardSchemaV1.Result<T>, vendor: string): T {
  if (result.issues) throw new ValidationError(result.issues, vendor);
  return result.value;
}

function callValidate<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>> {
  try {
    return schema['~standard'].validate(value);
  } catch (err) {
    // A validator that throws instead of reporting issues still means "invalid data".
    throw new TributaryError('ERR_VALIDATION', `validator threw: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Runs a Standard Schema validator synchronously and returns its output.
 *
 * @throws ValidationError (ERR_VALIDATION) listing every issue (path and message).
 * @throws TributaryError ERR_VALIDATION when the validator is async: codecs
 *   decode synchronously, so async validators belong in `parseDataAsync`.
 */
export function validate<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): T {
  const result = callValidate(schema, value);
  if (isThenable(result)) {
    // Nobody will await it: swallow its outcome so it cannot become an unhandled rejection.
    result.then(undefined, () => undefined);
    throw new TributaryError(
      'ERR_VALIDATION',
      `the ${schema['~standard'].vendor} validator is async; synchronous paths (codecs, parseData) need a sync schema — use parseDataAsync or validateAsync for async validators`,
    );
  }
  return toOutput(result, schema['~standard'].vendor);
}

/** Like {@link validate}, for sync and async validators alike. */
export async function validateAsync<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): Promise<T> {
  const result = await callValidate(schema, value);
  return toOutput(result, schema['~standard'].vendor);
}

const utf8Encoder = new TextEncoder();
// `fatal` turns malformed UTF-8 into an error instead of silent U+FFFD replacement characters.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (err) {
    throw new TributaryError('ERR_DECODE', `${what}: invalid UTF-8 (${errorMessage(err)})`, { cause: err });
  }
}

export interface JsonCodecOptions<T> {
  /**
   * Validates (and may transform) every decoded value. Runs on decode only:
   * the schema's output type is what `encode` takes, and a schema with
   * transforms does not accept its own output as input.
   */
  readonly schema?: StandardSchemaV1<unknown, T>;
}

/**
 * JSON as UTF-8 (`application/json`).
 *
 * `encode` throws ERR_ENCODE for values JSON cannot hold (undefined,
 * functions, symbols, BigInt, cycles). `decode` throws ERR_DECODE for bad
 * UTF-8 or bad JSON, and ERR_VALIDATION when `schema` rejects the value.
 * Without a schema the decoded value is trusted to be a `T`.
 */
export function jsonCodec<T = unknown>(options: JsonCodecOptions<T> = {}): Codec<T> {
  const { schema } = options;
  new ConfigCheck('jsonCodec')
    .check(schema === undefined || isStandardSchema(schema), 'schema', 'must implement Standard Schema v1 (a "~standard" property with a validate function)')
    .throwIfInvalid();
  return Object.freeze({
    contentType: 'application/json',
    encode(value: T): Uint8Array {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (err) {
        throw new TributaryError('ERR_ENCODE', `jsonCodec: cannot encode value: ${errorMessage(err)}`, { cause: err });
      }
      // JSON.stringify returns undefined (not a string) for undefined, functions and symbols.
      if (typeof text !== 'string') {
        throw new TributaryError('ERR_ENCODE', `jsonCodec: cannot encode ${typeof value} as JSON`);
      }
      return utf8Encoder.encode(text);
    },
    decode(bytes: Uint8Array): T {
      const text = decodeUtf8(bytes, 'jsonCodec');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new TributaryError('ERR_DECODE', `jsonCodec: invalid JSON (${errorMessage(err)})`, { cause: err });
      }
      return schema ? validate(schema, parsed) : (parsed as T);
    },
  });
}

/** UTF-8 text (`text/plain; charset=utf-8`); decoding malformed UTF-8 throws ERR_DECODE. */
export const stringCodec: Codec<string> = Object.freeze({
  contentType: 'text/plain; charset=utf-8',
  encode(value: string): Uint8Array {
    if (typeof value !== 'string') throw new TributaryError('ERR_ENCODE', `stringCodec: expected a string (got ${typeof value})`);
    return utf8Encoder.encode(value);
  },
  decode(bytes: Uint8Array): string {
    return decodeUtf8(bytes, 'stringCodec');
  },
});

/**
 * Raw bytes (`application/octet-stream`), passed through without copying:
 * the decoded array may share memory with the record it came from.
 */
export const bytesCodec: Codec<Uint8Array> = Object.freeze({
  contentType: 'application/octet-stream',
  encode(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) throw new TributaryError('ERR_ENCODE', `bytesCodec: expected a Uint8Array (got ${typeof value})`);
    return value;
  },
  decode(bytes: Uint8Array): Uint8Array {
    return bytes;
  },
});
