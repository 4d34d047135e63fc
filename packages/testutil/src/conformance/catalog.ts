/**
 * What a conformance test is: a title, the features it needs (a test a
 * transport cannot pass is not declared at all), a timeout, and its body.
 */
import type { TransportFeatures } from '@tributary/core';
import type { ConformanceContext } from './context';

export interface ConformanceTest {
  /** Stable id (kebab-case), for docs and for tooling. */
  readonly id: string;
  /** The `it` title: the behaviour, stated as a fact. */
  readonly title: string;
  /** The features it needs, for the README (`—` for none). */
  readonly needs: string;
  /** Whether a transport with `features` runs it. */
  readonly applies: (features: TransportFeatures) => boolean;
  /** Jest timeout before `timeoutScale`. */
  readonly timeoutMs: number;
  readonly run: (ctx: ConformanceContext) => Promise<void>;
}

export interface ConformanceTestSpec {
  readonly id: string;
  readonly title: string;
  /** Feature flags that must all be true. Default none. */
  readonly requires?: readonly ('consumerGroups' | 'partitionConsumer' | 'rebalanceOnLeave' | 'persistent')[];
  /** Extra condition on the features (e.g. on maxRecordBytes), described by `needs`. */
  readonly when?: { readonly needs: string; readonly applies: (features: TransportFeatures) => boolean };
  /**
   * Default 120 000: long enough for the successful steps of a test on a
   * real broker plus one failing wait (rebalance waits are 60 s), so a
   * failure reports the wait's message, not Jest's generic timeout.
   */
  readonly timeoutMs?: number;
  readonly run: (ctx: ConformanceContext) => Promise<void>;
}

export function defineTest(spec: ConformanceTestSpec): ConformanceTest {
  const requires = spec.requires ?? [];
  const needs = [...requires, ...(spec.when ? [spec.when.needs] : [])];
  return Object.freeze({
    id: spec.id,
    title: spec.title,
    needs: needs.length > 0 ? needs.join(', ') : '—',
    applies: (f: TransportFeatures) => requires.every((flag) => f[flag]) && (spec.when ? spec.when.applies(f) : true),
    timeoutMs: spec.timeoutMs ?? 120_000,
    run: spec.run,
  });
}
