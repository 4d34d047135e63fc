import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  ValidationError,
  bytesCodec,
  formatIssue,
  isStandardSchema,
  isTributaryError,
  jsonCodec,
  stringCodec,
  validate,
  validateAsync,
  type Codec,
  type StandardSchemaV1,
  type TributaryError,
} from '@tributary/core';

interface Order {
  id: number;
  items: { sku: string }[];
}

/** A tiny hand-written Standard Schema for Order, the way a schema library implements the spec. */
const orderSchema: StandardSchemaV1<unknown, Order> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const issues: StandardSchemaV1.Issue[] = [];
      const v = value as Partial<Order> | null;
      if (typeof v !== 'object' || v === null) return { issues: [{ message: 'Expected object' }] };
      if (typeof v.id !== 'number') issues.push({ message: 'Expected number', path: ['id'] });
      if (!Array.isArray(v.items)) issues.push({ message: 'Expected array', path: [{ key: 'items' }] });
      else
        v.items.forEach((item, i) => {
          if (typeof item?.sku !== 'string') issues.push({ message: 'Required', path: ['items', { key: i }, 'sku'] });
        });
      return issues.length ? { issues } : { value: v as Order };
    },
  },
};

/** Transforms: input is a string, output a Date — decode must return the output. */
const dateSchema: StandardSchemaV1<string, Date> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => (typeof value === 'string' ? { value: new Date(value) } : { issues: [{ message: 'Expected string' }] }),
  },
};

const asyncSchema: StandardSchemaV1<unknown, string> = {
  '~standard': { version: 1, vendor: 'asyncvendor', validate: async (value) => (typeof value === 'string' ? { value } : { issues: [{ message: 'Expected string' }] }) },
};

const encoder = new TextEncoder();

function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    if (isTributaryError(err)) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('jsonCodec', () => {
  it('round-trips JSON values as UTF-8 with application/json', () => {
    const codec = jsonCodec<{ name: string; n: number[] }>();
    expect(codec.contentType).toBe('application/json');
    const bytes = codec.encode({ name: 'zoë ✓', n: [1, 2] });
    expect(new TextDecoder().decode(bytes)).toBe('{"name":"zoë ✓","n":[1,2]}');
    expect(codec.decode(bytes)).toEqual({ name: 'zoë ✓', n: [1, 2] });
    expect(codec.decode(codec.encode(null as never))).toBeNull();
  });

  it('fails bad JSON with ERR_DECODE and the parser error as cause', () => {
    const err = thrown(() => jsonCodec().decode(encoder.encode('{"a":')));
    expect(err.code).toBe('ERR_DECODE');
    expect(err.cause).toBeInstanceOf(SyntaxError);
    expect(err.retriable).toBe(false);
  });

  it('fails malformed UTF-8 with ERR_DECODE instead of decoding replacement characters', () => {
    const err = thrown(() => jsonCodec().decode(new Uint8Array([0x22, 0xff, 0xfe, 0x22])));
    expect(err.code).toBe('ERR_DECODE');
    expect(err.message).toMatch(/UTF-8/);
    expect(err.cause).toBeDefined();
  });

  it('fails values JSON cannot hold with ERR_ENCODE', () => {
    const codec = jsonCodec<unknown>();
    expect(thrown(() => codec.encode(undefined)).code).toBe('ERR_ENCODE');
    expect(thrown(() => codec.encode(() => 1)).code).toBe('ERR_ENCODE');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const err = thrown(() => codec.encode(cyclic));
    expect(err.code).toBe('ERR_ENCODE');
    expect(err.cause).toBeInstanceOf(TypeError);
    expect(thrown(() => codec.encode(10n)).code).toBe('ERR_ENCODE');
  });

  it('validates decoded values against a Standard Schema and types the result', () => {
    const codec = jsonCodec({ schema: orderSchema });
    const order: Order = codec.decode(encoder.encode('{"id":7,"items":[{"sku":"a"}]}'));
    expect(order).toEqual({ id: 7, items: [{ sku: 'a' }] });
  });

  it('reports every issue with its path on invalid data (ERR_VALIDATION)', () => {
    const codec = jsonCodec({ schema: orderSchema });
    const err = thrown(() => codec.decode(encoder.encode('{"id":"x","items":[{"sku":"a"},{}]}')));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe('ERR_VALIDATION');
    expect(err.message).toContain('id: Expected number');
    expect(err.message).toContain('items[1].sku: Required');
    expect((err as ValidationError).issues).toHaveLength(2);
  });

  it('returns the schema output (transforms apply on decode)', () => {
    const codec: Codec<Date> = jsonCodec({ schema: dateSchema });
    const d = codec.decode(encoder.encode('"2024-01-02T03:04:05.000Z"'));
    expect(d).toBeInstanceOf(Date);
    expect(d.toISOString()).toBe('2024-01-02T03:04:05.000Z');
  });

  it('refuses async validators in decode with a pointer to parseDataAsync', () => {
    const codec = jsonCodec({ schema: asyncSchema });
    const err = thrown(() => codec.decode(encoder.encode('"hi"')));
    expect(err.code).toBe('ERR_VALIDATION');
    expect(err.message).toMatch(/async/);
    expect(err.message).toContain('parseDataAsync');
  });

  it('rejects a schema option that is not a Standard Schema', () => {
    expect(() => jsonCodec({ schema: {} as StandardSchemaV1<unknown, unknown> })).toThrow(ConfigError);
  });
});

