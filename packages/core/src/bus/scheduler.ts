import { setMaxListeners } from 'node:events';
import { ConfigCheck } from '../config';
import { TributaryError, isTributaryError } from '../errors';
import type { MessageHandler } from '../handler';
import { silentLogger, type Logger } from '../logger';
import { createConsumer, stopOptionsError } from '../runtime/consumer';
import type { Consumer, ConsumerMetrics, ConsumerOptions, StopOptions } from '../runtime/types';
import type { Transport } from '../transport';
import { SchedulerReadTask, type ReadTask } from './read-task';
import { createEventRegistry, type EventRegistry } from './registry';

/** Consumer settings every worker starts from; a task's `setArg` overrides them. */
export type WorkerDefaults = Partial<Omit<ConsumerOptions, 'groupId' | 'topics' | 'logger' | 'onError'>>;

export interface SubscriberSchedulerOptions {
  readonly transport: Transport;
  /** Default: a new, empty registry. */
  readonly registry?: EventRegistry;
  /**
   * Names the consumer groups of tasks without a `groupId` argument:
   * `<service>.<topic>` for a topic subscription and
   * `<service>.<topic>.<eventType>` for an event subscription (each event
   * subscription reads the whole topic and keeps its own type, so it needs
   * its own group). Required unless every task sets `groupId`.
   */
  readonly service?: string;
  /** Settings for every worker (retry, deadLetter, batch, …). */
  readonly consumer?: WorkerDefaults;
  readonly logger?: Logger;
  /** Errors of a worker (fatal ones stop that worker only), with its task. */
  readonly onError?: (error: unknown, task: ReadTask) => void;
}

/** The runtime metrics of one worker. */
export interface WorkerMetrics {
  readonly task: ReadTask;
  readonly groupId: string;
  readonly metrics: ConsumerMetrics;
}

/** The outcome of {@link SubscriberScheduler.subscribeEventSafe}. */
export type SubscribeResult = { readonly ok: true; readonly task: ReadTask } | { readonly ok: false; readonly error: TributaryError };

/**
 * Schedules subscriptions as workers (seed 004's SubscriberScheduler): each
 * ReadTask becomes one core consumer (`createConsumer`) on the transport,
 * started by `start()` and drained by `shutdown()`.
 *
 * Lifecycle: subscribe → start → shutdown. Subscribing after `start()` is
 * ERR_STATE; anything after `shutdown()` is ERR_CLOSED (seed's
 * ErrBusIsShutdown). A worker that stops on a fatal error (e.g. a failure it
 * may neither retry nor dead-letter) does not stop the others: it is
 * reported to `onError` and by `wait()`.
 */
export interface SubscriberScheduler {
  readonly registry: EventRegistry;
  /** Subscribes `handler` to every record of `topic`. */
  subscribeTopic(topic: string, handler: MessageHandler): ReadTask;
  /**
   * Subscribes `handler` to the events of a registered type, on its topic.
   * @throws TributaryError ERR_EVENT_NOT_FOUND when the type is not registered.
   */
  subscribeEvent(eventType: string, handler: MessageHandler): ReadTask;
  /** As {@link subscribeEvent}, returning the error instead of throwing it. */
  subscribeEventSafe(eventType: string, handler: MessageHandler): SubscribeResult;
  /**
   * Subscribes to events of `eventType`, registering it to `topic` first if
   * it is not registered (ERR_CONFIG if it is registered to another topic).
   */
  subscribe(topic: string, eventType: string, handler: MessageHandler): ReadTask;
  /** The tasks subscribed so far, in order. */
  tasks(): readonly ReadTask[];
  /**
   * Starts one worker per task and resolves once all run. Rejects with
   * ERR_NO_SUBSCRIBERS without tasks, ERR_CONFIG for bad task arguments or two
   * tasks with the same group and topic (they would split the partitions),
   * and with a worker's start error — after stopping the workers that did
   * start (the scheduler may then be started again).
   */
  start(): Promise<void>;
  /**
   * Stops every worker and resolves when all of them drained (in-flight
   * records finish, bounded by each worker's drainTimeoutMs, and are
   * committed). Idempotent (every call returns the same promise); also valid
   * before `start()`.
   *
   * `options` is the budget of every worker's `Consumer.stop(options)`:
   * `timeoutMs` instead of their drainTimeoutMs, `signal` to end every
   * drain at once. A later call with options can shorten a shutdown in
   * progress, never lengthen it. Invalid options reject with a ConfigError
   * naming each bad field, and nothing is stopped.
   */
  shutdown(options?: StopOptions): Promise<void>;
  /** Resolves when every started worker has stopped; rejects with the first fatal worker error. */
  wait(): Promise<void>;
  isRunning(): boolean;
  /** Metrics of every started worker (empty before `start()`), still readable after shutdown. */
  metrics(): WorkerMetrics[];
}

