import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../../src/storage/key-order.js';
import { PartitionState } from '../../../src/speed/partition-state.js';
import { readKeys, readReady, readScan, type PartitionSource } from '../../../src/speed/speed-read.js';
import { seededRandom } from '../../support/seeded-random.js';

const plus = (a: number, b: number): number => a + b;
interface Rec { readonly k: string; readonly v: number }

function reference(logs: readonly (readonly Rec[])[], from: readonly number[], to: readonly number[]): Map<string, number> {
  const m = new Map<string, number>();
  logs.forEach((log, p) => {
    for (let o = from[p]!; o < to[p]!; o++) m.set(log[o]!.k, (m.get(log[o]!.k) ?? 0) + log[o]!.v);
  });
  return m;
}

describe('reads of the speed state from a cut', () => {
  it('get and scan equal a sequential fold of [cut, applied) of the covered partitions, in key order with limits', () => {
    const random = seededRandom(42);
    const int = (n: number): number => Math.floor(random() * n);
    const keys = ['a', 'ab', 'abc', 'b', '\u0000\u0002x\u0000', 'é', 'z', 'zz', 'b/1', 'b/2'];
    const logs = [0, 1, 2].map(() => Array.from({ length: 400 }, () => ({ k: keys[int(keys.length)]!, v: 1 + int(9) })));
    for (let round = 0; round < 30; round++) {
      const cut = [int(100), int(100), int(100)];
      const states = logs.map((log, p) => {
        const s = new PartitionState<number>(p, plus, 0, 0, { paneMs: 50 });
        s.setBoundaries([cut[p]!], 0);
        const applied = cut[p]! + int(300);
        for (let o = 0; o < applied; o++) s.apply(o, [[log[o]!.k, log[o]!.v]], o);
        return s;
      });
      // Partition 2 dropped its state before the cut in odd rounds: uncovered.
      if (round % 2 === 1) states[2]!.handoff(Math.min(states[2]!.applied, cut[2]! + 1), 0);
      const sources: PartitionSource<number>[] = states.map((state, p) => ({ partition: p, state, end: 400, caughtUpAt: 7 }));
      const covered = states.map((s, p) => s.readFrom(cut[p]!).covered);
      const to = states.map((s, p) => (covered[p] ? s.applied : cut[p]!));
      const expected = reference(logs, cut, to);

      const got = readKeys(sources, cut, [...keys, 'missing', 'a'], plus);
      expect(new Map(got.entries)).toEqual(expected);
      expect(got.entries.map(([k]) => k)).toEqual(keys.filter((k) => expected.has(k)));
      expect(got.partitions.map((c) => c.applied)).toEqual(to);
      expect(got.partitions.map((c) => c.lag)).toEqual(to.map((a) => 400 - a));
      if (round % 2 === 1 && !covered[2]) expect(got.partitions[2]!.uncovered).toBe('dropped');

      const ordered = [...expected.keys()].sort(compareKeys);
      const bounds = [{}, { prefix: 'a' }, { from: 'ab', to: 'z' }, { prefix: 'b', limit: 1 }, { limit: 3 }, { from: 'zz' }, { prefix: '\u0000' }, { prefix: 'b', from: 'b/2' }, { prefix: 'b', from: 'a', limit: 2 }, { from: 'b', to: 'b' }];
      for (const b of bounds) {
        const scan = readScan(sources, cut, b, plus);
        const want = ordered.filter((k) => (!('prefix' in b) || k.startsWith(b.prefix)) && (!('from' in b) || compareKeys(k, b.from) >= 0) && (!('to' in b) || compareKeys(k, b.to) < 0));
        const limited = 'limit' in b ? want.slice(0, b.limit) : want;
        expect(scan.entries).toEqual(limited.map((k) => [k, expected.get(k)]));
      }
    }
  });

  it('a scan sees the keys folded since the previous scan (the sorted keys of a segment are kept only while it has no new key)', () => {
    const s = new PartitionState<number>(0, plus, 0, 0, { paneMs: 10, settleMs: 0 });
    const src: PartitionSource<number>[] = [{ partition: 0, state: s, end: 100, caughtUpAt: 1 }];
    let o = 0;
    for (const k of ['m', 'c', 'x']) s.apply(o++, [[k, 1]], 0);
    expect(readScan(src, [0], {}, plus).entries).toEqual([['c', 1], ['m', 1], ['x', 1]]);
    // Into the same open pane, then into a new pane that compaction merges into the first.
    for (const k of ['a', 'm']) s.apply(o++, [[k, 2]], 5);
    expect(readScan(src, [0], {}, plus).entries).toEqual([['a', 2], ['c', 1], ['m', 3], ['x', 1]]);
    for (const k of ['d', 'z']) s.apply(o++, [[k, 4]], 20);
    s.apply(o++, [['e', 8]], 40);
    s.compact(100);
    expect(readScan(src, [0], { limit: 4 }, plus).entries).toEqual([['a', 2], ['c', 1], ['d', 4], ['e', 8]]);
    expect(readScan(src, [0], { from: 'm' }, plus).entries).toEqual([['m', 3], ['x', 1], ['z', 4]]);
  });

  it('lists an uncovered partition with applied at the cut and folds nothing of it', () => {
    const a = new PartitionState<number>(0, plus, 0, 0);
    const b = new PartitionState<number>(1, plus, 0, 0);
    for (let o = 0; o < 5; o++) {
      a.apply(o, [['k', 1]], 0);
      b.apply(o, [['k', 10]], 0);
    }
    b.stop(5, 'bad record');
    const sources: PartitionSource<number>[] = [
      { partition: 0, state: a, end: 9, caughtUpAt: 3 },
      { partition: 1, state: b, end: 9, caughtUpAt: 3 },
      { partition: 2, state: undefined, end: 4, caughtUpAt: 0 },
      { partition: 3, state: a, busy: 'busy: view thread restarting', end: 4, caughtUpAt: 0 },
    ];
    const r = readKeys(sources, [0, 0, 2, 1], ['k'], plus);
    expect(r.entries).toEqual([['k', 5]]);
    expect(r.partitions).toEqual([
      { partition: 0, applied: 5, lag: 4, caughtUpAt: 3 },
      { partition: 1, applied: 0, lag: 9, caughtUpAt: 3, uncovered: 'stopped at offset 5: bad record' },
      { partition: 2, applied: 2, lag: 2, caughtUpAt: 0, uncovered: 'busy: restoring' },
      { partition: 3, applied: 1, lag: 3, caughtUpAt: 0, uncovered: 'busy: view thread restarting' },
    ]);
    expect(r.partitions.find((c) => c.partition === 0)!.uncovered).toBeUndefined();
    expect(readKeys(sources.slice(0, 1), [6], ['k'], plus).partitions[0]!.uncovered).toBe('not reached');
    expect(() => readKeys(sources, [0, 0], ['k'], plus)).toThrow(/Expected a cut with a non-negative offset for partition 2, got undefined/);
    expect(() => readScan(sources, [0, 0, 0, 0], { limit: -1 }, plus)).toThrow(/Expected a scan limit/);
  });

  it('is ready to answer once every partition reached the cut and atLeast, or cannot by waiting', () => {
    const a = new PartitionState<number>(0, plus, 0, 0);
    for (let o = 0; o < 5; o++) a.apply(o, [['k', 1]], 0);
    const src: PartitionSource<number>[] = [{ partition: 0, state: a, end: 9, caughtUpAt: 0 }];
    expect(readReady(src, [3])).toBe(false); // no boundary at 3 yet: the next assignment may bring it
    a.setBoundaries([3], 0);
    expect(readReady(src, [3])).toBe(false); // split pending
    expect(readReady(src, [5])).toBe(true);
    expect(readReady(src, [5], [6])).toBe(false);
    expect(readReady(src, [6])).toBe(false);
    a.stop(5, 'x');
    expect(readReady(src, [6])).toBe(true);
  });
});
