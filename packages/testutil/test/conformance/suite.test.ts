import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, TributaryError, type Admin, type Transport, type TransportFeatures } from '@tributary/core';
import { listConformanceTests, runTransportConformance, selectConformanceTests, type TransportConformanceOptions } from '@tributary/testutil';

const full: TransportFeatures = { consumerGroups: true, partitionConsumer: true, maxRecordBytes: 2 * 1024 * 1024, rebalanceOnLeave: true, persistent: true };
const bare: TransportFeatures = { consumerGroups: false, partitionConsumer: false, maxRecordBytes: 500_000, rebalanceOnLeave: false, persistent: false };

/** A transport that only knows its features and counts closes; everything else fails like a dead broker. */
function fakeTransport(features: TransportFeatures, closes: string[] = []): Transport {
  const down = (): never => {
    throw new TributaryError('ERR_CONNECTION', 'fake transport: no broker');
  };
  const admin: Admin = {
    createTopics: () => Promise.reject(new TributaryError('ERR_CONNECTION', 'fake transport: no broker')),
    deleteTopics: down,
    listTopics: down,
    fetchTopicOffsets: down,
    fetchCommittedOffsets: down,
    close: async () => void closes.push('admin'),
  };
  return {
    system: 'fake',
    features,
    producer: down,
    groupConsumer: down,
    partitionConsumer: down,
    admin: () => admin,
    close: async () => void closes.push('transport'),
  };
}

interface Declared {
  suite: string | undefined;
  tests: { title: string; timeout: number | undefined; fn: () => unknown }[];
  afterAll: (() => unknown)[];
}

/** Runs runTransportConformance with Jest's declaration globals replaced, and returns what it declared. */
function declare(options: TransportConformanceOptions): Declared {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { describe: g.describe, it: g.it, afterAll: g.afterAll };
  const declared: Declared = { suite: undefined, tests: [], afterAll: [] };
  g.describe = (name: string, body: () => void) => {
    declared.suite = name;
    body();
  };
  g.it = (title: string, fn: () => unknown, timeout?: number) => void declared.tests.push({ title, timeout, fn });
  g.afterAll = (fn: () => unknown) => void declared.afterAll.push(fn);
  try {
    runTransportConformance(options);
  } finally {
    Object.assign(g, saved);
  }
  return declared;
}

describe('runTransportConformance', () => {
  it('declares every test for a transport with every feature, with scaled timeouts', () => {
    const d = declare({ name: 'fake', createTransport: () => fakeTransport(full), timeoutScale: 2 });
    expect(d.suite).toBe('transport conformance: fake');
    expect(d.tests.map((t) => t.title)).toEqual(listConformanceTests().map((t) => t.title));
    expect(d.tests.every((t) => t.timeout !== undefined && t.timeout >= 120_000)).toBe(true);
    expect(new Set(d.tests.map((t) => t.title)).size).toBe(d.tests.length);
  });

  it('does not declare tests whose features the transport lacks', () => {
    const d = declare({ name: 'fake', createTransport: () => fakeTransport(bare) });
    const titles = d.tests.map((t) => t.title);
    expect(titles).toEqual(selectConformanceTests(bare).map((t) => t.title));
    const ids = selectConformanceTests(bare).map((t) => t.id);
    for (const id of ['group-split', 'commit-on-revocation', 'leave-rebalance', 'many-members', 'partition-consumer-start', 'persistent', 'large-record']) {
      expect(ids).not.toContain(id);
    }
    for (const id of ['payload-intact', 'record-too-large', 'commit-holds-back', 'close-reopen', 'admin-topics']) expect(ids).toContain(id);
  });

  it('lets options.features override transport.features', () => {
    const d = declare({ name: 'fake', createTransport: () => fakeTransport(full), features: { consumerGroups: false, maxRecordBytes: Infinity } });
    const ids = selectConformanceTests({ ...full, consumerGroups: false, maxRecordBytes: Infinity }).map((t) => t.id);
    expect(d.tests).toHaveLength(ids.length);
    expect(ids).not.toContain('group-split');
    expect(ids).not.toContain('record-too-large');
    expect(ids).toContain('large-record');
  });

  it('closes the transport it created to read the features after the suite', async () => {
    const closes: string[] = [];
    const d = declare({ name: 'fake', createTransport: () => fakeTransport(full, closes) });
    expect(d.afterAll).toHaveLength(1);
    await d.afterAll[0]!();
    expect(closes).toEqual(['transport']);
  });

  it('needs every feature up front when createTransport is async, and then does not call it while declaring', () => {
    expect(() => declare({ name: 'fake', createTransport: async () => fakeTransport(full) })).toThrow(ConfigError);
    let calls = 0;
    const d = declare({
      name: 'fake',
      createTransport: async () => {
        calls += 1;
        return fakeTransport(full);
      },
      features: full,
    });
    expect(calls).toBe(0);
    expect(d.tests).toHaveLength(listConformanceTests().length);
  });

  it('rejects invalid options with one ConfigError naming every problem, before declaring anything', () => {
    let error: unknown;
    try {
      declare({ name: '', createTransport: 'nope' as unknown as () => Transport, timeoutScale: 0, topicPrefix: 'bad prefix', features: { consumerGroups: 'yes' as unknown as boolean, maxRecordBytes: 0 } });
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field).sort()).toEqual(['createTransport', 'features.consumerGroups', 'features.maxRecordBytes', 'name', 'timeoutScale', 'topicPrefix']);
  });

  it('a declared test tears down (closes every client and the transport) even when it fails', async () => {
    const closes: string[] = [];
    const d = declare({ name: 'fake', createTransport: () => fakeTransport(full, closes), features: full });
    const test = d.tests.find((t) => t.title.startsWith('admin fetches'))!;
    await expect(test.fn()).rejects.toThrow('fake transport: no broker');
    expect(closes).toEqual(['admin', 'transport']);
  });
});

describe('selectConformanceTests / listConformanceTests', () => {
  it('lists each test once with the features it needs', () => {
    const all = listConformanceTests();
    expect(new Set(all.map((t) => t.id)).size).toBe(all.length);
    expect(all.find((t) => t.id === 'leave-rebalance')!.needs).toBe('consumerGroups, rebalanceOnLeave');
    expect(all.find((t) => t.id === 'payload-intact')!.needs).toBe('—');
    expect(all.find((t) => t.id === 'large-record')!.needs).toMatch(/maxRecordBytes/);
    expect(selectConformanceTests(full)).toEqual(all);
    expect(all.length).toBeGreaterThanOrEqual(30);
  });
});

describe('README', () => {
  it('documents every conformance test with the features it needs', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const missing = listConformanceTests().filter((t) => !readme.includes(`| \`${t.id}\` | ${t.title} | ${t.needs} |`));
    expect(missing.map((t) => t.id)).toEqual([]);
  });
});