type State = 'idle' | 'starting' | 'running' | 'closed';

class WorkerScheduler implements SubscriberScheduler {
  readonly registry: EventRegistry;
  readonly #transport: Transport;
  readonly #service: string | undefined;
  readonly #defaults: WorkerDefaults;
  readonly #logger: Logger;
  readonly #onError: ((error: unknown, task: ReadTask) => void) | undefined;
  readonly #tasks: SchedulerReadTask[] = [];
  #workers: { readonly task: ReadTask; readonly consumer: Consumer }[] = [];
  #state: State = 'idle';
  #shutdown: Promise<void> | undefined;

  constructor(options: SubscriberSchedulerOptions) {
    this.#transport = options.transport;
    this.registry = options.registry ?? createEventRegistry();
    this.#service = options.service;
    this.#defaults = options.consumer ?? {};
    this.#logger = options.logger ?? silentLogger;
    this.#onError = options.onError;
  }

  subscribeTopic(topic: string, handler: MessageHandler): ReadTask {
    return this.#add(topic, undefined, handler);
  }

  subscribeEvent(eventType: string, handler: MessageHandler): ReadTask {
    this.#assertSubscribable();
    return this.#add(this.registry.topicOf(eventType), eventType, handler);
  }

  subscribeEventSafe(eventType: string, handler: MessageHandler): SubscribeResult {
    try {
      return { ok: true, task: this.subscribeEvent(eventType, handler) };
    } catch (err) {
      if (isTributaryError(err)) return { ok: false, error: err };
      throw err;
    }
  }

  subscribe(topic: string, eventType: string, handler: MessageHandler): ReadTask {
    this.#assertSubscribable();
    if (!this.registry.has(eventType)) this.registry.register(eventType, topic);
    const registered = this.registry.topicOf(eventType);
    if (registered !== topic) {
      throw new TributaryError('ERR_CONFIG', `event type "${eventType}" is registered to topic "${registered}", not "${topic}"`);
    }
    return this.#add(topic, eventType, handler);
  }

