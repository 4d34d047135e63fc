import {
  ack,
  deadLetter,
  jsonBatchHandler,
  jsonHandler,
  retry,
  unrecoverable,
  type Consumer,
  type ConsumerMetrics,
  type ProducerRecord,
  type StandardSchemaV1,
} from '@tributary/core';
import { uniqueGroup, waitFor } from '@tributary/testutil';
import { runtimeFixture } from './support';

/** A Standard Schema that wants `{ id }`. */
const withId: StandardSchemaV1<unknown, { id: unknown }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) =>
      typeof value === 'object' && value !== null && 'id' in value ? { value } : { issues: [{ message: 'id is required' }] },
  },
};

class FlakyDependencyError extends Error {}

/** An error of a class named `name`: user code with many error classes. */
function errorOfClass(name: string): Error {
  const Named = class extends Error {};
  Object.defineProperty(Named, 'name', { value: name });
  return new Named('failed');
}

const sum = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0);

describe('consumer metrics: decodeErrors and failuresByCode', () => {
  const fx = runtimeFixture('metrics');
  const { consumer } = fx;
  /** A topic holding `values` (keys k0, k1, …), and its DLQ. */
  const topicWith = (values: readonly ProducerRecord['value'][]): Promise<string> =>
    fx.topicWith(values.map((value, i) => ({ key: `k${i}`, value })), { dlq: true });

  async function committedTo(c: Consumer, topic: string, offset: number): Promise<void> {
    await waitFor(
      async () => {
        const offsets = await fx.transport.admin().fetchCommittedOffsets(c.groupId, [topic]);
        return offsets.find((o) => o.partition === 0)?.offset === offset;
      },
      { message: `${c.groupId} to commit ${topic}/0 up to ${offset}` },
    );
  }

  it('a record handler: each failed attempt counts once under its code or class; decode and validation failures also in decodeErrors', async () => {
    const topic = await topicWith([
      '{"id":"ok"}', // 0: handled
      'not json', // 1: ERR_DECODE, dead-lettered
      null, // 2: tombstone, ERR_EMPTY_MESSAGE, dead-lettered
      '{"name":"no id"}', // 3: the schema refuses it, ERR_VALIDATION, dead-lettered
      '{"id":"bug"}', // 4: TypeError, never retried, dead-lettered
      '{"id":"flaky"}', // 5: FlakyDependencyError once, then handled
      '{"id":"string"}', // 6: a thrown string once, then handled
    ]);
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], retry: { initialMs: 1, maxMs: 1, maxAttempts: 3 }, deadLetter: {} });
    await c.start(
      jsonHandler(
        (value, _m, ctx) => {
          if (value.id === 'bug') throw new TypeError('value.id.toFixed is not a function');
          if (value.id === 'flaky' && ctx.attempt === 1) throw new FlakyDependencyError('timeout talking to the ledger');
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- user code does throw strings
          if (value.id === 'string' && ctx.attempt === 1) throw 'nope';
        },
        { schema: withId },
      ),
    );
    await committedTo(c, topic, 7);

    const m = c.metrics();
    expect(m.failuresByCode).toEqual({ ERR_DECODE: 1, ERR_EMPTY_MESSAGE: 1, ERR_VALIDATION: 1, TypeError: 1, FlakyDependencyError: 1, string: 1 });
    expect(m.decodeErrors).toBe(3);
    expect(m.failed).toBe(6);
    expect(sum(m.failuresByCode)).toBe(m.failed);
    expect(m.deadLettered).toBe(4);
    expect(m.processed).toBe(3);
  });

  it('a batch handler: dead-letter and retry outcomes count like failed attempts (a retry without error as ERR_HANDLER)', async () => {
    const topic = await topicWith(['{"id":1}', 'not json', null, '{"id":"manual"}', '{"id":"again"}']);
    const c = consumer({
      groupId: uniqueGroup(),
      topics: [topic],
      retry: { initialMs: 1, maxMs: 1, maxAttempts: 3 },
      deadLetter: {},
      batch: { maxRecords: 5, maxWaitMs: 1_000 },
    });
    await c.startBatch(
      jsonBatchHandler<{ id: unknown }>((values, _messages, ctx) =>
        values.map((v) => (v.id === 'manual' ? deadLetter('refused by hand') : v.id === 'again' && ctx.attempt === 1 ? retry() : ack)),
      ),
    );
    await committedTo(c, topic, 5);

    const m = c.metrics();
    expect(m.failuresByCode).toEqual({ ERR_DECODE: 1, ERR_EMPTY_MESSAGE: 1, string: 1, ERR_HANDLER: 1 });
    expect(m.decodeErrors).toBe(2);
    expect(m.failed).toBe(4);
    expect(m.deadLettered).toBe(3);
  });

  it('metrics() is a frozen snapshot: later failures do not change it, and it cannot be written', async () => {
    const topic = await topicWith(['a', 'b', 'c']);
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], retry: false, deadLetter: {} });
    let failures = 0;
    let proceed = false;
    await c.start(async (msg) => {
      if (msg.offset === 1) await waitFor(() => proceed, { message: 'the test to take its snapshot' });
      failures++;
      throw unrecoverable(new Error(`poison ${msg.offset}`));
    });
    await waitFor(() => c.metrics().failed === 1, { message: 'the first failure' });

    const before: ConsumerMetrics = c.metrics();
    expect(before.failuresByCode).toEqual({ ERR_UNRECOVERABLE: 1 });
    expect(c.metrics().failuresByCode).not.toBe(before.failuresByCode);
    expect(Object.isFrozen(before)).toBe(true);
    expect(Object.isFrozen(before.failuresByCode)).toBe(true);
    expect(() => {
      (before.failuresByCode as Record<string, number>)['ERR_UNRECOVERABLE'] = 0;
    }).toThrow(TypeError);

    proceed = true;
    await committedTo(c, topic, 3);
    expect(failures).toBe(3);
    expect(c.metrics().failuresByCode).toEqual({ ERR_UNRECOVERABLE: 3 });
    expect(before.failed).toBe(1);
    expect(before.failuresByCode).toEqual({ ERR_UNRECOVERABLE: 1 });
  });

  it('keeps at most 100 class-name keys: further new names count under "other"; error codes always keep their own key', async () => {
    const names = 130;
    const topic = await topicWith(Array.from({ length: names + 1 }, (_, i) => String(i)));
    const c = consumer({ groupId: uniqueGroup(), topics: [topic], retry: false, deadLetter: { rateLimit: false } });
    await c.start((msg) => {
      if (msg.offset === names) throw unrecoverable(new Error('marked by the handler'));
      // A class per record, as code that builds error classes on the fly does.
      throw errorOfClass(`GeneratedError${msg.offset}`);
    });
    await committedTo(c, topic, names + 1);

    const m = c.metrics();
    const keys = Object.keys(m.failuresByCode);
    expect(keys.filter((k) => k.startsWith('GeneratedError'))).toHaveLength(100);
    expect(m.failuresByCode['GeneratedError0']).toBe(1);
    expect(m.failuresByCode['GeneratedError99']).toBe(1);
    expect(m.failuresByCode['GeneratedError100']).toBeUndefined();
    expect(m.failuresByCode['other']).toBe(names - 100);
    expect(m.failuresByCode['ERR_UNRECOVERABLE']).toBe(1);
    expect(keys).toHaveLength(102);
    expect(sum(m.failuresByCode)).toBe(m.failed);
    expect(m.decodeErrors).toBe(0);
  });
});
