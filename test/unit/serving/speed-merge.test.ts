import { describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { LaminateError } from '../../../src/common/errors.js';
import type { SpeedAnswer, SpeedLocation, SpeedPartitionCoverage } from '../../../src/common/speed-shapes.js';
import { encodeViewKey } from '../../../src/common/view-key.js';
import type { ServedEntry } from '../../../src/common/serving-shapes.js';
import {
  behind, coverageOf, isFinal, mergedValue, mergeScanEntries, NO_SPEED_PROCESS, plusScanSide, plusSide, type SpeedReply,
} from '../../../src/serving/speed-merge.js';
import { monoidByName, presentationOf } from '../../../src/view/monoid-by-name.js';
import type { ViewEntry } from '../../../src/view/view-file-reader.js';
import { seededRandom } from '../../support/seeded-random.js';

const sum = monoidByName('sum')!;
const loc = (nodeId: string, partitions: number[]): SpeedLocation => ({ nodeId, address: `127.0.0.1:${nodeId.length}`, partitions });
const answer = (partitions: SpeedPartitionCoverage[], entries: Array<[string, unknown]>, watermark?: number): SpeedAnswer => ({
  view: 'v', partitions, entries: entries.map(([key, acc]) => ({ key, acc: pack(acc) })), ...(watermark !== undefined ? { watermark } : {}),
});

describe('coverageOf', () => {
  it('names A per partition, uncovered partitions with their reasons (A = cut there), lag, freshness and the least watermark', () => {
    const cut = [10, 20, 30, 40, 50];
    const replies: SpeedReply[] = [
      {
        location: loc('speed-a', [0, 1]),
        answer: answer([
          { partition: 0, applied: 15, lag: 3, caughtUpAt: 9_000 },
          { partition: 1, applied: 20, lag: 4, caughtUpAt: 0, uncovered: 'not reached' },
        ], [], 70_000),
      },
      { location: loc('speed-b', [2]), error: 'connection refused' },
      { location: loc('speed-c', [4]), answer: answer([{ partition: 4, applied: 57, lag: 1, caughtUpAt: 9_500 }], [], 65_000) },
    ];
    const c = coverageOf(7, cut, replies, 10_000);
    expect(c.version).toBe(7);
    expect(c.cut).toEqual(cut);
    expect(c.speed).toEqual([15, 20, 30, 40, 57]);
    expect(c.lag).toBe(3 + 4 + 1);
    // Covered partitions 0 and 4 caught up at 9000 and 9500: everything durable 1000 ms ago is counted.
    expect(c.freshnessMs).toBe(1000);
    // Partitions 2 (its process failed) and 3 (no process) are answered for by nobody: no watermark.
    expect(c.watermark).toBeUndefined();
    expect(c.uncovered).toEqual([
      { partition: 1, reason: expect.stringMatching(/speed-a.*not reached/) as unknown },
      { partition: 2, reason: expect.stringMatching(/speed-b.*connection refused/) as unknown },
      { partition: 3, reason: NO_SPEED_PROCESS },
    ]);
    expect(behind(c, [15, 20, 30, 40, 57])).toEqual([]);
    expect(behind(c, [16, 21])).toEqual(['partition 0 at 15 < 16', 'partition 1 at 20 < 21']);
  });

  it('names a partition placed on a process whose answer does not list it (moved away) as moving, not as having no speed process', () => {
    const cut = [10, 20, 30];
    // The serving node's placement still lists partition 1 on speed-a, which no longer folds it; partition 2 is on nobody.
    const replies: SpeedReply[] = [{ location: loc('speed-a', [0, 1]), answer: answer([{ partition: 0, applied: 12, lag: 0, caughtUpAt: 5 }], []) }];
    expect(coverageOf(3, cut, replies, 10).uncovered).toEqual([
      { partition: 1, reason: expect.stringMatching(/speed-a.*not assigned here \(moving/) as unknown },
      { partition: 2, reason: NO_SPEED_PROCESS },
    ]);
    // Once the new owner answers for it, it is covered.
    const moved: SpeedReply = { location: loc('speed-b', [1]), answer: answer([{ partition: 1, applied: 25, lag: 0, caughtUpAt: 5 }], []) };
    expect(coverageOf(3, cut, [...replies, moved], 10).uncovered).toEqual([{ partition: 2, reason: NO_SPEED_PROCESS }]);
  });

  it('gives the least watermark of the answers only when every partition is answered for, covered or not', () => {
    const cut = [10, 20, 30];
    const a: SpeedReply = { location: loc('speed-a', [0, 1]), answer: answer([
      { partition: 0, applied: 15, lag: 0, caughtUpAt: 1 },
      { partition: 1, applied: 20, lag: 4, caughtUpAt: 0, uncovered: 'not reached' },
    ], [], 70_000) };
    const b: SpeedReply = { location: loc('speed-b', [2]), answer: answer([{ partition: 2, applied: 31, lag: 0, caughtUpAt: 1 }], [], 65_000) };
    expect(coverageOf(1, cut, [a, b], 10).watermark).toBe(65_000);
    // speed-b down: partition 2 may still bring events before 70 000; a window ending there is not final.
    expect(coverageOf(1, cut, [a, { location: loc('speed-b', [2]), error: 'connection refused' }], 10).watermark).toBeUndefined();
    // speed-b no longer lists partition 2 (moved) and no one else does.
    const moved: SpeedReply = { location: loc('speed-b', [2]), answer: answer([], [], 65_000) };
    expect(coverageOf(1, cut, [a, moved], 10).watermark).toBeUndefined();
  });

  it('has no freshness when no partition is covered, or a covered one never caught up', () => {
    const none = coverageOf(1, [5], [{ location: loc('s', [0]), error: 'gone' }], 100);
    expect(none.speed).toEqual([5]);
    expect(none.freshnessMs).toBeUndefined();
    expect(none.watermark).toBeUndefined();
    const never = coverageOf(1, [5, 5], [{ location: loc('s', [0, 1]), answer: answer([
      { partition: 0, applied: 9, lag: 0, caughtUpAt: 50 }, { partition: 1, applied: 7, lag: 2, caughtUpAt: 0 },
    ], []) }], 100);
    expect(never.speed).toEqual([9, 7]);
    expect(never.uncovered).toEqual([]);
    expect(never.freshnessMs).toBeUndefined();
  });

  it('refuses a partition that two speed processes both count', () => {
    const p = (applied: number): SpeedPartitionCoverage => ({ partition: 0, applied, lag: 0, caughtUpAt: 1 });
    const replies: SpeedReply[] = [
      { location: loc('a', [0]), answer: answer([p(3)], []) },
      { location: loc('b', []), answer: answer([p(4)], []) },
    ];
    expect(() => coverageOf(1, [1], replies, 2)).toThrow(LaminateError);
    expect(() => coverageOf(1, [1], replies, 2)).toThrow(/partition 0 is counted by two speed processes/);
  });
});

describe('mergedValue', () => {
  it('adds the speed processes\' accumulators to the batch one with the built-in monoid; keys only the speed side has are found', () => {
    const replies: SpeedReply[] = [
      { location: loc('a', [0]), answer: answer([], [['x', 5], ['y', 1]]) },
      { location: loc('b', [1]), answer: answer([], [['x', 7]]) },
      { location: loc('c', [2]), error: 'gone' },
    ];
    const side = plusSide(replies, sum);
    const p = presentationOf('sum');
    const value = (key: string, stored: number | undefined): unknown => {
      const r = mergedValue(key, stored === undefined ? undefined : pack(stored), side, p);
      return r.found ? unpack(r.value) : 'not found';
    };
    expect(value('x', 100)).toBe(112);
    expect(value('y', undefined)).toBe(1);
    expect(value('z', 9)).toBe(9);
    expect(value('w', undefined)).toBe('not found');
  });

  it('merges accumulators before presenting them (topK counts an item across both sides)', () => {
    const replies: SpeedReply[] = [{ location: loc('a', [0]), answer: answer([], [['k', [['b', 2]]]]) }];
    const side = plusSide(replies, monoidByName('topK(1)')!);
    const r = mergedValue('k', pack([['a', 3], ['b', 2]]), side, presentationOf('topK(1)'));
    // Presented first, batch would say a:3; merged, b has 4.
    expect(unpack(r.value)).toEqual([{ item: 'b', count: 4 }]);
  });

  it('takes a custom monoid\'s answer from the speed process as it is (base ⊕ speed was done there)', () => {
    const p = presentationOf('custom');
    const merged = pack({ seen: ['batch', 'speed'] });
    const side = { mode: 'replace' as const, accs: new Map([['k', merged]]) };
    expect(mergedValue('k', pack({ seen: ['batch'] }), side, p).value).toEqual(merged);
    expect(unpack(mergedValue('j', pack({ seen: ['batch'] }), side, p).value)).toEqual({ seen: ['batch'] });
  });
});

describe('isFinal', () => {
  it('is true once the watermark reaches the end of the key\'s window', () => {
    const key = encodeViewKey(['page', 60_000]);
    expect(isFinal(key, 60_000, 120_000)).toBe(true);
    expect(isFinal(key, 60_000, 119_999)).toBe(false);
    expect(isFinal(key, 60_000, undefined)).toBe(false);
    expect(isFinal('plain', 60_000, 1e15)).toBe(false);
  });
});

/** UTF-8 byte order, computed independently of the engine's comparator. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

async function* batchesOf(entries: ViewEntry[], random: () => number): AsyncGenerator<ViewEntry[]> {
  let i = 0;
  while (i < entries.length) {
    const n = 1 + Math.floor(random() * 4);
    yield entries.slice(i, i + n);
    i += n;
  }
}

async function collect(it: AsyncIterable<ServedEntry[]>): Promise<ServedEntry[]> {
  const out: ServedEntry[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

describe('mergeScanEntries', () => {
  const ALPHABET = ['a', 'b', 'c', '\u{1F600}', '\uE000', 'z'];

  function randomMap(random: () => number, n: number): Map<string, number> {
    const m = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const len = 1 + Math.floor(random() * 3);
      let k = '';
      for (let j = 0; j < len; j++) k += ALPHABET[Math.floor(random() * ALPHABET.length)]!;
      m.set(k, 1 + Math.floor(random() * 100));
    }
    return m;
  }

  const sortedFrom = (m: Map<string, number>, from: string | undefined): string[] =>
    [...m.keys()].filter((k) => from === undefined || byteOrder(k, from) >= 0).sort(byteOrder);

  it('pages through batch ⊕ two speed processes with limits, never skipping or repeating a key (seeded, against a sequential merge of the sorted maps)', async () => {
    const presentation = presentationOf('sum');
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const batch = randomMap(random, Math.floor(random() * 40));
      const speeds = [randomMap(random, Math.floor(random() * 25)), randomMap(random, Math.floor(random() * 25))];
      const expected = new Map(batch);
      for (const s of speeds) for (const [k, n] of s) expected.set(k, (expected.get(k) ?? 0) + n);
      const expectedKeys = [...expected.keys()].sort(byteOrder);

      const limit = seed % 5 === 0 ? undefined : 1 + Math.floor(random() * 7);
      const got: Array<[string, number]> = [];
      let from: string | undefined;
      for (let page = 0; page < 200; page++) {
        const batchEntries = sortedFrom(batch, from).slice(0, limit).map((key) => ({ key, value: pack(batch.get(key)) }));
        const replies: SpeedReply[] = speeds.map((s, i) => ({
          location: loc(`s${i}`, [i]),
          answer: answer([], sortedFrom(s, from).slice(0, limit).map((k) => [k, s.get(k)])),
        }));
        const { side, keys, horizon } = plusScanSide(replies, sum, limit);
        const entries = await collect(mergeScanEntries(batchesOf(batchEntries, random), keys, side, presentation, {
          ...(limit !== undefined ? { limit } : {}), ...(horizon !== undefined ? { horizon } : {}),
        }));
        if (limit !== undefined) expect(entries.length).toBeLessThanOrEqual(limit);
        for (const e of entries) got.push([e.key, unpack(e.value) as number]);
        if (limit === undefined || entries.length < limit) break;
        from = `${entries[entries.length - 1]!.key}\u0000`;
      }
      expect(got.map(([k]) => k), `seed ${seed}`).toEqual(expectedKeys);
      expect(got.map(([, n]) => n), `seed ${seed}`).toEqual(expectedKeys.map((k) => expected.get(k)));
    }
  });

  it('flags each entry of a windowed view final or not from the watermark', async () => {
    const keys = [encodeViewKey(['p', 0]), encodeViewKey(['p', 60_000]), encodeViewKey(['q', 0])];
    const batch: ViewEntry[] = [{ key: keys[0]!, value: pack(1) }, { key: keys[1]!, value: pack(2) }];
    const side = plusSide([{ location: loc('a', [0]), answer: answer([], [[keys[2]!, 5]]) }], sum);
    const entries = await collect(mergeScanEntries(batchesOf(batch, seededRandom(1)), [keys[2]!], side, presentationOf('sum'), {
      flagFinal: true, windowSizeMs: 60_000, watermark: 60_000,
    }));
    expect(entries.map((e) => [e.key, unpack(e.value), e.final])).toEqual([
      [keys[0], 1, true], [keys[1], 2, false], [keys[2], 5, true],
    ]);
  });
});
