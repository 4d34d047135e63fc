import { chainHandlers } from '../chain';
import { ConfigError, TributaryError } from '../errors';
import { EventHeaders } from '../event';
import type { HandlerMiddleware, MessageHandler } from '../handler';
import type { ConsumerOptions } from '../runtime/types';

/** Consumer settings a task can override (seed 004's ExternalArgs), e.g. `setArg('groupId', 'billing')`. */
export type ReadTaskArgs = Partial<Pick<ConsumerOptions, 'groupId' | 'fromBeginning' | 'batch' | 'retry' | 'deadLetter' | 'drainTimeoutMs' | 'clientId'>>;

const ARG_NAMES: ReadonlySet<string> = new Set<keyof ReadTaskArgs>(['groupId', 'fromBeginning', 'batch', 'retry', 'deadLetter', 'drainTimeoutMs', 'clientId']);

/**
 * One subscription a SubscriberScheduler runs as its own worker (seed 004's
 * ReadTask): a topic, a handler, optional per-task middleware and consumer
 * arguments. Built fluently before `start()`; once the scheduler started, a
 * task is sealed and changing it is ERR_STATE.
 */
export interface ReadTask {
  readonly topic: string;
  /** Set for event subscriptions: the worker handles only records of this `ce_type`. */
  readonly eventType: string | undefined;
  /** The arguments set so far. */
  readonly args: Readonly<ReadTaskArgs>;
  /** Sets a consumer argument for this task's worker; validated when the scheduler starts. */
  setArg<K extends keyof ReadTaskArgs>(name: K, value: ReadTaskArgs[K]): this;
  /**
   * Wraps the task's handler, as built so far, in `middleware` (chain of
   * responsibility, as the seed's WithMiddleware). Each call wraps the
   * previous result, so the middleware added last runs first:
   * `task.withMiddleware(retry).withMiddleware(logging)` runs logging → retry
   * → handler. (To list middleware outermost-first, pass
   * `composeMiddleware(logging, retry)` once.)
   */
  withMiddleware(middleware: HandlerMiddleware): this;
  /** The handler the worker runs: the middleware chain, behind the event-type filter for event tasks. */
  handler(): MessageHandler;
}

/** The scheduler's view of a task: it seals tasks when it starts. */
export class SchedulerReadTask implements ReadTask {
  readonly topic: string;
  readonly eventType: string | undefined;
  #args: ReadTaskArgs = {};
  #handler: MessageHandler;
  #sealed = false;

  constructor(topic: string, eventType: string | undefined, handler: MessageHandler) {
    this.topic = topic;
    this.eventType = eventType;
    this.#handler = handler;
  }

  get args(): Readonly<ReadTaskArgs> {
    return this.#args;
  }

  setArg<K extends keyof ReadTaskArgs>(name: K, value: ReadTaskArgs[K]): this {
    this.#assertOpen('setArg');
    if (!ARG_NAMES.has(name)) {
      throw new ConfigError('ReadTask', [{ field: String(name), message: `is not a task argument (one of ${[...ARG_NAMES].join(', ')})` }]);
    }
    this.#args = Object.freeze({ ...this.#args, [name]: value });
    return this;
  }

  withMiddleware(middleware: HandlerMiddleware): this {
    this.#assertOpen('withMiddleware');
    if (typeof middleware !== 'function') throw new ConfigError('ReadTask', [{ field: 'middleware', message: 'must be a function' }]);
    this.#handler = chainHandlers(this.#handler, middleware);
    return this;
  }

  handler(): MessageHandler {
    const inner = this.#handler;
    const type = this.eventType;
    if (type === undefined) return inner;
    // Records of other types on the topic belong to other subscriptions (each
    // has its own consumer group); this worker acknowledges them untouched.
    return (message, ctx) => (message.headers[EventHeaders.type] === type ? inner(message, ctx) : undefined);
  }

  seal(): void {
    this.#sealed = true;
  }

  #assertOpen(what: string): void {
    if (this.#sealed) throw new TributaryError('ERR_STATE', `ReadTask.${what}: the task's scheduler has already started`);
  }
}