  tasks(): readonly ReadTask[] {
    return [...this.#tasks];
  }

  isRunning(): boolean {
    return this.#state === 'running';
  }

  async start(): Promise<void> {
    if (this.#state === 'closed') throw shutDownError('start');
    if (this.#state !== 'idle') throw new TributaryError('ERR_STATE', `SubscriberScheduler.start: already ${this.#state}`);
    if (this.#tasks.length === 0) throw new TributaryError('ERR_NO_SUBSCRIBERS', 'SubscriberScheduler.start: no subscriber tasks');

    // Build every worker before starting any, so a configuration problem starts nothing.
    const groups = this.#groupIds();
    const workers = this.#tasks.map((task, i) => ({
      task,
      consumer: createConsumer(this.#transport, {
        ...this.#defaults,
        ...task.args,
        groupId: groups[i] as string,
        topics: [task.topic],
        logger: this.#logger.child({ topic: task.topic, groupId: groups[i] }),
        onError: (error: unknown) => this.#reportError(error, task),
      }),
    }));

    this.#state = 'starting';
    for (const t of this.#tasks) t.seal();
    this.#workers = workers;
    const started = await Promise.allSettled(workers.map((w) => w.consumer.start(w.task.handler())));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(workers.map((w) => w.consumer.stop()));
      this.#workers = [];
      // A concurrent shutdown() wins: stay closed.
      if (this.#state === 'starting') this.#state = 'idle';
      throw failed.reason;
    }
    if (this.#state === 'starting') this.#state = 'running';
    this.#logger.info({ workers: workers.length }, 'subscriber scheduler started');
  }

  shutdown(options?: StopOptions): Promise<void> {
    const invalid = stopOptionsError(options, 'SubscriberScheduler.shutdown');
    if (invalid) return Promise.reject(invalid);
    const budget = options ?? {};
    const forwarded = this.#forward(budget);
    if (this.#shutdown === undefined) {
      this.#shutdown = this.#stopAll(forwarded.options);
    } else if (budget.timeoutMs !== undefined || budget.signal !== undefined) {
      // Shortens the drains in progress; each worker's stop() returns the promise #stopAll awaits.
      for (const w of this.#workers) void w.consumer.stop(forwarded.options);
    }
    void this.#shutdown.then(forwarded.release, forwarded.release);
    return this.#shutdown;
  }

  async wait(): Promise<void> {
    const outcomes = await Promise.allSettled(this.#workers.map((w) => w.consumer.wait()));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  metrics(): WorkerMetrics[] {
    return this.#workers.map((w) => ({ task: w.task, groupId: w.consumer.groupId, metrics: w.consumer.metrics() }));
  }

  async #stopAll(options: StopOptions): Promise<void> {
    this.#state = 'closed';
    await Promise.all(this.#workers.map((w) => w.consumer.stop(options)));
    this.#logger.info({ workers: this.#workers.length }, 'subscriber scheduler shut down');
  }

  /**
   * The caller's signal is followed through one signal of the scheduler's
   * own: every worker listens on that one, so a caller's signal gets one
   * listener however many workers there are (no MaxListenersExceeded
   * warning), removed by `release` once the shutdown is over.
   */
  #forward(budget: StopOptions): { readonly options: StopOptions; readonly release: () => void } {
    const signal = budget.signal;
    if (signal === undefined) return { options: budget, release: () => undefined };
    const ours = new AbortController();
    setMaxListeners(0, ours.signal);
    const options: StopOptions = { ...budget, signal: ours.signal };
    if (signal.aborted) {
      ours.abort(signal.reason);
      return { options, release: () => undefined };
    }
    const onAbort = (): void => ours.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    return { options, release: () => signal.removeEventListener('abort', onAbort) };
  }

  #add(topic: string, eventType: string | undefined, handler: MessageHandler): ReadTask {
    this.#assertSubscribable();
    new ConfigCheck('subscription').nonEmptyString(topic, 'topic').fn(handler, 'handler', false).throwIfInvalid();
    const task = new SchedulerReadTask(topic, eventType, handler);
    this.#tasks.push(task);
    return task;
  }

  #assertSubscribable(): void {
    if (this.#state === 'closed') throw shutDownError('subscribe');
    if (this.#state !== 'idle') throw new TributaryError('ERR_STATE', 'cannot subscribe: the scheduler has already started');
  }

  /** Group id of every task; ERR_CONFIG naming every task without one and every clash. */
  #groupIds(): string[] {
    const check = new ConfigCheck('SubscriberScheduler');
    const seen = new Map<string, number>();
    const ids = this.#tasks.map((task, i) => {
      let id = task.args.groupId;
      if (id === undefined) {
        if (this.#service === undefined) {
          check.problem(`tasks[${i}].groupId`, `is not set and no service is configured to derive it (topic "${task.topic}")`);
          return '';
        }
        id = task.eventType === undefined ? `${this.#service}.${task.topic}` : `${this.#service}.${task.topic}.${task.eventType}`;
      }
      const key = `${id}\u0000${task.topic}`;
      const other = seen.get(key);
      if (other !== undefined) {
        check.problem(`tasks[${i}].groupId`, `"${id}" on topic "${task.topic}" is also used by tasks[${other}]; they would split its partitions — set a distinct groupId`);
      } else seen.set(key, i);
      return id;
    });
    check.throwIfInvalid();
    return ids;
  }

  #reportError(error: unknown, task: ReadTask): void {
    try {
      this.#onError?.(error, task);
    } catch (err) {
      this.#logger.error({ err }, 'onError callback threw');
    }
  }
}

function shutDownError(what: string): TributaryError {
  return new TributaryError('ERR_CLOSED', `${what}: the subscriber scheduler has been shut down`);
}

/** Creates a SubscriberScheduler; options are validated once (every problem in one ConfigError). */
export function createSubscriberScheduler(options: SubscriberSchedulerOptions): SubscriberScheduler {
  const opts = options ?? ({} as SubscriberSchedulerOptions);
  new ConfigCheck('SubscriberScheduler')
    .check(typeof opts.transport?.groupConsumer === 'function', 'transport', 'must be a Transport')
    .check(opts.registry === undefined || typeof opts.registry?.topicOf === 'function', 'registry', 'must be an EventRegistry')
    .check(opts.service === undefined || (typeof opts.service === 'string' && opts.service.length > 0), 'service', 'must be a non-empty string when set')
    .check(opts.consumer === undefined || (typeof opts.consumer === 'object' && opts.consumer !== null), 'consumer', 'must be an object of consumer options')
    .fn(opts.onError, 'onError')
    .throwIfInvalid();
  return new WorkerScheduler(opts);
}
