import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TributaryError, errorMessage, partitionKey } from '@tributary/core';

/**
 * Where a partition consumer (no group, so no broker-side commits) keeps the
 * next offset to read of its partition. `load` runs when the consumer starts;
 * `save` runs with the contiguous processed prefix as records complete
 * (coalesced, at most one save in flight per consumer) and once more on close.
 *
 * Implementations must make a resolved `save` durable enough for their
 * purpose: after a restart, `load` returns the last saved offset (or a later
 * one), never an earlier one.
 */
export interface OffsetStore {
  /** The saved next offset of the partition, or undefined when none was saved. */
  load(topic: string, partition: number): Promise<number | undefined>;
  save(topic: string, partition: number, nextOffset: number): Promise<void>;
}

function checkOffset(nextOffset: number): void {
  if (!Number.isSafeInteger(nextOffset) || nextOffset < 0) {
    throw new RangeError(`offset store: nextOffset must be a non-negative integer (got ${String(nextOffset)})`);
  }
}

/** Keeps offsets in this process only: a restart starts again from the consumer's `initialOffset`. */
export class MemoryOffsetStore implements OffsetStore {
  readonly #offsets = new Map<string, number>();

  async load(topic: string, partition: number): Promise<number | undefined> {
    return this.#offsets.get(partitionKey({ topic, partition }));
  }

  async save(topic: string, partition: number, nextOffset: number): Promise<void> {
    checkOffset(nextOffset);
    this.#offsets.set(partitionKey({ topic, partition }), nextOffset);
  }
}

interface OffsetFile {
  readonly version: 1;
  readonly offsets: Record<string, number>;
}

/**
 * Keeps offsets in a JSON file (`{"version":1,"offsets":{"topic/0":42}}`),
 * shared by every partition saved through this instance. Each save rewrites
 * the file atomically (write to a temporary file, then rename), one write at
 * a time, so a crash leaves either the old or the new content. Use one
 * instance per file within a process; separate processes need separate files.
 */
export class FileOffsetStore implements OffsetStore {
  readonly path: string;
  #offsets: Promise<Map<string, number>> | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(path: string) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('FileOffsetStore: path must be a non-empty string');
    this.path = path;
  }

  async load(topic: string, partition: number): Promise<number | undefined> {
    return (await this.#read()).get(partitionKey({ topic, partition }));
  }

  async save(topic: string, partition: number, nextOffset: number): Promise<void> {
    checkOffset(nextOffset);
    const offsets = await this.#read();
    offsets.set(partitionKey({ topic, partition }), nextOffset);
    // One write at a time; each write stores everything saved so far.
    const write = this.#writes.then(() => this.#write(offsets));
    this.#writes = write.catch(() => undefined);
    await write;
  }

  #read(): Promise<Map<string, number>> {
    if (this.#offsets === undefined) {
      const reading = this.#readFile();
      this.#offsets = reading;
      // A failed read is not cached: the next call tries again.
      void reading.catch(() => {
        if (this.#offsets === reading) this.#offsets = undefined;
      });
    }
    return this.#offsets;
  }

  async #readFile(): Promise<Map<string, number>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return new Map();
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as Partial<OffsetFile>;
      const entries = Object.entries(parsed.offsets ?? {});
      if (parsed.version !== 1 || entries.some(([, v]) => !Number.isSafeInteger(v) || v < 0)) throw new Error('unexpected content');
      return new Map(entries);
    } catch (err) {
      throw new TributaryError('ERR_STATE', `offset file ${this.path} is not a valid offset file: ${errorMessage(err)}`, { cause: err });
    }
  }

  async #write(offsets: Map<string, number>): Promise<void> {
    const content: OffsetFile = { version: 1, offsets: Object.fromEntries(offsets) };
    const tmp = `${this.path}.${process.pid}.tmp`;
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(content)}\n`, 'utf8');
    await rename(tmp, this.path);
  }
}
