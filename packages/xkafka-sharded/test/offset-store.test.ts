import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTributaryError } from '@tributary/core';
import { FileOffsetStore, MemoryOffsetStore } from '../src/offset-store';

describe('MemoryOffsetStore', () => {
  it('loads undefined until saved, then the last saved offset per partition', async () => {
    const store = new MemoryOffsetStore();
    expect(await store.load('t', 0)).toBeUndefined();
    await store.save('t', 0, 5);
    await store.save('t', 0, 9);
    await store.save('t', 1, 2);
    expect(await store.load('t', 0)).toBe(9);
    expect(await store.load('t', 1)).toBe(2);
    expect(await store.load('u', 0)).toBeUndefined();
  });

  it('rejects an offset that is not a non-negative integer', async () => {
    await expect(new MemoryOffsetStore().save('t', 0, -1)).rejects.toThrow(RangeError);
    await expect(new MemoryOffsetStore().save('t', 0, 1.5)).rejects.toThrow(RangeError);
  });
});

describe('FileOffsetStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xks-offsets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('persists offsets across instances (a restart), in a JSON file it creates with its directory', async () => {
    const path = join(dir, 'nested', 'offsets.json');
    const first = new FileOffsetStore(path);
    expect(await first.load('t', 0)).toBeUndefined();
    await first.save('t', 0, 41);
    await first.save('t', 3, 7);
    const second = new FileOffsetStore(path);
    expect(await second.load('t', 0)).toBe(41);
    expect(await second.load('t', 3)).toBe(7);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, offsets: { 't/0': 41, 't/3': 7 } });
  });

  it('keeps every partition when saves run concurrently', async () => {
    const path = join(dir, 'offsets.json');
    const store = new FileOffsetStore(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save('t', i, i * 10)));
    const reread = new FileOffsetStore(path);
    for (let i = 0; i < 20; i++) expect(await reread.load('t', i)).toBe(i * 10);
  });

  it('rejects a corrupt file with ERR_STATE naming the file, and tries again on the next load', async () => {
    const path = join(dir, 'offsets.json');
    await writeFile(path, '{not json');
    const store = new FileOffsetStore(path);
    const err: unknown = await store.load('t', 0).catch((e: unknown) => e);
    expect(isTributaryError(err) && err.code).toBe('ERR_STATE');
    expect((err as Error).message).toContain(path);
    await writeFile(path, JSON.stringify({ version: 1, offsets: { 't/0': 3 } }));
    expect(await store.load('t', 0)).toBe(3);
  });

  it('requires a path', () => {
    expect(() => new FileOffsetStore('')).toThrow(TypeError);
  });
});
