/**
 * The poll loop's ordering rules, against a scripted stand-in for the
 * binding's consume(n) (the real one is exercised by every consumer test on
 * the broker): at most one consume call in flight, the next call started
 * early only after a full one and only while the host has nothing pending,
 * records handed over in call order.
 */
import { waitFor } from '@tributary/testutil';
import type { NativeConsumer, NativeError, NativeMessage } from '../src/native';
import { PollLoop, type PollLoopHost } from '../src/poll-loop';

type ConsumeCallback = (err: NativeError | null, messages: NativeMessage[]) => void;

/** consume(n) calls wait until the test answers them; the log records every step in order. */
class ScriptedConsumer {
  readonly log: string[] = [];
  readonly waiting: { count: number; cb: ConsumeCallback }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  #offset = 0;

  consume(count: number, cb: ConsumeCallback): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.log.push('consume');
    this.waiting.push({ count, cb });
  }

  setDefaultConsumeTimeout(): void {}
  setDefaultIsTimeoutOnlyForFirstMessage(): void {}

  /** Answers the oldest call with `n` records. */
  answer(n: number): void {
    const call = this.waiting.shift();
    if (call === undefined) throw new Error('no consume call in flight');
    this.inFlight--;
    const messages = Array.from({ length: n }, (): NativeMessage => ({ topic: 't', partition: 0, offset: this.#offset++, value: null, size: 0 }));
    call.cb(null, messages);
  }
}

class RecordingHost implements PollLoopHost {
  pending = false;
  readonly offsets: number[] = [];
  readonly pollIds: number[] = [];
  constructor(readonly native: ScriptedConsumer) {}

  onMessages(messages: NativeMessage[], pollId: number): void {
    this.native.log.push(`messages ${messages.length}`);
    this.pollIds.push(pollId);
    for (const m of messages) this.offsets.push(m.offset);
  }

  betweenPolls(): void {
    this.native.log.push('between');
    this.pending = false;
  }

  hasPendingWork(): boolean {
    return this.pending;
  }

  onPollError(): void {}
}

const FETCH = 3;

function setUp(): { native: ScriptedConsumer; host: RecordingHost; loop: PollLoop } {
  const native = new ScriptedConsumer();
  const host = new RecordingHost(native);
  const loop = new PollLoop(native as unknown as NativeConsumer, host, FETCH);
  return { native, host, loop };
}

async function answerNext(native: ScriptedConsumer, n: number): Promise<void> {
  await waitFor(() => native.waiting.length > 0);
  native.answer(n);
}

describe('PollLoop', () => {
  it('starts the next call before handing over a full one, never two at once, records in order', async () => {
    const { native, host, loop } = setUp();
    loop.start();
    await answerNext(native, FETCH);
    await answerNext(native, FETCH);
    await answerNext(native, 1); // short: the loop hands it over, then runs betweenPolls and idles
    await waitFor(() => host.offsets.length === 2 * FETCH + 1);
    loop.wake();
    await answerNext(native, 0);
    const stopping = loop.stop();
    await stopping;
    expect(native.log.slice(0, 9)).toEqual([
      'between',
      'consume',
      'consume', // the full answer's successor is asked for first …
      'messages 3', // … then the full answer is handed over
      'consume',
      'messages 3',
      'messages 1', // a short answer: no early call
      'between',
      'between',
    ]);
    expect(native.maxInFlight).toBe(1);
    expect(host.offsets).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(host.pollIds).toEqual([1, 2, 3]);
  });

  it('does not start early while the host has pending work: the records go over, betweenPolls runs, then the next call', async () => {
    const { native, host, loop } = setUp();
    loop.start();
    await waitFor(() => native.waiting.length > 0);
    host.pending = true; // e.g. a rebalance arrived during the call
    native.answer(FETCH);
    await waitFor(() => native.waiting.length > 0);
    // (betweenPolls runs after the handover and again before the next call: harmless, it is idempotent)
    expect(native.log).toEqual(['between', 'consume', 'messages 3', 'between', 'between', 'consume']);
    native.answer(0);
    await loop.stop();
  });

  it('stop() lets the early call finish and hands its records over before it resolves', async () => {
    const { native, host, loop } = setUp();
    loop.start();
    await answerNext(native, FETCH);
    await waitFor(() => native.waiting.length > 0); // the early call is in flight
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    native.answer(2);
    await stopping;
    expect(host.offsets).toEqual([0, 1, 2, 3, 4]);
    expect(native.waiting).toHaveLength(0);
    expect(native.log.filter((l) => l === 'consume')).toHaveLength(2);
  });
});
