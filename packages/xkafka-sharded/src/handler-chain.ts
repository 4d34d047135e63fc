import type { ConfigCheck } from '@tributary/core';

/**
 * How a topic's own middleware combines with the global middleware:
 * `'append'` runs the global middleware first (outermost), then the topic's;
 * `'replace'` runs only the topic's.
 */
export type ChainMode = 'append' | 'replace';

/** Middleware of one topic (consumer side: core's HandlerMiddleware; producer side: ProducerMiddleware). */
export interface TopicHandlers<M> {
  /** Default `'append'`. */
  readonly mode?: ChainMode;
  readonly handlers: readonly M[];
}

/** Per-topic middleware after validation. */
export interface ResolvedTopicHandlers<M> {
  readonly mode: ChainMode;
  readonly handlers: readonly M[];
}

const CHAIN_MODES: readonly ChainMode[] = ['append', 'replace'];

/**
 * The middleware list of a topic, outermost first: the global list, the
 * topic's list appended to it, or the topic's list alone.
 */
export function middlewareForTopic<M>(global: readonly M[], topic: ResolvedTopicHandlers<M> | undefined): readonly M[] {
  if (topic === undefined) return global;
  return topic.mode === 'replace' ? topic.handlers : [...global, ...topic.handlers];
}

/** Checks a list of middleware functions into `check`; returns it frozen (empty when undefined). */
export function checkMiddlewareList<M>(check: ConfigCheck, value: unknown, field: string): readonly M[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) {
    check.problem(field, 'must be an array of middleware functions');
    return Object.freeze([]);
  }
  value.forEach((m: unknown, i) => check.fn(m, `${field}[${i}]`, false));
  return Object.freeze([...(value as M[])]);
}

/**
 * Checks per-topic middleware into `check`. When `topics` is given, every
 * configured topic must be one of them (a typo would otherwise silently
 * leave a topic with the global chain).
 */
export function checkTopicHandlers<M>(
  check: ConfigCheck,
  value: unknown,
  field: string,
  topics?: readonly string[],
): ReadonlyMap<string, ResolvedTopicHandlers<M>> {
  const resolved = new Map<string, ResolvedTopicHandlers<M>>();
  if (value === undefined) return resolved;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    check.problem(field, 'must be an object mapping topic names to { mode, handlers }');
    return resolved;
  }
  for (const [topic, spec] of Object.entries(value as Record<string, unknown>)) {
    const at = `${field}.${topic}`;
    if (topics !== undefined && !topics.includes(topic)) check.problem(at, 'is not one of the subscribed topics');
    if (typeof spec !== 'object' || spec === null) {
      check.problem(at, 'must be { mode?, handlers }');
      continue;
    }
    const { mode = 'append', handlers } = spec as { mode?: unknown; handlers?: unknown };
    check.oneOf(mode, `${at}.mode`, CHAIN_MODES);
    if (handlers === undefined) check.problem(`${at}.handlers`, 'is required');
    const list = checkMiddlewareList<M>(check, handlers, `${at}.handlers`);
    resolved.set(topic, Object.freeze({ mode: mode as ChainMode, handlers: list }));
  }
  return resolved;
}
