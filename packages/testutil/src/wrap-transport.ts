/**
 * Transports and group consumers that forward to a real one, with a few
 * members replaced: how a test spies on a factory, injects a failure or
 * steers a callback while everything else keeps the real behaviour.
 */
import type { GroupConsumer, Transport } from '@tributary/core';

/**
 * A transport that forwards every member to `base`, except those in
 * `overrides`. `system` and `features` are read from `base` once, here;
 * every factory and `close` is looked up on `base` at call time, so the
 * wrapper sees what `base` does at the moment it is called.
 *
 * ```ts
 * const seen: GroupConsumerOptions[] = [];
 * const spy = wrapTransport(transport, { groupConsumer: (o) => (seen.push(o), transport.groupConsumer(o)) });
 * ```
 */
export function wrapTransport(base: Transport, overrides: Partial<Transport> = {}): Transport {
  return {
    system: overrides.system ?? base.system,
    features: overrides.features ?? base.features,
    producer: overrides.producer ?? ((options) => base.producer(options)),
    groupConsumer: overrides.groupConsumer ?? ((options) => base.groupConsumer(options)),
    partitionConsumer: overrides.partitionConsumer ?? ((options) => base.partitionConsumer(options)),
    admin: overrides.admin ?? (() => base.admin()),
    close: overrides.close ?? (() => base.close()),
  };
}

/**
 * A group consumer that forwards every member to `base`, except those in
 * `overrides` — e.g. a `run` that wraps the handlers, or a `commit` that
 * fails. `groupId` is read from `base` once, here.
 */
export function wrapGroupConsumer(base: GroupConsumer, overrides: Partial<GroupConsumer> = {}): GroupConsumer {
  return {
    groupId: overrides.groupId ?? base.groupId,
    run: overrides.run ?? ((handlers) => base.run(handlers)),
    commit: overrides.commit ?? ((offsets) => base.commit(offsets)),
    pause: overrides.pause ?? ((partitions) => base.pause(partitions)),
    resume: overrides.resume ?? ((partitions) => base.resume(partitions)),
    seek: overrides.seek ?? ((position) => base.seek(position)),
    assignment: overrides.assignment ?? (() => base.assignment()),
    close: overrides.close ?? (() => base.close()),
  };
}
