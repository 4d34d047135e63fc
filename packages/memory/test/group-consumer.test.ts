import {
  partitionKey,
  TributaryError,
  type ConsumerHandlers,
  type GroupConsumer,
  type GroupConsumerOptions,
  type Message,
  type RecordBatch,
  type TopicPartition,
} from '@tributary/core';
import { memory, type MemoryTransport } from '@tributary/memory';
import { deferred, settle, thrownBy, unique, waitFor } from './support/async';

const keys = (tps: readonly TopicPartition[]): string[] => tps.map(partitionKey);

/** A group member that records what happens to it; `hooks` replace the default (instant) callbacks. */
class Member {
  readonly received: Message[] = [];
  readonly batches: RecordBatch[] = [];
  readonly errors: TributaryError[] = [];
  readonly assigned: string[][] = [];
  readonly revoked: string[][] = [];
  readonly consumer: GroupConsumer;

  constructor(
    transport: MemoryTransport,
    readonly name: string,
    readonly events: string[],
    options: GroupConsumerOptions,
    readonly hooks: Partial<ConsumerHandlers> = {},
  ) {
    this.consumer = transport.groupConsumer(options);
  }

  run(): Promise<void> {
    return this.consumer.run({
      onBatch: async (batch) => {
        this.events.push(`${this.name} batch ${batch.topic}/${batch.partition}@${batch.messages[0]!.offset}`);
        this.batches.push(batch);
        await this.hooks.onBatch?.(batch);
        this.received.push(...batch.messages);
      },
      onAssigned: async (tps) => {
        this.events.push(`${this.name} assigned ${keys(tps).join(',')}`);
        this.assigned.push(keys(tps));
        await this.hooks.onAssigned?.(tps);
      },
      onRevoked: async (tps) => {
        this.events.push(`${this.name} revoked ${keys(tps).join(',')}`);
        this.revoked.push(keys(tps));
        await this.hooks.onRevoked?.(tps);
      },
      onError: (err) => {
        this.events.push(`${this.name} error ${err.code}`);
        this.errors.push(err);
      },
    });
  }

  offsets(partition?: number): number[] {
    return this.received.filter((m) => partition === undefined || m.partition === partition).map((m) => m.offset);
  }

  assignment(): string[] {
    return keys(this.consumer.assignment());
  }
}

