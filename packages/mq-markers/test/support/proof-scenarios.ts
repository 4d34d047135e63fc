// The proofs of the issue, written once and run on every transport
// (test/proof.test.ts on memory, test/kafka/proof.test.ts on Kafka).
//
// Time: clients and redeliverers share a ManualClock, so "after the timeout"
// is a step the test takes, not a sleep. The real time a test waits for is the
// redeliverer's check interval (checks() waits for completed checks after a
// step, so "nothing was redelivered" is asserted after the redeliverer looked).
import type { Message, Transport } from '@tributary/core';
import { waitFor } from '@tributary/testutil';
import {
  MqHeaders,
  createMessageSender,
  createMqClient,
  createRedeliverer,
  defaultRedelivererGroup,
  type MessageSender,
  type MqClient,
  type MqClientOptions,
  type Redeliverer,
  type RedelivererOptions,
} from '@tributary/mq-markers';
import { DeadLetterHeaders } from '@tributary/core';
import { ManualClock, committedOffsets, highWatermarks, queueFixture, readTopic, text, type QueueFixture } from './fixture';

export interface ProofSettings {
  /** Redeliverer check interval (real ms). */
  readonly checkIntervalMs: number;
  /** How long a wait-for may take before the test fails (real ms). */
  readonly waitMs: number;
  /** How long `nextMessage` waits when the test expects nothing (real ms). */
  readonly quietMs: number;
}

/** Redelivery timeout on the manual clock. */
const T = 60_000;

interface World {
  readonly fx: QueueFixture;
  readonly clock: ManualClock;
  readonly sender: MessageSender;
  client(options?: Partial<MqClientOptions>): MqClient;
  redeliverer(options?: Partial<RedelivererOptions>): Redeliverer;
}

