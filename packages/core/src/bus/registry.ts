import { ConfigCheck } from '../config';
import { ConfigError, TributaryError } from '../errors';

/**
 * Maps event types to the topic that carries them (seed 004's
 * EventRegistry). A type has exactly one topic; a topic may carry many types.
 */
export interface EventRegistry {
  /**
   * Records that events of `eventType` travel on `topic`. Registering the same
   * pair again is a no-op; moving a type to another topic is ERR_CONFIG (it
   * would silently split a type's events over two topics).
   */
  register(eventType: string, topic: string): this;
  /** The topic of `eventType`. @throws TributaryError ERR_EVENT_NOT_FOUND when it is not registered. */
  topicOf(eventType: string): string;
  /** The topic of `eventType`, or undefined. */
  find(eventType: string): string | undefined;
  has(eventType: string): boolean;
  /** Every registration, in registration order. */
  entries(): ReadonlyMap<string, string>;
}

class MapEventRegistry implements EventRegistry {
  readonly #topics = new Map<string, string>();

  register(eventType: string, topic: string): this {
    const check = new ConfigCheck('EventRegistry').nonEmptyString(eventType, 'eventType').nonEmptyString(topic, 'topic');
    const existing = typeof eventType === 'string' ? this.#topics.get(eventType) : undefined;
    check.check(existing === undefined || existing === topic, 'eventType', `"${eventType}" is already registered to topic "${existing}", not "${topic}"`);
    check.throwIfInvalid();
    this.#topics.set(eventType, topic);
    return this;
  }

  topicOf(eventType: string): string {
    const topic = this.#topics.get(eventType);
    if (topic === undefined) throw new TributaryError('ERR_EVENT_NOT_FOUND', `event type "${eventType}" is not registered to a topic`);
    return topic;
  }

  find(eventType: string): string | undefined {
    return this.#topics.get(eventType);
  }

  has(eventType: string): boolean {
    return this.#topics.has(eventType);
  }

  entries(): ReadonlyMap<string, string> {
    return new Map(this.#topics);
  }
}

/** Creates a registry, optionally with `{ eventType: topic }` registrations. */
export function createEventRegistry(initial: Readonly<Record<string, string>> = {}): EventRegistry {
  if (typeof initial !== 'object' || initial === null) throw new ConfigError('EventRegistry', [{ field: 'initial', message: 'must be an object of eventType → topic' }]);
  const registry = new MapEventRegistry();
  for (const [type, topic] of Object.entries(initial)) registry.register(type, topic);
  return registry;
}
