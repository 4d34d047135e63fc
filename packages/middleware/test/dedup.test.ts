import { ConfigError, TributaryError, chainHandlers, createEvent, eventToRecord, type Message, type MessageHandler } from '@tributary/core';
import { MockProducer, buildMessage, deferred, uniqueGroup, waitFor } from '@tributary/testutil';
import { memoryDedupStore, observeRecord, withDeadLetter, withDedup, type DedupStore, type RecordEvent } from '@tributary/middleware';
import { recordingLogger, run, testContext } from './support/context';
import { memoryTransportPerTest } from './support/memory-transport';

const event = (id: string, offset = 0): Message => buildMessage({ offset, headers: { ce_id: id } });

function counting(): MessageHandler & { seen: string[] } {
  const seen: string[] = [];
  return Object.assign((m: Message) => void seen.push(m.headers.ce_id ?? `@${m.offset}`), { seen });
}

describe('withDedup', () => {
  it('skips a record whose event id this group already processed, telling outer middleware', async () => {
    const handler = counting();
    const events: RecordEvent[] = [];
    const { ctx } = testContext();
    const deduped = chainHandlers(handler, withDedup());
    const observed = observeRecord(ctx, (e) => events.push(e));
    await deduped(event('e1', 0), observed);
    await deduped(event('e1', 5), observed);
    await deduped(event('e2', 6), observed);
    expect(handler.seen).toEqual(['e1', 'e2']);
    expect(events).toEqual([{ type: 'duplicate', id: 'e1' }]);
  });

  it('commits only after success: a failed record is processed again', async () => {
    let fail = true;
    const seen: string[] = [];
    const deduped = chainHandlers((m: Message) => {
      seen.push(m.headers.ce_id ?? '');
      if (fail) throw new Error('db down');
    }, withDedup());
    await expect(deduped(event('e1'), testContext().ctx)).rejects.toThrow('db down');
    fail = false;
    await deduped(event('e1'), testContext().ctx);
    await deduped(event('e1'), testContext().ctx);
    expect(seen).toEqual(['e1', 'e1']);
  });

  it('does not commit a dead-lettered record, so a replay from the dead-letter topic is processed', async () => {
    let poison = true;
    const seen: string[] = [];
    const producer = new MockProducer();
    const chain = chainHandlers(
      (m: Message) => {
        seen.push(m.headers.ce_id ?? '');
        if (poison) throw new TributaryError('ERR_VALIDATION', 'missing field');
      },
      withDeadLetter({ producer }),
      withDedup(),
    );
    await chain(event('e1'), testContext().ctx);
    expect(producer.records).toHaveLength(1);
    poison = false; // the bug is fixed and the record replayed with its original headers
    await chain(event('e1'), testContext().ctx);
    expect(seen).toEqual(['e1', 'e1']);
  });

  it('scopes ids by consumer group (or the groupId option)', async () => {
    const handler = counting();
    const store = memoryDedupStore();
    const deduped = chainHandlers(handler, withDedup({ store }));
    await deduped(event('e1'), testContext({ groupId: 'billing' }).ctx);
    await deduped(event('e1'), testContext({ groupId: 'shipping' }).ctx);
    await deduped(event('e1'), testContext({ groupId: 'billing' }).ctx);
    const pinned = chainHandlers(handler, withDedup({ store, groupId: 'billing' }));
    await pinned(event('e1'), testContext({ groupId: undefined }).ctx);
    expect(handler.seen).toEqual(['e1', 'e1']);
  });

  it('processes records without an id every time, and takes a key function', async () => {
    const handler = counting();
    const deduped = chainHandlers(handler, withDedup());
    await deduped(buildMessage({ offset: 1 }), testContext().ctx);
    await deduped(buildMessage({ offset: 1 }), testContext().ctx);
    expect(handler.seen).toEqual(['@1', '@1']);

    const byKey = counting();
    const keyed = chainHandlers(byKey, withDedup({ idOf: (m) => m.key ?? undefined }));
    await keyed(buildMessage({ key: 'order-1', offset: 1 }), testContext().ctx);
    await keyed(buildMessage({ key: 'order-1', offset: 2 }), testContext().ctx);
    await keyed(buildMessage({ key: 'order-2', offset: 3 }), testContext().ctx);
    expect(byKey.seen).toEqual(['@1', '@3']);
  });

  it('processes one record at a time per id, so two in flight at once do not both run', async () => {
    const gate = deferred<void>();
    let calls = 0;
    const deduped = chainHandlers(async () => {
      calls++;
      await gate.promise;
    }, withDedup());
    const a = run(deduped, event('e1', 0), testContext().ctx);
    const b = run(deduped, event('e1', 1), testContext().ctx);
    await waitFor(() => calls === 1);
    gate.resolve();
    await Promise.all([a, b]);
    expect(calls).toBe(1);
  });

  it('works with an async store; a failing lookup fails the record, a failing commit is logged', async () => {
    const committed = new Set<string>();
    let lookupFails = false;
    let commitFails = false;
    const store: DedupStore = {
      isDuplicated: async (g, id) => {
        if (lookupFails) throw new Error('redis down');
        return committed.has(`${g}/${id}`);
      },
      commit: async (g, id) => {
        if (commitFails) throw new Error('redis read-only');
        committed.add(`${g}/${id}`);
      },
    };
    const handler = counting();
    const deduped = chainHandlers(handler, withDedup({ store }));
    await deduped(event('e1'), testContext().ctx);
    await deduped(event('e1'), testContext().ctx);
    expect(handler.seen).toEqual(['e1']);

    lookupFails = true;
    await expect(deduped(event('e2'), testContext().ctx)).rejects.toThrow('redis down');
    expect(handler.seen).toEqual(['e1']);

    lookupFails = false;
    commitFails = true;
    const logger = recordingLogger();
    await deduped(event('e3'), testContext({ logger }).ctx);
    expect(handler.seen).toEqual(['e1', 'e3']);
    expect(logger.entries).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ id: 'e3' }) as unknown })]);
  });

  it('validates its options', () => {
    let error: unknown;
    try {
      withDedup({ store: { commit: () => undefined } as unknown as DedupStore, idOf: 'ce_id' as unknown as () => string });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['store', 'idOf']);
  });

  describe('under redelivery (memory transport)', () => {
    const mem = memoryTransportPerTest();

    it('processes each event once across duplicate sends and a full redelivery of the topic', async () => {
      const topic = await mem.createTopic('payments', { partitions: 3 });
      const records = Array.from({ length: 20 }, (_, i) =>
        eventToRecord(createEvent({ type: 'payment.made', source: 'test', subject: `p${i % 5}`, data: { i } }), { topic }),
      );
      // A producer retry that duplicated every record.
      await mem.send([...records, ...records]);

      const store = memoryDedupStore();
      const processed: string[] = [];
      const handler = chainHandlers((m: Message) => void processed.push(m.headers.ce_id ?? ''), withDedup({ store, groupId: 'payments' }));
      const first = mem.consumer({ groupId: uniqueGroup(), topics: [topic] });
      await first.start(handler);
      await waitFor(() => first.metrics().processed === 40, { message: 'first pass over 40 records' });
      await first.stop();

      // The offsets are lost (a new group reads from the beginning): every record is delivered again.
      const second = mem.consumer({ groupId: uniqueGroup(), topics: [topic] });
      await second.start(handler);
      await waitFor(() => second.metrics().processed === 40, { message: 'redelivery of 40 records' });

      expect(processed).toHaveLength(20);
      expect(new Set(processed).size).toBe(20);
    });
  });
});