export function describeProofs(label: string, transport: () => Transport, settings: ProofSettings): void {
  const { checkIntervalMs, waitMs, quietMs } = settings;
  const wait = { timeoutMs: waitMs };

  async function world(partitions = 1): Promise<World> {
    const fx = await queueFixture(transport(), partitions, 'proof');
    const clock = new ManualClock();
    const sender = fx.track(createMessageSender(fx.transport));
    return {
      fx,
      clock,
      sender,
      client: (options = {}) =>
        createMqClient(fx.transport, { queue: fx.queue, redeliveryTimeoutMs: T, clock: clock.now, ...options }),
      redeliverer: (options = {}) =>
        fx.track(
          createRedeliverer(fx.transport, { queue: fx.queue, clock: clock.now, checkIntervalMs, commitIntervalMs: checkIntervalMs, ...options }),
        ),
    };
  }

  /** Waits until `r` has read every marker written so far (`baseline`: markers before its start offset). */
  async function caughtUp(w: World, r: Redeliverer, baseline = 0): Promise<void> {
    await waitFor(
      async () => {
        const written = (await highWatermarks(w.fx.transport, w.fx.markersTopic)).reduce((a, b) => a + b, 0);
        return r.metrics().markers >= written - baseline;
      },
      { ...wait, message: 'redeliverer read every marker' },
    );
  }

  /** Waits until `r` completed `n` more deadline checks. */
  async function checks(r: Redeliverer, n = 2): Promise<void> {
    const target = r.metrics().checks + n;
    await waitFor(() => r.metrics().checks >= target, { ...wait, message: `${n} more redelivery checks` });
  }

  async function take(client: MqClient, n: number): Promise<Message[]> {
    const out: Message[] = [];
    while (out.length < n) {
      const m = await client.nextMessage(waitMs);
      if (m === null) throw new Error(`expected ${n} messages, got ${out.length}`);
      out.push(m);
    }
    return out;
  }

  describe(`${label}: queue proofs`, () => {
    it('redelivers the message of a worker that died without an end marker, after the timeout', async () => {
      const w = await world();
      try {
        await w.sender.send(w.fx.queue, 'job-1', { key: 'k-1', headers: { trace: 't-1' } });
        const r = w.redeliverer();
        await r.start();

        const worker = w.client();
        const [m] = await take(worker, 1);
        await worker.close(); // dies: no end marker
        await caughtUp(w, r);
        expect(r.metrics().open).toBe(1);

        w.clock.advance(T - 1);
        await checks(r);
        expect(r.metrics().redelivered).toBe(0); // not before the deadline

        w.clock.advance(2);
        await waitFor(() => r.metrics().redelivered === 1, { ...wait, message: 'redelivered' });

        const next = w.fx.track(w.client());
        const [copy] = await take(next, 1);
        expect(text(copy!)).toBe('job-1');
        expect(copy!.key).toBe('k-1');
        expect(copy!.partition).toBe(m!.partition);
        expect(copy!.offset).toBeGreaterThan(m!.offset);
        expect(copy!.headers).toMatchObject({ trace: 't-1', [MqHeaders.redeliveryCount]: '1' });
        await next.processed(copy!);
        await caughtUp(w, r);
        expect(r.metrics().open).toBe(0);
        expect(await next.nextMessage(quietMs)).toBeNull(); // the original is not delivered again
      } finally {
        await w.fx.close();
      }
    });

    it('keep-alives keep a slow but alive worker’s message from redelivery; the one without them is redelivered', async () => {
      const w = await world();
      try {
        await w.sender.send(w.fx.queue, 'slow');
        await w.sender.send(w.fx.queue, 'silent');
        const r = w.redeliverer();
        await r.start();
        const worker = w.fx.track(w.client());
        const [slow, silent] = await take(worker, 2);
        expect([text(slow!), text(silent!)]).toEqual(['slow', 'silent']);

        // 4 × 0.6 T = 2.4 T in all: far past the first deadline, never past a moved one.
        for (let i = 0; i < 4; i++) {
          w.clock.advance(0.6 * T);
          await worker.processingInProgress(slow!);
          await caughtUp(w, r);
          await checks(r);
        }
        expect(r.metrics().redelivered).toBe(1); // "silent", once
        const [copy] = await take(worker, 1);
        expect(text(copy!)).toBe('silent');

        await worker.processed(slow!);
        await worker.processed(copy!);
        await caughtUp(w, r);
        w.clock.advance(10 * T);
        await checks(r);
        expect(r.metrics()).toMatchObject({ redelivered: 1, open: 0 });
      } finally {
        await w.fx.close();
      }
    });

    it('never redelivers a processed message (ended out of order)', async () => {
      const w = await world(2);
      try {
        for (let i = 0; i < 20; i++) w.sender.sendAsync(w.fx.queue, `m-${i}`, { key: `k-${i}` }).catch(() => undefined);
        await w.sender.flush();
        const r = w.redeliverer();
        await r.start();
        const worker = w.fx.track(w.client({ maxMessagesPerCommit: 7 }));
        const messages = await take(worker, 20);
        expect(messages.map(text).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m-${i}`).sort());
        for (const m of [...messages].reverse()) await worker.processed(m);
        await caughtUp(w, r);
        expect(r.metrics().open).toBe(0);

        w.clock.advance(10 * T);
        await checks(r);
        expect(r.metrics().redelivered).toBe(0);
        expect((await highWatermarks(w.fx.transport, w.fx.queue)).reduce((a, b) => a + b, 0)).toBe(20);
        expect(await worker.nextMessage(quietMs)).toBeNull();
      } finally {
        await w.fx.close();
      }
    });

    it('sends a poison message to the dead-letter topic after the maximum redeliveries', async () => {
      const w = await world();
      try {
        await w.sender.send(w.fx.queue, 'poison', { key: 'p' });
        const r = w.redeliverer({ maxRedeliveries: 2 });
        await r.start();
        const worker = w.fx.track(w.client());

        const deliveries: Message[] = [];
        for (let attempt = 0; attempt <= 2; attempt++) {
          const [m] = await take(worker, 1);
          deliveries.push(m!);
          // the worker crashes on it every time: no end marker
          await caughtUp(w, r);
          w.clock.advance(T + 1);
          await waitFor(() => r.metrics().redelivered + r.metrics().deadLettered === attempt + 1, { ...wait, message: `expiry ${attempt + 1}` });
        }
        expect(deliveries.map((m) => m.headers[MqHeaders.redeliveryCount])).toEqual([undefined, '1', '2']);
        expect(r.metrics()).toMatchObject({ redelivered: 2, deadLettered: 1 });

        const dead = await readTopic(w.fx.transport, w.fx.dlq);
        expect(dead).toHaveLength(1);
        const last = deliveries[2]!;
        expect(text(dead[0]!)).toBe('poison');
        expect(dead[0]!.key).toBe('p');
        expect(dead[0]!.headers).toMatchObject({
          [DeadLetterHeaders.errorCode]: 'ERR_RETRIES_EXHAUSTED',
          [DeadLetterHeaders.attempts]: '3',
          [DeadLetterHeaders.topic]: w.fx.queue,
          [DeadLetterHeaders.offset]: String(last.offset),
          [MqHeaders.redeliveryCount]: '2',
        });
        await caughtUp(w, r);
        expect(r.metrics().open).toBe(0);
        expect(await worker.nextMessage(quietMs)).toBeNull();
      } finally {
        await w.fx.close();
      }
    });

    it('loses nothing and repeats nothing when the redeliverer restarts mid-run', async () => {
      const w = await world(2);
      const processed: string[] = [];
      try {
        const worker = w.fx.track(w.client());
        const work = async (messages: readonly Message[], drop: (m: Message) => boolean): Promise<void> => {
          for (const m of messages) {
            if (drop(m)) continue; // the worker died on it
            processed.push(text(m));
            await worker.processed(m);
          }
        };
        const odd = (m: Message): boolean => Number(text(m).split('-')[1]) % 2 === 1;

        // Phase A: 10 jobs, the odd ones are dropped; the first redeliverer redelivers them.
        for (let i = 0; i < 10; i++) await w.sender.send(w.fx.queue, `a-${i}`, { key: `a-${i}` });
        const first = w.redeliverer();
        await first.start();
        await work(await take(worker, 10), odd);
        await caughtUp(w, first);
        w.clock.advance(T + 1);
        await waitFor(() => first.metrics().redelivered === 5, { ...wait, message: 'phase A redelivered' });

        // Phase B: the 5 copies are processed; 10 more jobs, odd ones dropped again.
        for (let i = 0; i < 10; i++) await w.sender.send(w.fx.queue, `b-${i}`, { key: `b-${i}` });
        await work(await take(worker, 15), (m) => m.headers[MqHeaders.redeliveryCount] === undefined && text(m).startsWith('b-') && odd(m));
        await caughtUp(w, first);
        await checks(first); // a commit after phase B's markers

        // Restart: the second redeliverer starts from what the first committed.
        await first.close();
        const group = defaultRedelivererGroup(w.fx.markersTopic);
        const committed = [...(await committedOffsets(w.fx.transport, group, w.fx.markersTopic)).values()].reduce((a, b) => a + b, 0);
        const second = w.redeliverer();
        await second.start();
        await caughtUp(w, second, committed);
        expect(second.metrics().open).toBe(5);

        w.clock.advance(T + 1);
        await waitFor(() => second.metrics().redelivered === 5, { ...wait, message: 'phase B redelivered' });
        const copies = await take(worker, 5);
        expect(copies.map(text).sort()).toEqual(['b-1', 'b-3', 'b-5', 'b-7', 'b-9']);
        await work(copies, () => false);
        await caughtUp(w, second, committed);
        w.clock.advance(10 * T);
        await checks(second);

        expect(second.metrics()).toMatchObject({ redelivered: 5, open: 0 }); // phase A not repeated
        const all = [...Array.from({ length: 10 }, (_, i) => `a-${i}`), ...Array.from({ length: 10 }, (_, i) => `b-${i}`)];
        expect([...processed].sort()).toEqual(all.sort()); // each job processed exactly once
        expect(await worker.nextMessage(quietMs)).toBeNull();
      } finally {
        await w.fx.close();
      }
    });
  });
}
