/// <reference types="jest" />
/**
 * The transport conformance suite (after Watermill's universal Pub/Sub
 * tests): one function every transport's test file calls with its factory;
 * it declares the tests the transport's features allow, with Jest's
 * `describe`/`it`.
 */
import type { TransportFeatures } from '@tributary/core';
import { withTimeout } from '../wait';
import { adminTests } from './admin-tests';
import type { ConformanceTest } from './catalog';
import { commitTests } from './commit-tests';
import { consumeTests } from './consume-tests';
import { ConformanceContext } from './context';
import { groupTests } from './group-tests';
import { lifecycleTests } from './lifecycle-tests';
import { resolveConformanceOptions, type TransportConformanceOptions } from './options';
import { partitionConsumerTests } from './partition-consumer-tests';
import { produceTests } from './produce-tests';

/** Every conformance test, in the order they are declared. */
export const conformanceTests: readonly ConformanceTest[] = Object.freeze([
  ...produceTests,
  ...consumeTests,
  ...commitTests,
  ...groupTests,
  ...lifecycleTests,
  ...partitionConsumerTests,
  ...adminTests,
]);

/** A conformance test as listed for docs and tooling. */
export interface ConformanceTestInfo {
  readonly id: string;
  readonly title: string;
  /** Features it needs (`—` for none). */
  readonly needs: string;
}

/** The tests a transport with `features` runs (the others are not declared at all). */
export function selectConformanceTests(features: TransportFeatures): ConformanceTestInfo[] {
  return conformanceTests.filter((t) => t.applies(features)).map(({ id, title, needs }) => ({ id, title, needs }));
}

/** Every test with the features it needs. */
export function listConformanceTests(): ConformanceTestInfo[] {
  return conformanceTests.map(({ id, title, needs }) => ({ id, title, needs }));
}

/**
 * Declares the conformance suite for a transport. Call it at the top level of
 * a Jest test file:
 *
 * ```ts
 * import { memory } from '@tributary/memory';
 * import { runTransportConformance } from '@tributary/testutil';
 *
 * runTransportConformance({ name: 'memory', createTransport: () => memory() });
 * ```
 *
 * Each test gets a fresh transport from `createTransport`, creates its own
 * uniquely named topics through `transport.admin()`, waits on conditions with
 * deadlines (scaled by `timeoutScale`), and closes every client it made —
 * then fails if any consumer broke the ConsumerHandlers contract on the way.
 * Tests needing a feature the transport lacks are not declared.
 *
 * @throws ConfigError (ERR_CONFIG) for invalid options.
 */
export function runTransportConformance(options: TransportConformanceOptions): void {
  const resolved = resolveConformanceOptions(options);
  const { features, timeoutScale } = resolved;
  describe(`transport conformance: ${resolved.name}`, () => {
    afterAll(async () => {
      if (resolved.probe) await withTimeout(resolved.probe.close(), 30_000 * timeoutScale, 'closing the transport created to read features');
    });
    for (const test of conformanceTests) {
      if (!test.applies(features)) continue;
      it(test.title, () => runOne(test, resolved), test.timeoutMs * timeoutScale);
    }
  });
}

async function runOne(test: ConformanceTest, options: ReturnType<typeof resolveConformanceOptions>): Promise<void> {
  const ctx = await ConformanceContext.create(options);
  let failure: { error: unknown } | undefined;
  try {
    await test.run(ctx);
  } catch (error: unknown) {
    failure = { error };
  }
  // Errors reported to onError explain many failures (e.g. a handler that threw).
  const reported = ctx.consumerErrors();
  const teardownErrors = await ctx.teardown();
  if (failure) {
    if (reported.length > 0 && failure.error instanceof Error) {
      failure.error.message += `\n\nconsumers reported to onError:\n${reported.map((r) => `  - ${r}`).join('\n')}`;
    }
    throw failure.error;
  }
  if (teardownErrors.length > 0) {
    throw new AggregateError(teardownErrors, `[${test.id}] teardown failed: ${teardownErrors.map(String).join('; ')}`);
  }
  ctx.assertNoViolations();
}