describe('MemoryGroupConsumer', () => {
  let transport: MemoryTransport;
  let topic: string;
  let groupId: string;
  let events: string[];

  async function createTopic(name: string, partitions: number): Promise<void> {
    const admin = transport.admin();
    await admin.createTopics([{ topic: name, partitions }]);
    await admin.close();
  }

  async function produce(partition: number, count: number, name = topic): Promise<void> {
    const results = await transport
      .producer()
      .send(Array.from({ length: count }, (_, i) => ({ topic: name, partition, value: `v${i}` })));
    expect(results.every((r) => r.ok)).toBe(true);
  }

  function member(name: string, hooks: Partial<ConsumerHandlers> = {}, options: Partial<GroupConsumerOptions> = {}): Member {
    return new Member(transport, name, events, { groupId, topics: [topic], ...options }, hooks);
  }

  beforeEach(() => {
    transport = memory();
    topic = unique('events');
    groupId = unique('group');
    events = [];
  });

  afterEach(async () => {
    await transport.close();
  });

  describe('delivery', () => {
    it('delivers every record in offset order, in batches of at most maxBatchRecords, after onAssigned', async () => {
      await createTopic(topic, 2);
      await produce(0, 25);
      await produce(1, 7);
      const a = member('a', {}, { maxBatchRecords: 10 });
      await a.run();
      await waitFor(() => a.received.length === 32, 'all 32 records');

      expect(a.offsets(0)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(a.offsets(1)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(a.batches.every((b) => b.messages.length >= 1 && b.messages.length <= 10)).toBe(true);
      expect(a.batches.filter((b) => b.partition === 0).map((b) => b.messages.length)).toEqual([10, 10, 5]);
      expect(a.batches[0]?.highWatermark).toBe(a.batches[0]?.partition === 0 ? 25 : 7);
      expect(events[0]).toBe(`a assigned ${topic}/0,${topic}/1`);
      expect(a.assignment()).toEqual([`${topic}/0`, `${topic}/1`]);
    });

    it('resolves run() before the first batch: code right after `await run()` runs first', async () => {
      await createTopic(topic, 1);
      await produce(0, 2);
      const a = member('a');
      await a.run();
      for (let i = 0; i < 20; i++) await Promise.resolve(); // any number of promise hops
      expect(a.batches).toHaveLength(0);
      await waitFor(() => a.received.length === 2, 'the records');
    });

    it('wakes at once when records are appended after it caught up', async () => {
      await createTopic(topic, 1);
      const a = member('a');
      await a.run();
      await settle();
      expect(a.received).toHaveLength(0);
      await produce(0, 3);
      await waitFor(() => a.received.length === 3, 'the new records');
      await produce(0, 2);
      await waitFor(() => a.received.length === 5, 'more new records');
      expect(a.offsets()).toEqual([0, 1, 2, 3, 4]);
    });

    it('delivers one batch at a time per partition, other partitions concurrently', async () => {
      await createTopic(topic, 2);
      const gate = deferred();
      let inFlight = 0;
      let maxInFlightP0 = 0;
      const a = member('a', {
        async onBatch(batch) {
          if (batch.partition !== 0) return;
          inFlight++;
          maxInFlightP0 = Math.max(maxInFlightP0, inFlight);
          if (batch.messages[0]!.offset === 0) await gate.promise;
          inFlight--;
        },
      });
      await a.run();
      await produce(0, 1);
      await waitFor(() => a.batches.length === 1, 'the first batch of partition 0');
      await produce(0, 2);
      await produce(1, 2);
      await waitFor(() => a.received.some((m) => m.partition === 1), 'partition 1 while partition 0 is busy');
      await settle();
      expect(a.batches.filter((b) => b.partition === 0)).toHaveLength(1);

      gate.resolve();
      await waitFor(() => a.offsets(0).length === 3, 'the rest of partition 0');
      expect(a.offsets(0)).toEqual([0, 1, 2]);
      expect(maxInFlightP0).toBe(1);
    });

    it('accepts a handler that returns without a promise', async () => {
      await createTopic(topic, 1);
      await produce(0, 3);
      const seen: number[] = [];
      const consumer = transport.groupConsumer({ groupId, topics: [topic], maxBatchRecords: 1 });
      await consumer.run({
        onBatch: ((batch: RecordBatch) => {
          seen.push(batch.messages[0]!.offset);
        }) as unknown as ConsumerHandlers['onBatch'],
      });
      await waitFor(() => seen.length === 3, 'three batches');
      expect(seen).toEqual([0, 1, 2]);
    });
  });

  describe('offsets', () => {
    it('starts from the committed offset, else from the start (fromBeginning defaults to true)', async () => {
      await createTopic(topic, 1);
      await produce(0, 5);
      const a = member('a');
      await a.run();
      await waitFor(() => a.received.length === 5, 'five records');
      await a.consumer.commit([{ topic, partition: 0, offset: 3 }]);
      await a.consumer.close();

      const b = member('b');
      await b.run();
      await waitFor(() => b.received.length === 2, 'the uncommitted records');
      expect(b.offsets()).toEqual([3, 4]);

      const admin = transport.admin();
      expect(await admin.fetchCommittedOffsets(groupId, [topic])).toEqual([{ topic, partition: 0, offset: 3 }]);
    });

    it('starts at the end with fromBeginning: false and no commit', async () => {
      await createTopic(topic, 1);
      await produce(0, 5);
      const a = member('a', {}, { fromBeginning: false });
      await a.run();
      await produce(0, 2);
      await waitFor(() => a.received.length === 2, 'only the new records');
      await settle();
      expect(a.offsets()).toEqual([5, 6]);
    });

    it('ignores commits of partitions it does not own', async () => {
      await createTopic(topic, 2);
      const other = unique('other');
      await createTopic(other, 1);
      const a = member('a');
      await a.consumer.commit([{ topic, partition: 0, offset: 1 }]); // before run: owns nothing
      await a.run();
      await a.consumer.commit([
        { topic, partition: 1, offset: 4 },
        { topic: other, partition: 0, offset: 9 },
      ]);
      const admin = transport.admin();
      expect(await admin.fetchCommittedOffsets(groupId, [topic, other])).toEqual([{ topic, partition: 1, offset: 4 }]);
    });

    it('rejects an invalid commit offset with ERR_CONFIG', async () => {
      await createTopic(topic, 1);
      const a = member('a');
      await a.run();
      await expect(a.consumer.commit([{ topic, partition: 0, offset: -1 }])).rejects.toMatchObject({ code: 'ERR_CONFIG' });
      await expect(a.consumer.commit([{ topic, partition: 0, offset: 1.5 }])).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    });
  });

  describe('rebalancing', () => {
    it('moves only the partitions that change owner when a member joins (round-robin, join order)', async () => {
      await createTopic(topic, 4);
      const a = member('a');
      await a.run();
      expect(a.assignment()).toEqual([0, 1, 2, 3].map((p) => `${topic}/${p}`));

      const b = member('b');
      await b.run();
      await waitFor(() => b.assignment().length === 2, 'b to get its partitions');
      expect(a.assignment()).toEqual([`${topic}/0`, `${topic}/2`]);
      expect(b.assignment()).toEqual([`${topic}/1`, `${topic}/3`]);
      expect(a.revoked).toEqual([[`${topic}/1`, `${topic}/3`]]);
      expect(b.assigned).toEqual([[`${topic}/1`, `${topic}/3`]]);
      expect(events.indexOf(`a revoked ${topic}/1,${topic}/3`)).toBeLessThan(events.indexOf(`b assigned ${topic}/1,${topic}/3`));
    });

    it('assigns members that join together directly, without revocations', async () => {
      await createTopic(topic, 4);
      const a = member('a');
      const b = member('b');
      const c = member('c');
      await Promise.all([a.run(), b.run(), c.run()]);
      expect([a.assignment(), b.assignment(), c.assignment()]).toEqual([
        [`${topic}/0`, `${topic}/3`],
        [`${topic}/1`],
        [`${topic}/2`],
      ]);
      expect(a.revoked).toEqual([]);
    });

    it('revokes only after the in-flight batch settles, moves partitions only after onRevoked settles; the new owner starts at the commit', async () => {
      await createTopic(topic, 2);
      await produce(1, 3);
      const batchGate = deferred();
      const revokeGate = deferred();
      let processed = -1;
      const a = member('a', {
        async onBatch(batch) {
          if (batch.partition === 1) await batchGate.promise;
          processed = batch.messages[batch.messages.length - 1]!.offset;
        },
        async onRevoked(tps) {
          await revokeGate.promise;
          await a.consumer.commit(tps.map((tp) => ({ ...tp, offset: processed + 1 })));
          events.push('a committed');
        },
      });
      await a.run();
      await waitFor(() => a.batches.some((b) => b.partition === 1), 'a to hold a batch of partition 1');

      const b = member('b');
      await b.run(); // joins at once: nothing is free yet, partition 1 waits for a
      await produce(1, 2); // offsets 3 and 4: must not reach a any more
      await settle();
      expect(a.revoked).toEqual([]);
      expect(b.assignment()).toEqual([]);
      expect(a.assignment()).toEqual([`${topic}/0`, `${topic}/1`]);

      batchGate.resolve();
      await waitFor(() => a.revoked.length === 1, 'onRevoked after the batch settled');
      await settle();
      expect(b.assignment()).toEqual([]); // onRevoked has not settled yet
      expect(a.batches.filter((x) => x.partition === 1)).toHaveLength(1);

      revokeGate.resolve();
      await waitFor(() => b.offsets(1).length === 2, 'b to read partition 1 from the committed offset');
      expect(b.offsets(1)).toEqual([3, 4]);
      expect(a.assignment()).toEqual([`${topic}/0`]);
      expect(events.filter((e) => !e.includes('batch'))).toEqual([
        `a assigned ${topic}/0,${topic}/1`,
        `a revoked ${topic}/1`,
        'a committed',
        `b assigned ${topic}/1`,
      ]);
    });

    it('releases the partitions after rebalanceTimeoutMs when onRevoked hangs, reporting ERR_TIMEOUT', async () => {
      await createTopic(topic, 2);
      const never = deferred();
      const a = member('a', { onRevoked: () => never.promise }, { rebalanceTimeoutMs: 30 });
      await a.run();
      const b = member('b');
      await b.run();
      await waitFor(() => b.assignment().length === 1, 'b to get partition 1 after the timeout');
      expect(b.assignment()).toEqual([`${topic}/1`]);
      expect(a.assignment()).toEqual([`${topic}/0`]);
      expect(a.errors.map((e) => e.code)).toEqual(['ERR_TIMEOUT']);
      // a no longer owns partition 1: its commit is ignored.
      await a.consumer.commit([{ topic, partition: 1, offset: 7 }]);
      expect(await transport.admin().fetchCommittedOffsets(groupId, [topic])).toEqual([]);
      never.resolve();
    });

    it('close drains in-flight batches, calls onRevoked for every owned partition, then leaves', async () => {
      await createTopic(topic, 2);
      const gate = deferred();
      const a = member('a', {
        async onBatch(batch) {
          if (batch.partition === 0) await gate.promise;
        },
      });
      const b = member('b');
      await Promise.all([a.run(), b.run()]);
      expect(a.assignment()).toEqual([`${topic}/0`]);
      await produce(0, 2);
      await waitFor(() => a.batches.length === 1, 'a batch in flight');

      let closed = false;
      const closing = a.consumer.close().then(() => (closed = true));
      await produce(0, 1);
      await settle();
      expect(a.revoked).toEqual([]);
      expect(closed).toBe(false);

      gate.resolve();
      await closing;
      expect(a.revoked).toEqual([[`${topic}/0`]]);
      expect(a.offsets(0)).toEqual([0, 1]); // nothing delivered after close began
      await waitFor(() => b.assignment().length === 2, 'b to take over partition 0');
      // Nothing was committed, so b reads partition 0 from the start.
      await waitFor(() => b.offsets(0).length === 3, 'b to read partition 0');
      expect(a.consumer.assignment()).toEqual([]);
    });

    it('loses nothing and repeats nothing through joins and leaves when every batch is committed', async () => {
      await createTopic(topic, 4);
      const processed = new Map<string, number>();
      const members: Member[] = [];
      const start = (name: string): Member => {
        const m: Member = member(name, {
          async onBatch(batch) {
            for (const msg of batch.messages) {
              const at = `${msg.partition}@${msg.offset}`;
              processed.set(at, (processed.get(at) ?? 0) + 1);
            }
            await settle(1); // let rebalances interleave with work in flight
            const last = batch.messages[batch.messages.length - 1]!;
            await m.consumer.commit([{ topic, partition: batch.partition, offset: last.offset + 1 }]);
          },
        }, { maxBatchRecords: 7 });
        members.push(m);
        return m;
      };
      const producer = transport.producer();
      const send = async (n: number): Promise<void> => {
        await producer.send(Array.from({ length: n }, (_, i) => ({ topic, key: `k${i % 13}`, value: 'x' })));
      };

      await start('a').run();
      await send(50);
      await start('b').run();
      await send(50);
      await members[0]!.consumer.close();
      await Promise.all([start('c').run(), start('d').run(), send(50)]);
      await send(50);
      await Promise.all([members[1]!.consumer.close(), start('e').run(), send(50)]);
      await members[2]!.consumer.close();
      await send(50);

      await waitFor(() => processed.size === 300, 'all 300 records to be processed');
      await settle();
      expect([...processed.values()].filter((n) => n !== 1)).toEqual([]);
      const committed = await transport.admin().fetchCommittedOffsets(groupId, [topic]);
      const offsets = await transport.admin().fetchTopicOffsets(topic);
      // Every partition that has records is committed up to its end (the 13 keys use only some partitions).
      expect(committed).toEqual(offsets.filter((o) => o.high > 0).map((o) => ({ topic, partition: o.partition, offset: o.high })));
      expect(members.flatMap((m) => m.errors)).toEqual([]);
    });

    it('subscribes to topics created later and gives up partitions of deleted topics', async () => {
      const a = member('a');
      await a.run();
      expect(a.assignment()).toEqual([]);
      await createTopic(topic, 2);
      await waitFor(() => a.assignment().length === 2, 'the new topic to be assigned');
      await produce(1, 1);
      await waitFor(() => a.received.length === 1, 'a record of the new topic');

      await transport.admin().deleteTopics([topic]);
      await waitFor(() => a.assignment().length === 0, 'the deleted topic to be revoked');
      expect(a.revoked).toEqual([[`${topic}/0`, `${topic}/1`]]);

      await createTopic(topic, 1);
      await waitFor(() => a.assignment().length === 1, 'the re-created topic');
      await produce(0, 1);
      await waitFor(() => a.received.length === 2, 'a record of the re-created topic');
      expect(a.received[1]).toMatchObject({ partition: 0, offset: 0 });
    });

    it('assigns each topic among the members that subscribe to it', async () => {
      const second = unique('second');
      await createTopic(topic, 2);
      await createTopic(second, 2);
      const a = member('a');
      const b = member('b', {}, { topics: [topic, second] });
      await Promise.all([a.run(), b.run()]);
      expect(a.assignment()).toEqual([`${topic}/0`]);
      // Sorted by topic name: "events-…" before "second-…".
      expect(b.assignment()).toEqual([`${topic}/1`, `${second}/0`, `${second}/1`]);
    });

    it('shares a group across transports on one broker', async () => {
      await createTopic(topic, 2);
      const other = memory({ broker: transport.broker });
      try {
        const a = member('a');
        await a.run();
        const b = new Member(other, 'b', events, { groupId, topics: [topic] });
        await b.run();
        await waitFor(() => b.assignment().length === 1, 'b in the other transport to get a partition');
        expect(a.assignment()).toEqual([`${topic}/0`]);
        await other.close();
        await waitFor(() => a.assignment().length === 2, 'a to get the partition back when b closes');
      } finally {
        await other.close();
      }
    });
  });

  describe('failures', () => {
    it('stops and leaves when onBatch rejects, reporting ERR_HANDLER with the cause', async () => {
      await createTopic(topic, 1);
      await produce(0, 3);
      const boom = new Error('boom');
      const a = member('a', {
        async onBatch() {
          throw boom;
        },
      });
      await a.run();
      await waitFor(() => a.errors.length === 1, 'the error');
      const err = a.errors[0]!;
      expect(err.code).toBe('ERR_HANDLER');
      expect(err.cause).toBe(boom);
      expect(err.context).toMatchObject({ topic, partition: 0, offset: 0 });
      await waitFor(() => a.revoked.length === 1, 'onRevoked on the way out');

      await produce(0, 1);
      await settle();
      expect(a.batches).toHaveLength(1);
      expect(a.consumer.assignment()).toEqual([]);
      await expect(a.consumer.commit([{ topic, partition: 0, offset: 1 }])).rejects.toMatchObject({ code: 'ERR_CLOSED' });

      // Nothing was committed on its behalf: the next member starts over.
      const b = member('b');
      await b.run();
      await waitFor(() => b.received.length === 4, 'b to read everything');
    });

    it('passes a TributaryError from onBatch to onError unchanged', async () => {
      await createTopic(topic, 1);
      await produce(0, 1);
      const own = new TributaryError('ERR_RETRIES_EXHAUSTED', 'gave up');
      const a = member('a', {
        async onBatch() {
          throw own;
        },
      });
      await a.run();
      await waitFor(() => a.errors.length === 1, 'the error');
      expect(a.errors[0]).toBe(own);
    });

    it('reports a throwing onAssigned or onRevoked and carries on', async () => {
      await createTopic(topic, 1);
      await produce(0, 2);
      const a = member('a', {
        onAssigned() {
          throw new Error('assign hook');
        },
        onRevoked() {
          throw new Error('revoke hook');
        },
      });
      await a.run();
      await waitFor(() => a.received.length === 2, 'records despite the failing onAssigned');
      await a.consumer.close();
      expect(a.errors.map((e) => e.message)).toEqual([
        expect.stringContaining('onAssigned failed'),
        expect.stringContaining('onRevoked failed'),
      ]);
    });
  });

  describe('pause, resume, seek', () => {
    it('delivers nothing from a paused partition until it is resumed', async () => {
      await createTopic(topic, 2);
      const a = member('a');
      await a.run();
      a.consumer.pause([{ topic, partition: 0 }]);
      await produce(0, 2);
      await produce(1, 2);
      await waitFor(() => a.offsets(1).length === 2, 'the unpaused partition');
      await settle();
      expect(a.offsets(0)).toEqual([]);
      a.consumer.resume([{ topic, partition: 0 }]);
      await waitFor(() => a.offsets(0).length === 2, 'the resumed partition');
    });

    it('does not recall a batch in flight when paused', async () => {
      await createTopic(topic, 1);
      const gate = deferred();
      const a = member('a', { onBatch: () => gate.promise });
      await a.run();
      await produce(0, 1);
      await waitFor(() => a.batches.length === 1, 'a batch in flight');
      a.consumer.pause([{ topic, partition: 0 }]);
      await produce(0, 1);
      gate.resolve();
      await waitFor(() => a.received.length === 1, 'the in-flight batch to finish');
      await settle();
      expect(a.batches).toHaveLength(1);
      a.consumer.resume([{ topic, partition: 0 }]);
      await waitFor(() => a.received.length === 2, 'the next batch after resume');
    });

    it('seeks back to replay and forward to skip', async () => {
      await createTopic(topic, 1);
      await produce(0, 5);
      const a = member('a');
      await a.run();
      await waitFor(() => a.received.length === 5, 'all records');
      a.consumer.seek({ topic, partition: 0, offset: 2 });
      await waitFor(() => a.received.length === 8, 'the replay');
      expect(a.offsets()).toEqual([0, 1, 2, 3, 4, 2, 3, 4]);

      a.consumer.pause([{ topic, partition: 0 }]);
      await produce(0, 3); // 5, 6, 7
      a.consumer.seek({ topic, partition: 0, offset: 7 });
      a.consumer.resume([{ topic, partition: 0 }]);
      await waitFor(() => a.received.length === 9, 'the record after the skip');
      expect(a.offsets().slice(8)).toEqual([7]);
    });

    it('starts at an offset chosen with seek inside onAssigned', async () => {
      await createTopic(topic, 1);
      await produce(0, 5);
      const a = member('a', {
        onAssigned(tps) {
          for (const tp of tps) a.consumer.seek({ ...tp, offset: 3 });
        },
      });
      await a.run();
      await waitFor(() => a.received.length === 2, 'records from offset 3');
      expect(a.offsets()).toEqual([3, 4]);
    });

    it('resets a position past the end per fromBeginning (Kafka auto.offset.reset)', async () => {
      await createTopic(topic, 1);
      await produce(0, 2);
      const a = member('a');
      await a.run();
      await waitFor(() => a.received.length === 2, 'two records');
      a.consumer.seek({ topic, partition: 0, offset: 100 });
      await waitFor(() => a.received.length === 4, 'the reset to earliest');
      expect(a.offsets()).toEqual([0, 1, 0, 1]);
    });

    it('ignores seek of a partition it does not own and rejects an invalid offset', async () => {
      await createTopic(topic, 1);
      const a = member('a');
      await a.run();
      expect(() => a.consumer.seek({ topic: 'elsewhere', partition: 0, offset: 1 })).not.toThrow();
      expect(thrownBy(() => a.consumer.seek({ topic, partition: 0, offset: -5 }))).toMatchObject({ code: 'ERR_CONFIG' });
    });
  });

  describe('lifecycle', () => {
    it('rejects run twice with ERR_STATE and calls after close with ERR_CLOSED', async () => {
      await createTopic(topic, 1);
      const consumer = transport.groupConsumer({ groupId, topics: [topic] });
      await consumer.run({ onBatch: async () => undefined });
      await expect(consumer.run({ onBatch: async () => undefined })).rejects.toMatchObject({ code: 'ERR_STATE' });
      await Promise.all([consumer.close(), consumer.close()]);
      await consumer.close();
      await expect(consumer.run({ onBatch: async () => undefined })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      await expect(consumer.commit([])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      expect(thrownBy(() => consumer.pause([]))).toMatchObject({ code: 'ERR_CLOSED' });
      expect(thrownBy(() => consumer.resume([]))).toMatchObject({ code: 'ERR_CLOSED' });
      expect(thrownBy(() => consumer.seek({ topic, partition: 0, offset: 0 }))).toMatchObject({ code: 'ERR_CLOSED' });
      expect(consumer.assignment()).toEqual([]);
    });

    it('closes without having run', async () => {
      const consumer = transport.groupConsumer({ groupId, topics: [topic] });
      await consumer.close();
      await expect(consumer.run({ onBatch: async () => undefined })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    });

    it('rejects handlers without onBatch', async () => {
      const consumer = transport.groupConsumer({ groupId, topics: [topic] });
      await expect(consumer.run({} as ConsumerHandlers)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    });

    it('exposes its groupId', () => {
      expect(transport.groupConsumer({ groupId, topics: [topic] }).groupId).toBe(groupId);
    });
  });
});
