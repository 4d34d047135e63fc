/**
 * The single loop that reads from a librdkafka consumer.
 *
 * librdkafka serves everything a consumer receives — records, rebalance
 * callbacks, commit results, errors — through one queue, drained by
 * `consume(n)`. Each `consume` call runs on a libuv thread-pool thread; a
 * call that blocks until records arrive would hold one of the pool's four
 * threads per idle consumer (and starve the rest of the process). So the loop
 * asks with a zero timeout and, when the queue is empty, sleeps until
 * librdkafka signals that the queue became non-empty (`queue_non_empty_cb`),
 * with a timer as a safety net.
 *
 * Only one `consume` call is in flight at a time, and the host's
 * `betweenPolls` runs while none is: that is where assignments change, so a
 * record fetched under an old assignment is always handled before a new one
 * takes effect.
 *
 * When a call comes back full, more is probably queued, so the next call is
 * started before the records are handed to the host: the pool thread drains
 * librdkafka's queue while JavaScript handles the previous records, instead
 * of the two taking turns. That skips `betweenPolls` only while the host has
 * nothing pending for it (`hasPendingWork`); otherwise the loop lets the call
 * in flight finish, hands over its records, and runs `betweenPolls` first.
 * Records of a call started before a seek took effect carry an older
 * `pollId`, which is how the host drops them.
 */
import type { NativeConsumer, NativeError, NativeMessage } from './native';

export interface PollLoopHost {
  /** Records from one consume call; `pollId` increases with each call. */
  onMessages(messages: NativeMessage[], pollId: number): void;
  /** Runs while no consume call is in flight. */
  betweenPolls(): void;
  /** Whether `betweenPolls` has work waiting (the loop then does not start the next call early). */
  hasPendingWork(): boolean;
  /** A consume call failed (the loop goes on after a pause). */
  onPollError(err: NativeError): void;
}

/** One consume call: its id and what it returns. */
interface Poll {
  readonly id: number;
  readonly result: Promise<{ err: NativeError | null; messages: NativeMessage[] }>;
}

/** Longest sleep without a wake-up signal (the signal normally comes first). */
const IDLE_MS = 250;
/** Pause after a failed consume call. */
const ERROR_BACKOFF_MS = 500;

export class PollLoop {
  readonly #native: NativeConsumer;
  readonly #host: PollLoopHost;
  readonly #fetchSize: number;
  #running = false;
  #done: Promise<void> = Promise.resolve();
  #woken = false;
  #wakeUp: (() => void) | undefined;
  #nextPollId = 1;

  constructor(native: NativeConsumer, host: PollLoopHost, fetchSize: number) {
    this.#native = native;
    this.#host = host;
    this.#fetchSize = fetchSize;
    // Return what is queued at once (no wait for the first record) and do not
    // wait for more once one arrived: the loop never blocks a pool thread.
    native.setDefaultConsumeTimeout(0);
    native.setDefaultIsTimeoutOnlyForFirstMessage(true);
  }

  /** The id the next consume call will get: records of earlier calls may predate a seek. */
  get nextPollId(): number {
    return this.#nextPollId;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#done = this.#run();
  }

  /** Stops after the consume call in flight, if any. */
  stop(): Promise<void> {
    this.#running = false;
    this.wake();
    return this.#done;
  }

  /** Polls again now (librdkafka's queue became non-empty, or the host has work). */
  wake(): void {
    this.#woken = true;
    const wakeUp = this.#wakeUp;
    this.#wakeUp = undefined;
    wakeUp?.();
  }

  async #run(): Promise<void> {
    let next: Poll | undefined;
    while (this.#running || next !== undefined) {
      let poll = next;
      next = undefined;
      if (poll === undefined) {
        this.#host.betweenPolls();
        if (!this.#running) break;
        this.#woken = false;
        poll = this.#poll();
      }
      const { err, messages } = await poll.result;
      if (err === null && messages.length >= this.#fetchSize && this.#running && !this.#host.hasPendingWork()) {
        // Full: ask for more now, and handle these while the pool thread fetches them.
        this.#woken = false;
        next = this.#poll();
      }
      if (messages.length > 0) this.#host.onMessages(messages, poll.id);
      if (err) this.#host.onPollError(err);
      if (next !== undefined) continue;
      this.#host.betweenPolls();
      if (!this.#running) break;
      if (err) await this.#sleep(ERROR_BACKOFF_MS);
      else if (messages.length < this.#fetchSize && !this.#woken) await this.#sleep(IDLE_MS);
    }
  }

  #poll(): Poll {
    return { id: this.#nextPollId++, result: this.#consume() };
  }

  #consume(): Promise<{ err: NativeError | null; messages: NativeMessage[] }> {
    return new Promise((resolve) => {
      try {
        this.#native.consume(this.#fetchSize, (err, messages) => resolve({ err, messages: messages ?? [] }));
      } catch (err) {
        resolve({ err: err as NativeError, messages: [] });
      }
    });
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeUp = undefined;
        resolve();
      }, ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
