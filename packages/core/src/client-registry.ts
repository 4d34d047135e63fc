import { closedError } from './errors';

/** Anything a transport hands out that must be closed with it. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * The producers, consumers and admin clients a transport created, so that
 * `Transport.close()` closes every one still open (for transport authors).
 */
export class ClientRegistry {
  readonly #component: string;
  readonly #open = new Set<Closable>();
  #closing: Promise<void> | undefined;

  /** @param component names the owner in ERR_CLOSED messages, e.g. 'kafka transport'. */
  constructor(component: string) {
    this.#component = component;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Creates a client through `create` and tracks it until it calls the
   * `onClosed` it was given. Throws ERR_CLOSED, naming `call`, once closed.
   */
  track<C extends Closable>(call: string, create: (onClosed: () => void) => C): C {
    if (this.closed) throw closedError(this.#component, call);
    const client: C = create(() => this.#open.delete(client));
    this.#open.add(client);
    return client;
  }

  /** Closes every tracked client concurrently. Idempotent: later calls return the same promise. */
  closeAll(): Promise<void> {
    this.#closing ??= Promise.all([...this.#open].map((c) => c.close())).then(() => undefined);
    return this.#closing;
  }
}
