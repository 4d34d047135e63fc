import { ConfigCheck } from './config';
import { ConfigError, TributaryError } from './errors';
import { EventHeaders } from './event';
import type { HandlerContext, MessageHandler } from './handler';
import type { Message } from './message';

/**
 * Extracts the routing key of a record. Returning `undefined` (e.g. a missing
 * header) means "no key": only the default handler can take such a record.
 */
export type RoutingKey = (message: Message) => string | undefined;

/** Routes by topic (the default). */
export const routeByTopic: RoutingKey = (message) => message.topic;

/** Routes by the value of header `name`; records without it have no key. */
export function routeByHeader(name: string): RoutingKey {
  return (message) => message.headers[name];
}

/**
 * Routes by CloudEvents type, read from the `ce_type` header that
 * `eventToRecord` writes (the CloudEvents Kafka binding, binary mode).
 */
export const routeByEventType: RoutingKey = routeByHeader(EventHeaders.type);

export interface RouterOptions {
  /** What a record is routed by. Default {@link routeByTopic}. */
  readonly key?: RoutingKey;
}

/**
 * Routes records to handlers by a routing key (seed 001's Router).
 *
 * Patterns:
 * - **exact**: `orders.created` matches the key `orders.created` only.
 * - **wildcard**: a pattern ending in `.*` matches every key that starts with
 *   the text before the `*`, exactly as the seed does (`strings.HasPrefix`):
 *   `orders.*` matches `orders.created` and also `orders.eu.created` (the `*`
 *   spans dots) and `orders.` (empty suffix), but not `orders` or
 *   `ordersx.created`. A `*` anywhere else is rejected (ERR_CONFIG) rather than
 *   silently taken literally, as the seed would.
 *
 * Precedence: an exact match wins over any wildcard; when several wildcards
 * match, the longest prefix (the most specific pattern) wins — the seed takes
 * the first registered, which makes registration order matter; we do not.
 * Then the default handler. A record that matches nothing and finds no
 * default fails with ERR_UNROUTABLE (not retriable), so the consumer runtime
 * dead-letters it or stops on it like any other permanent failure; it is
 * never acknowledged silently.
 *
 * Registration: a pattern may be registered once (a second registration of
 * the same pattern is ERR_CONFIG). Registering while {@link Router.handler}'s
 * handler is already running is allowed: each registration replaces the
 * routing table in one synchronous step, so a record is routed either by the
 * table before or the table after, never a mix; records already dispatched
 * keep their handler.
 */
export interface Router {
  /** Registers `handler` for an exact or wildcard (`prefix.*`) pattern. */
  handle(pattern: string, handler: MessageHandler): this;
  /** Sets the handler for records no pattern matches (replaces a previous default). */
  default(handler: MessageHandler): this;
  /** The handler that a route would choose for `key`, or undefined when none (default included). */
  match(key: string | undefined): MessageHandler | undefined;
  /** The routing handler to give a consumer. Calling it twice gives handlers over the same table. */
  handler(): MessageHandler;
}

interface RoutingTable {
  readonly exact: ReadonlyMap<string, MessageHandler>;
  /** Wildcard routes, longest prefix first. */
  readonly wildcards: readonly { readonly prefix: string; readonly handler: MessageHandler }[];
  readonly fallback: MessageHandler | undefined;
}

class PatternRouter implements Router {
  readonly #key: RoutingKey;
  // Replaced wholesale on every registration (copy-on-write), so dispatch
  // reads one consistent snapshot.
  #table: RoutingTable = { exact: new Map(), wildcards: [], fallback: undefined };

  constructor(key: RoutingKey) {
    this.#key = key;
  }

  handle(pattern: string, handler: MessageHandler): this {
    const check = new ConfigCheck('router');
    if (typeof pattern !== 'string' || pattern.length === 0) check.problem('pattern', 'must be a non-empty string');
    else {
      const star = pattern.indexOf('*');
      if (star !== -1 && !(star === pattern.length - 1 && pattern.endsWith('.*'))) {
        check.problem('pattern', `"${pattern}": "*" is only allowed as a final ".*" segment`);
      }
      if (this.#has(pattern)) check.problem('pattern', `"${pattern}" is already registered`);
    }
    if (typeof handler !== 'function') check.problem('handler', 'must be a function');
    check.throwIfInvalid();

    const t = this.#table;
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1);
      const wildcards = [...t.wildcards, { prefix, handler }].sort((a, b) => b.prefix.length - a.prefix.length);
      this.#table = { ...t, wildcards };
    } else {
      const exact = new Map(t.exact);
      exact.set(pattern, handler);
      this.#table = { ...t, exact };
    }
    return this;
  }

  default(handler: MessageHandler): this {
    if (typeof handler !== 'function') {
      throw new ConfigError('router', [{ field: 'default', message: 'must be a function' }]);
    }
    this.#table = { ...this.#table, fallback: handler };
    return this;
  }

  match(key: string | undefined): MessageHandler | undefined {
    return lookup(this.#table, key);
  }

  handler(): MessageHandler {
    return (message: Message, ctx: HandlerContext) => {
      const key = this.#key(message);
      const handler = lookup(this.#table, key);
      if (handler === undefined) {
        throw new TributaryError(
          'ERR_UNROUTABLE',
          key === undefined ? 'record has no routing key and the router has no default handler' : `no route for "${key}" and no default handler`,
          { context: { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key } },
        );
      }
      return handler(message, ctx);
    };
  }

  #has(pattern: string): boolean {
    const t = this.#table;
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1);
      return t.wildcards.some((w) => w.prefix === prefix);
    }
    return t.exact.has(pattern);
  }
}

function lookup(table: RoutingTable, key: string | undefined): MessageHandler | undefined {
  if (key !== undefined) {
    const exact = table.exact.get(key);
    if (exact !== undefined) return exact;
    for (const w of table.wildcards) {
      if (key.startsWith(w.prefix)) return w.handler;
    }
  }
  return table.fallback;
}

/** Creates a router; see {@link Router} for matching, precedence and registration rules. */
export function createRouter(options: RouterOptions = {}): Router {
  if (options.key !== undefined && typeof options.key !== 'function') {
    throw new ConfigError('router', [{ field: 'key', message: 'must be a function' }]);
  }
  return new PatternRouter(options.key ?? routeByTopic);
}
