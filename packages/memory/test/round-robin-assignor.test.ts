import type { TopicPartition } from '@tributary/core';
import { assignRoundRobin } from '../src/round-robin-assignor';

const tps = (topic: string, n: number): TopicPartition[] => Array.from({ length: n }, (_, partition) => ({ topic, partition }));
const names = (list: readonly TopicPartition[] | undefined): string[] => (list ?? []).map((tp) => `${tp.topic}/${tp.partition}`);

describe('assignRoundRobin', () => {
  it('deals sorted partitions to members in the order given', () => {
    const a = { topics: ['t'] };
    const b = { topics: ['t'] };
    const c = { topics: ['t'] };
    const shuffled = [...tps('t', 7)].reverse();
    const result = assignRoundRobin([a, b, c], shuffled);
    expect(names(result.get(a))).toEqual(['t/0', 't/3', 't/6']);
    expect(names(result.get(b))).toEqual(['t/1', 't/4']);
    expect(names(result.get(c))).toEqual(['t/2', 't/5']);
  });

  it('balances across topics (where range would favour the first member)', () => {
    const a = { topics: ['x', 'y'] };
    const b = { topics: ['x', 'y'] };
    const result = assignRoundRobin([a, b], [...tps('x', 3), ...tps('y', 3)]);
    expect(names(result.get(a))).toEqual(['x/0', 'x/2', 'y/1']);
    expect(names(result.get(b))).toEqual(['x/1', 'y/0', 'y/2']);
  });

  it('skips members not subscribed to a topic', () => {
    const a = { topics: ['x'] };
    const b = { topics: ['x', 'y'] };
    const result = assignRoundRobin([a, b], [...tps('y', 2), ...tps('x', 2)]);
    expect(names(result.get(a))).toEqual(['x/0']);
    expect(names(result.get(b))).toEqual(['x/1', 'y/0', 'y/1']);
  });

  it('leaves partitions of topics nobody subscribes to unassigned, and lists members with nothing', () => {
    const a = { topics: ['x'] };
    const b = { topics: ['x'] };
    const result = assignRoundRobin([a, b], [...tps('x', 1), ...tps('z', 2)]);
    expect(names(result.get(a))).toEqual(['x/0']);
    expect(result.get(b)).toEqual([]);
  });

  it('returns an empty map for no members', () => {
    expect(assignRoundRobin([], tps('t', 3)).size).toBe(0);
  });

  it('is deterministic', () => {
    const members = [{ topics: ['a', 'b'] }, { topics: ['b'] }, { topics: ['a'] }];
    const partitions = [...tps('b', 5), ...tps('a', 4)];
    const first = [...assignRoundRobin(members, partitions).values()].map(names);
    const second = [...assignRoundRobin(members, [...partitions].reverse()).values()].map(names);
    expect(second).toEqual(first);
  });
});
