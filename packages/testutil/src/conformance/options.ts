/**
 * Options of runTransportConformance: validated once, every problem in one
 * ConfigError, then frozen.
 */
import { ConfigCheck, type Transport, type TransportFeatures } from '@tributary/core';

export interface TransportConformanceOptions {
  /** Names the transport in the suite's describe block. */
  readonly name: string;
  /**
   * Creates a fresh transport. Called once per test (and once more while the
   * suite is declared, to read `transport.features`; that one is closed after
   * the suite). Must not share topics or groups between calls unless the
   * transport is persistent — tests use unique names either way.
   */
  readonly createTransport: () => Transport | Promise<Transport>;
  /**
   * Overrides of `transport.features`. Required in full when
   * `createTransport` returns a promise (the suite must know which tests to
   * declare synchronously).
   */
  readonly features?: Partial<TransportFeatures>;
  /**
   * Multiplies every wait and test timeout (default 1: waits of 15 s, 60 s
   * for rebalances). Raise it for slow brokers or CI machines.
   */
  readonly timeoutScale?: number;
  /** Prefix for topic and group names (e.g. to find leftovers on a shared broker). Default `tc-`. */
  readonly topicPrefix?: string;
}

export interface ResolvedConformanceOptions {
  readonly name: string;
  readonly createTransport: () => Transport | Promise<Transport>;
  readonly features: TransportFeatures;
  readonly timeoutScale: number;
  readonly topicPrefix: string;
  /** The transport created to read features, if any (closed after the suite). */
  readonly probe: Transport | undefined;
}

const FEATURE_FLAGS = ['consumerGroups', 'partitionConsumer', 'rebalanceOnLeave', 'persistent'] as const;

/**
 * Validates the options and works out the features: `transport.features`
 * of a transport created for the purpose, overridden by `options.features`.
 */
export function resolveConformanceOptions(options: TransportConformanceOptions): ResolvedConformanceOptions {
  const check = new ConfigCheck('runTransportConformance');
  check.nonEmptyString(options?.name, 'name').fn(options?.createTransport, 'createTransport', false);
  if (options?.timeoutScale !== undefined) check.number(options.timeoutScale, 'timeoutScale', 0.01, 1000);
  if (options?.topicPrefix !== undefined) {
    check.check(typeof options.topicPrefix === 'string' && /^[a-zA-Z0-9._-]*$/.test(options.topicPrefix), 'topicPrefix', 'must use only [a-zA-Z0-9._-]');
  }
  const overrides = options?.features ?? {};
  for (const flag of FEATURE_FLAGS) {
    if (overrides[flag] !== undefined) check.check(typeof overrides[flag] === 'boolean', `features.${flag}`, 'must be a boolean');
  }
  if (overrides.maxRecordBytes !== undefined) {
    const max: unknown = overrides.maxRecordBytes;
    check.check(typeof max === 'number' && max >= 1, 'features.maxRecordBytes', 'must be a number >= 1 (Infinity for no limit)');
  }
  check.throwIfInvalid();

  let probe: Transport | undefined;
  let base: Partial<TransportFeatures> = {};
  const complete = FEATURE_FLAGS.every((f) => overrides[f] !== undefined) && overrides.maxRecordBytes !== undefined;
  if (!complete) {
    const created = options.createTransport();
    if (isPromise(created)) {
      // Swallow a late rejection: the problem is reported below.
      created.then((t) => t.close(), () => undefined).catch(() => undefined);
      check.problem('features', 'must list every feature when createTransport returns a promise (tests are declared synchronously)');
      check.throwIfInvalid();
    } else {
      probe = created;
      base = created.features;
    }
  }
  const features = Object.freeze({ ...base, ...overrides }) as TransportFeatures;
  return Object.freeze({
    name: options.name,
    createTransport: options.createTransport,
    features,
    timeoutScale: options.timeoutScale ?? 1,
    topicPrefix: options.topicPrefix ?? 'tc-',
    probe,
  });
}

function isPromise(value: Transport | Promise<Transport>): value is Promise<Transport> {
  return typeof (value as { then?: unknown }).then === 'function';
}
