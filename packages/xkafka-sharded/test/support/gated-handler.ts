import type { HandlerContext, Message, MessageHandler } from '@tributary/core';
import { deferred, waitFor, type Deferred } from '@tributary/testutil';

interface Call {
  readonly message: Message;
  readonly ctx: HandlerContext;
  readonly gate: Deferred<void>;
}

/**
 * A handler whose calls wait until the test releases them: tests decide
 * the order in which records finish, without timers.
 */
export class GatedHandler {
  readonly calls: Call[] = [];
  readonly #running = new Set<Call>();
  #open = false;

  readonly handler: MessageHandler = (message, ctx) => {
    const call: Call = { message, ctx, gate: deferred() };
    this.calls.push(call);
    if (this.#open) return Promise.resolve();
    this.#running.add(call);
    return call.gate.promise.finally(() => this.#running.delete(call));
  };

  /** Lets every running call succeed, and every later call succeed at once. */
  open(): void {
    this.#open = true;
    for (const call of this.#running) call.gate.resolve();
  }

  /** The first call for `offset` (of `partition`, if given). */
  call(offset: number, partition?: number): Call | undefined {
    return this.calls.find((c) => c.message.offset === offset && (partition === undefined || c.message.partition === partition));
  }

  /** Offsets (with attempt) of every call, in start order: `"3"` for attempt 1, `"3#2"` for attempt 2. */
  started(): string[] {
    return this.calls.map((c) => (c.ctx.attempt === 1 ? String(c.message.offset) : `${c.message.offset}#${c.ctx.attempt}`));
  }

  /** Offsets of the calls running now, sorted. */
  running(): number[] {
    return [...this.#running].map((c) => c.message.offset).sort((a, b) => a - b);
  }

  /** Waits for the call of `offset` (its latest attempt) to start, then lets it succeed or fail. */
  async release(offset: number, error?: unknown): Promise<void> {
    const call = (await waitFor(() => [...this.#running].find((c) => c.message.offset === offset), {
      message: `a running call for offset ${offset}`,
      timeoutMs: 5_000,
    })) as Call;
    if (error === undefined) call.gate.resolve();
    else call.gate.reject(error);
  }
}
