/**
 * The options the queue client and the redeliverer have in common. Both are
 * a group consumer on one topic of a queue (the client on the queue, the
 * redeliverer on its markers topic) that writes markers, so both take the
 * queue's topic names, a clock, a producer to share and the tuning passed to
 * their group consumer. They are resolved, checked and handed to the consumer
 * here, so the two components report a bad value with the same words and
 * field names.
 */
import {
  MAX_DELAY_MS,
  silentLogger,
  type BackoffOptions,
  type ConfigCheck,
  type GroupConsumerOptions,
  type Logger,
  type Transport,
  type TransportProducer,
} from '@tributary/core';
import { checkBackoff } from './backoff-check';
import { systemClock, type Clock } from './clock';
import { defaultMarkersTopic } from './queue-topics';

/**
 * The shared options this module resolves, as given (`MqClientOptions` and
 * `RedelivererOptions` both have them). The shared `producer` is checked
 * here too, but passed on as given.
 */
export interface QueueConsumerOptions {
  readonly queue: string;
  readonly markersTopic?: string;
  readonly maxBatchRecords?: number;
  readonly checkTopics?: boolean;
  readonly clientId?: string;
  readonly rebalanceTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** The options passed through to the group consumer; unset ones leave the transport's defaults. */
export interface ConsumerTuning {
  readonly maxBatchRecords: number | undefined;
  readonly clientId: string | undefined;
  readonly rebalanceTimeoutMs: number | undefined;
}

/** The shared options with their defaults applied (not yet checked). */
export interface ResolvedQueueConsumerOptions extends ConsumerTuning {
  readonly queue: string;
  readonly markersTopic: string;
  readonly checkTopics: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The first checks of a factory: `transport` must be a Transport and
 * `options` an object. When `options` is not one, nothing else can be read,
 * so this throws the ConfigError at once (with the transport problem, if
 * any); otherwise the problems stay in `check` with those still to come.
 */
export function checkFactoryArguments(check: ConfigCheck, transport: Transport, options: unknown): void {
  check.check(
    typeof transport === 'object' && transport !== null && typeof transport.groupConsumer === 'function',
    'transport',
    'must be a Transport',
  );
  if (typeof options !== 'object' || options === null) {
    check.problem('options', 'must be an object');
    check.throwIfInvalid();
  }
}

/**
 * Applies the shared defaults: the markers topic is `<queue>.markers`, the
 * clock `Date.now`, the logger silent; `checkTopics` defaults to the
 * component's own default. A queue that is not a string leaves the markers
 * topic empty, so the check names `queue` and `markersTopic` both.
 */
export function resolveQueueConsumerOptions(
  options: QueueConsumerOptions,
  defaults: { readonly checkTopics: boolean },
): ResolvedQueueConsumerOptions {
  const queue = options.queue;
  return {
    queue,
    markersTopic: options.markersTopic ?? (typeof queue === 'string' ? defaultMarkersTopic(queue) : ''),
    maxBatchRecords: options.maxBatchRecords,
    checkTopics: options.checkTopics ?? defaults.checkTopics,
    clientId: options.clientId,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
  };
}

/**
 * Checks the shared options that follow a component's own ones, in this
 * order: `checkTopics`, `clock`, `producer`, the component's retry policy
 * (problems named `<retry.field>.<option>`), then the consumer tuning —
 * each tuning option only when set.
 */
export function checkQueueConsumerOptions(
  check: ConfigCheck,
  resolved: ResolvedQueueConsumerOptions,
  producer: TransportProducer | undefined,
  retry: { readonly field: string; readonly options: BackoffOptions | undefined },
): void {
  check
    .oneOf(resolved.checkTopics, 'checkTopics', [true, false])
    .fn(resolved.clock, 'clock', false)
    .check(
      producer === undefined || (typeof producer === 'object' && producer !== null && typeof producer.send === 'function'),
      'producer',
      'must be a TransportProducer',
    );
  checkBackoff(check, retry.options, retry.field);
  if (resolved.maxBatchRecords !== undefined) check.integer(resolved.maxBatchRecords, 'maxBatchRecords', 1);
  if (resolved.rebalanceTimeoutMs !== undefined) check.integer(resolved.rebalanceTimeoutMs, 'rebalanceTimeoutMs', 1, MAX_DELAY_MS);
  if (resolved.clientId !== undefined) check.nonEmptyString(resolved.clientId, 'clientId');
}

/**
 * The consumer tuning as group consumer options: only those that are set,
 * so the transport applies its own defaults to the rest.
 */
export function consumerTuning(o: ConsumerTuning): Pick<GroupConsumerOptions, 'maxBatchRecords' | 'clientId' | 'rebalanceTimeoutMs'> {
  return {
    ...(o.maxBatchRecords !== undefined ? { maxBatchRecords: o.maxBatchRecords } : {}),
    ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
    ...(o.rebalanceTimeoutMs !== undefined ? { rebalanceTimeoutMs: o.rebalanceTimeoutMs } : {}),
  };
}