describe('stringCodec', () => {
  it('round-trips text', () => {
    expect(stringCodec.contentType).toBe('text/plain; charset=utf-8');
    expect(stringCodec.decode(stringCodec.encode('héllo 🌊'))).toBe('héllo 🌊');
  });

  it('fails malformed UTF-8 with ERR_DECODE', () => {
    expect(thrown(() => stringCodec.decode(new Uint8Array([0xc3]))).code).toBe('ERR_DECODE');
  });

  it('refuses non-strings with ERR_ENCODE (no silent String() coercion)', () => {
    expect(thrown(() => stringCodec.encode(42 as unknown as string)).code).toBe('ERR_ENCODE');
  });
});

describe('bytesCodec', () => {
  it('passes bytes through untouched, Buffers included', () => {
    const bytes = new Uint8Array([0, 1, 255]);
    expect(bytesCodec.contentType).toBe('application/octet-stream');
    expect(bytesCodec.encode(bytes)).toBe(bytes);
    expect(bytesCodec.decode(bytes)).toBe(bytes);
    const buf = Buffer.from('abc');
    expect(bytesCodec.encode(buf)).toBe(buf);
  });

  it('refuses non-bytes with ERR_ENCODE', () => {
    expect(thrown(() => bytesCodec.encode('abc' as unknown as Uint8Array)).code).toBe('ERR_ENCODE');
  });
});

describe('custom codecs', () => {
  it('any object with contentType/encode/decode is a Codec', () => {
    const upper: Codec<string> = {
      contentType: 'text/x-upper',
      encode: (v) => encoder.encode(v.toUpperCase()),
      decode: (b) => new TextDecoder().decode(b),
    };
    expect(upper.decode(upper.encode('abc'))).toBe('ABC');
  });
});

describe('types (compile-time)', () => {
  it('infers T from the schema and refuses other values', () => {
    const codec = jsonCodec({ schema: orderSchema });
    const typed: Codec<Order> = codec;
    const inferred: StandardSchemaV1.InferOutput<typeof orderSchema> = { id: 1, items: [] };
    // @ts-expect-error encode takes the schema's output type (Order), not a string
    const misuse = (): Uint8Array => codec.encode('not an order');
    expect(typed).toBe(codec);
    expect(typed.decode(codec.encode(inferred))).toEqual(inferred);
    expect(typeof misuse).toBe('function');
  });

  it('defaults to unknown without a schema', () => {
    const value = jsonCodec().decode(encoder.encode('1'));
    // @ts-expect-error unknown must be narrowed before use
    const n: number = value;
    expect(n).toBe(1);
  });
});

describe('validate / validateAsync', () => {
  it('returns the validated value', () => {
    expect(validate(orderSchema, { id: 1, items: [] })).toEqual({ id: 1, items: [] });
  });

  it('names the vendor and formats a root issue', () => {
    const err = thrown(() => validate(orderSchema, 'nope'));
    expect(err.message).toBe('test validation failed: (root): Expected object');
  });

  it('wraps a validator that throws in ERR_VALIDATION with the cause', () => {
    const boom = new Error('library bug');
    const throwing: StandardSchemaV1<unknown, never> = {
      '~standard': {
        version: 1,
        vendor: 'x',
        validate: () => {
          throw boom;
        },
      },
    };
    const err = thrown(() => validate(throwing, 1));
    expect(err.code).toBe('ERR_VALIDATION');
    expect(err.cause).toBe(boom);
  });

  it('validateAsync supports async and sync validators', async () => {
    await expect(validateAsync(asyncSchema, 'ok')).resolves.toBe('ok');
    await expect(validateAsync(orderSchema, { id: 1, items: [] })).resolves.toEqual({ id: 1, items: [] });
    await expect(validateAsync(asyncSchema, 5)).rejects.toBeInstanceOf(ValidationError);
  });

  it('a rejected async validation that validate() refused is not an unhandled rejection', async () => {
    const failing: StandardSchemaV1<unknown, never> = {
      '~standard': { version: 1, vendor: 'x', validate: () => Promise.reject(new Error('async fail')) },
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      expect(() => validate(failing, 1)).toThrow(/async/);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('formatIssue renders symbol and numeric path segments', () => {
    expect(formatIssue({ message: 'm', path: [Symbol('s'), 0, { key: 'a' }] })).toBe('Symbol(s)[0].a: m');
  });

  it('isStandardSchema recognises schema objects and callable schemas', () => {
    const callable = Object.assign(() => undefined, orderSchema);
    expect(isStandardSchema(orderSchema)).toBe(true);
    expect(isStandardSchema(callable)).toBe(true);
    expect(isStandardSchema({ '~standard': {} })).toBe(false);
    expect(isStandardSchema(null)).toBe(false);
  });
});
