import { describe, expect, it } from 'vitest';
import { decodeViewKey, encodeViewKey, type KeyElement, type ViewKey } from '../../../src/common/view-key.js';
import { DATASET_NAME_RE } from '../../../src/dataset/catalog.js';
import { checkViewLaws, compileView, defineView, foldRecords, MAX_WINDOWS_PER_RECORD, SOURCE_NAME_RE, type ViewDefinition } from '../../../src/api/view.js';
import { count, hll, setUnion, sum, topK } from '../../../src/api/monoids.js';
import * as laminate from '../../../src/index.js';
import { seededRandom } from '../../support/seeded-random.js';
import { invalidArgument } from '../../support/invalid-argument.js';

interface Click {
  readonly page_id: string;
  readonly event_type: 'view' | 'click';
  readonly event_time: number;
  readonly user?: string;
}

const invalid = (fn: () => unknown): string => invalidArgument(fn).message;

/** Runs mapRecord over records; returns every (decoded key, accumulator) it emits, in order. */
function emitted(def: ViewDefinition, records: readonly unknown[]): Array<[ViewKey, unknown]> {
  const view = compileView(def);
  const out: Array<[ViewKey, unknown]> = [];
  for (const r of records) view.mapRecord(r, (key, acc) => out.push([decodeViewKey(key), acc]));
  return out;
}

const base = { source: 'clicks', map: (e: Click, emit: (k: ViewKey, v: number) => void) => emit(e.page_id, 1), merge: sum };

describe('defineView', () => {
  it('types and returns the issue example unchanged, from the laminate entry', () => {
    const view = laminate.defineView({
      source: 'clicks',
      map(e, emit) { if (e.event_type === 'view') emit(e.page_id, 1); },
      merge: laminate.sum,
      window: { size: '1m', time: (e) => e.event_time },
    });
    expect(view.source).toBe('clicks');
    expect(emitted(view, [{ page_id: 'p1', event_type: 'view', event_time: 90_500 }, { page_id: 'p1', event_type: 'click', event_time: 1 }]))
      .toEqual([[['p1', 60_000], 1]]);
    const typed = defineView<Click>({ source: 'clicks', map: (e, emit) => emit([e.page_id, e.event_type], 1), merge: count });
    expect(emitted(typed, [{ page_id: 'p', event_type: 'click', event_time: 0 }])).toEqual([[['p', 'click'], 1]]);
    for (const name of ['defineView', 'sum', 'count', 'min', 'max', 'setUnion', 'topK', 'hll', 'checkMonoidLaws']) {
      expect(typeof (laminate as Record<string, unknown>)[name], name).not.toBe('undefined');
    }
  });

  it('refuses a definition that is not an object, has unknown members, or no map', () => {
    expect(invalid(() => defineView(null as never))).toBe('Expected a view definition { source, map, merge, window? }, got null');
    expect(invalid(() => defineView({ ...base, windw: {} } as never))).toBe("Expected a view definition with only source, map, merge and window, got 'windw'");
    expect(invalid(() => defineView({ source: 'clicks', merge: sum } as never))).toBe('Expected the view to have a map function (record, emit) => void, got undefined');
    expect(invalid(() => defineView({ ...base, map: 'x' } as never))).toContain("got 'x'");
  });

  it('refuses a source that is not a dataset name, by the same rule as the dataset store', () => {
    expect(SOURCE_NAME_RE.source).toBe(DATASET_NAME_RE.source);
    for (const bad of ['', '../clicks', 'a/b', '.hidden', 'x'.repeat(129), 7, undefined]) {
      expect(invalid(() => defineView({ ...base, source: bad } as never))).toMatch(/^Expected the view's source to be a dataset name of 1 to 128 letters/);
    }
    expect(defineView({ ...base, source: 'Clicks.2026-12_01' }).source).toBe('Clicks.2026-12_01');
  });

  it('refuses a merge that is no monoid, naming the member', () => {
    expect(invalid(() => defineView({ ...base, merge: 'sum' } as never))).toContain("Expected the view's merge to be a monoid (sum, count, min, max, setUnion, topK(k), hll(precision)) or an object { zero, plus }, got 'sum'");
    expect(invalid(() => defineView({ ...base, merge: topK } as never))).toContain('got a function: call it, as in topK(10)');
    expect(invalid(() => defineView({ ...base, merge: { zero: 0 } } as never))).toBe("Expected the view's merge.plus to be a function (a, b) => accumulator, got undefined");
  });

  it('refuses a bad window: size, slide, time, members', () => {
    const w = (window: unknown): string => invalid(() => defineView({ ...base, window } as never));
    const time = (e: Click): number => e.event_time;
    expect(w(5)).toBe("Expected the view's window to be { size, slide?, lateness?, time }, got 5");
    expect(w({ size: '1m' })).toBe('Expected window.time to be a function (record) => milliseconds since the epoch, got undefined');
    for (const size of ['1x', '1 m', 0, -5, 1.5, '0s', '0.0001s', 'm', undefined, NaN]) {
      expect(w({ size, time }), String(size)).toMatch(/^Expected window\.size to be a positive whole number of milliseconds or a duration such as '500ms', '30s', '1m', '1h', '1d', got /);
    }
    expect(w({ size: '1m', slide: '2m', time })).toBe('Expected window.slide to be at most window.size (60000 ms), got 120000 ms: windows would leave gaps');
    expect(w({ size: '1m', slide: 0, time })).toContain('Expected window.slide to be a positive whole number');
    expect(w({ size: '1d', slide: '1m', time })).toBe(`Expected window.size / window.slide to be at most ${MAX_WINDOWS_PER_RECORD} (windows per record), got 86400000 ms / 60000 ms = 1440`);
    expect(w({ size: '1m', time, tz: 'UTC' })).toBe("Expected the view's window to have only size, slide, lateness and time, got 'tz'");
    expect(w({ size: '1m', lateness: -5, time })).toContain('Expected window.lateness to be a positive whole number');
    expect(w({ size: '1m', lateness: '5 minutes', time })).toContain("Expected window.lateness to be a positive whole number of milliseconds or a duration such as '500ms', '30s', '1m', '1h', '1d', got '5 minutes'");
  });

  it('resolves durations and window kinds', () => {
    const time = (e: Click): number => e.event_time;
    const kinds = [
      [{ size: '1m', time }, { kind: 'tumbling', sizeMs: 60_000, slideMs: 60_000, latenessMs: 0 }],
      [{ size: '1.5h', slide: '30m', time }, { kind: 'sliding', sizeMs: 5_400_000, slideMs: 1_800_000, latenessMs: 0 }],
      [{ size: 10, slide: 3, time }, { kind: 'sliding', sizeMs: 10, slideMs: 3, latenessMs: 0 }],
      [{ size: '1d', slide: '1d', time }, { kind: 'tumbling', sizeMs: 86_400_000, slideMs: 86_400_000, latenessMs: 0 }],
      [{ size: '500ms', slide: '0.1s', time }, { kind: 'sliding', sizeMs: 500, slideMs: 100, latenessMs: 0 }],
      [{ size: '1m', lateness: '30s', time }, { kind: 'tumbling', sizeMs: 60_000, slideMs: 60_000, latenessMs: 30_000 }],
      [{ size: '1m', lateness: 0, time }, { kind: 'tumbling', sizeMs: 60_000, slideMs: 60_000, latenessMs: 0 }],
      [{ size: '1m', lateness: '0s', time }, { kind: 'tumbling', sizeMs: 60_000, slideMs: 60_000, latenessMs: 0 }],
    ] as const;
    for (const [window, expected] of kinds) expect(compileView({ ...base, window } as never).window).toEqual(expected);
    expect(compileView(base).window).toBeUndefined();
  });

  it('exposes the event time of a record for a windowed view only', () => {
    const windowed = compileView({ ...base, window: { size: '1m', time: (e: Click) => new Date(e.event_time) } } as never);
    expect(windowed.eventTime({ event_time: 1_700_000_000_123 })).toBe(1_700_000_000_123);
    expect(compileView(base).eventTime({ event_time: 5 })).toBeUndefined();
    expect(() => windowed.eventTime({ event_time: Number.NaN })).toThrow(/Expected window.time\(record\) to return milliseconds/);
  });
});

describe('mapRecord', () => {
  it('emits the encoded key and the lifted accumulator of each emit', () => {
    const view = compileView({ source: 'd', map: (r: { k: ViewKey; v: string }, emit) => { emit(r.k, r.v); emit('all', r.v); }, merge: setUnion });
    const out: Array<[string, unknown]> = [];
    view.mapRecord({ k: ['a', 1], v: 'x' }, (key, acc) => out.push([key, acc]));
    view.mapRecord({ k: '\u0000odd', v: 'y' }, (key, acc) => out.push([key, acc]));
    expect(out).toEqual([[encodeViewKey(['a', 1]), ['x']], ['all', ['x']], ['\u0001\u0000odd', ['y']], ['all', ['y']]]);
  });

  it('refuses a bad key, a value lift refuses, a promise, and an emit after map returned', () => {
    const run = (map: (r: unknown, emit: (k: ViewKey, v: unknown) => void) => unknown, merge: ViewDefinition['merge'] = sum): string =>
      invalid(() => compileView({ source: 'd', map: map as never, merge }).mapRecord({}, () => undefined));
    expect(run((_r, emit) => emit(['a', NaN], 1))).toBe('Expected element 1 of a key tuple to be a string or a finite number, got NaN');
    expect(run((_r, emit) => emit(5 as never, 1))).toContain('Expected a view key to be a string or an array');
    expect(run((_r, emit) => emit('k', 'one'))).toBe("Expected sum's values to be finite numbers, got 'one'");
    expect(run(async (_r, emit) => { emit('k', 1); await Promise.resolve(); })).toContain("Expected the view's map to return nothing, got a promise");
    let saved: ((k: ViewKey, v: unknown) => void) | undefined;
    compileView({ source: 'd', map: (_r, emit) => { saved = emit; }, merge: sum }).mapRecord({}, () => undefined);
    expect(invalid(() => saved!('k', 1))).toBe('Expected emit to be called while map runs, got a call after map returned');
  });

  it('throws what the user map throws', () => {
    const view = compileView({ source: 'd', map: () => { throw new RangeError('bad record'); }, merge: sum });
    expect(() => view.mapRecord({}, () => undefined)).toThrow(RangeError);
  });

  it('refuses an event time that is not a finite number or a valid Date', () => {
    const run = (t: unknown): string => invalid(() => compileView({ source: 'd', map: (_r, emit) => emit('k', 1), merge: sum, window: { size: '1m', time: () => t as number } }).mapRecord({}, () => undefined));
    expect(run('2026-01-01T00:00:00Z')).toBe("Expected window.time(record) to return milliseconds since the epoch (a finite number) or a Date, got '2026-01-01T00:00:00Z'");
    expect(run(NaN)).toContain('got NaN');
    expect(run(new Date('nope'))).toContain('got an invalid Date');
    expect(run(undefined)).toContain('got undefined');
    // A record that emits nothing needs no time.
    expect(() => compileView({ source: 'd', map: () => undefined, merge: sum, window: { size: '1m', time: () => NaN } }).mapRecord({}, () => undefined)).not.toThrow();
  });
});

describe('windows', () => {
  /** The windows containing t, by brute force over every multiple of the slide near it. */
  function referenceStarts(size: number, slide: number, t: number): number[] {
    const out: number[] = [];
    const lo = Math.floor((t - size) / slide) - 2;
    const hi = Math.ceil(t / slide) + 2;
    for (let k = lo; k <= hi; k++) {
      const s = k * slide;
      if (s <= t && t < s + size) out.push(s === 0 ? 0 : s);
    }
    return out;
  }

  it('put each record in the windows that contain its time, tumbling and sliding, against brute force', () => {
    const random = seededRandom(21);
    const shapes: Array<[number, number | undefined]> = [[60_000, undefined], [10, 3], [10, 5], [10, 10], [7, 1], [1000, 999], [3_600_000, 600_000], [1, undefined]];
    for (const [size, slide] of shapes) {
      const records = Array.from({ length: 400 }, (_, i) => ({
        key: random() < 0.5 ? `k${i % 7}` : [`k${i % 3}`, i % 2],
        t: random() < 0.2 ? Math.floor((random() - 0.5) * 100 * size) : random() < 0.5 ? 1_700_000_000_000 + Math.floor(random() * 10 * size) : (random() - 0.5) * 20 * size,
      }));
      const def: ViewDefinition<{ key: ViewKey; t: number }> = {
        source: 'd', map: (r, emit) => emit(r.key, 1), merge: count,
        window: slide === undefined ? { size, time: (r) => r.t } : { size, slide, time: (r) => r.t },
      };
      const expected: Array<[ViewKey, unknown]> = [];
      for (const r of records) {
        for (const s of referenceStarts(size, slide ?? size, r.t)) {
          expected.push([typeof r.key === 'string' ? [r.key, s] : [...r.key, s], 1]);
        }
      }
      const got = emitted(def, records);
      expect(got, `size ${size} slide ${slide}`).toEqual(expected);
      if (slide === undefined) expect(got).toHaveLength(records.length);
    }
  });

  it('accept a Date as the event time, and emit one accumulator under every window', () => {
    const accs: unknown[] = [];
    const keys: ViewKey[] = [];
    compileView({ source: 'd', map: (_r, emit) => emit('u', 'x'), merge: setUnion, window: { size: '1h', slide: '30m', time: () => new Date('2026-01-01T10:45:00Z') } })
      .mapRecord({}, (key, acc) => { keys.push(decodeViewKey(key)); accs.push(acc); });
    const t = Date.parse('2026-01-01T10:00:00Z');
    expect(keys).toEqual([['u', t], ['u', t + 1_800_000]]);
    expect(accs[0]).toBe(accs[1]);
  });
});

describe('foldRecords', () => {
  it('equals an independent count of the same records, per page and minute', () => {
    const random = seededRandom(22);
    const records: Click[] = Array.from({ length: 5000 }, () => ({
      page_id: `p${Math.floor(random() * 20)}`,
      event_type: random() < 0.7 ? 'view' : 'click',
      event_time: 1_700_000_000_000 + Math.floor(random() * 600_000),
      user: `u${Math.floor(random() * 300)}`,
    }));
    const view = compileView(defineView<Click>({
      source: 'clicks',
      map(e, emit) { if (e.event_type === 'view') emit(e.page_id, 1); },
      merge: sum,
      window: { size: '1m', time: (e) => e.event_time },
    }));
    const reference = new Map<string, number>();
    for (const e of records) {
      if (e.event_type !== 'view') continue;
      const id = `${e.page_id}@${e.event_time - (e.event_time % 60_000)}`;
      reference.set(id, (reference.get(id) ?? 0) + 1);
    }
    const folded = foldRecords(view, records);
    const got = new Map([...folded].map(([key, n]) => {
      const [page, start] = decodeViewKey(key) as [string, number];
      return [`${page}@${start}`, n];
    }));
    expect(got).toEqual(reference);
    // Folding in two parts then merging per key equals folding all at once.
    const first = foldRecords(view, records.slice(0, 2000));
    const second = foldRecords(view, records.slice(2000));
    const merged = new Map(first);
    for (const [k, v] of second) merged.set(k, view.monoid.plus(merged.get(k) ?? view.monoid.zero(), v));
    expect(merged).toEqual(folded);
  });
});

describe('checkViewLaws', () => {
  const records = [{ v: 3 }, { v: 1 }, { v: 2 }, { v: 10 }];

  it('passes a view whose merge is a monoid, on what its map emits', () => {
    const view = compileView({ source: 'd', map: (r: { v: number }, emit) => emit('k', r.v), merge: sum });
    expect(checkViewLaws(view, records)).toMatchObject({ ok: true, values: 8 }) // 4 emitted, and 4 sums of them;
    expect(checkViewLaws(compileView({ source: 'd', map: (r: { v: number }, emit) => emit('k', `u${r.v}`), merge: hll(10) }), records)).toMatchObject({ ok: true });
    // An empty sample: generated values.
    expect(checkViewLaws(view, [])).toMatchObject({ ok: true, generated: ['integers', 'fractions'] });
  });

  it('refuses a merge that breaks a law, with a counterexample from the emitted values', () => {
    const view = compileView({ source: 'd', map: (r: { v: number }, emit) => emit('k', r.v), merge: { zero: 0, plus: (a: number, b: number) => a - b } });
    expect(invalid(() => checkViewLaws(view, records))).toMatch(/^merge 'custom' breaks left identity: plus\(zero, a\) = -3 but a = 3, for a = 3\. /);
    const average = compileView({ source: 'd', map: (r: { v: number }, emit) => emit('k', r.v), merge: { zero: 0, plus: (a: number, b: number) => (a === 0 ? b : b === 0 ? a : (a + b) / 2) } });
    expect(invalid(() => checkViewLaws(average, records))).toContain("merge 'custom' is not associative: plus(plus(a, b), c) = ");
  });

  it('says which sample record the map failed on', () => {
    const view = compileView({ source: 'd', map: (r: { v: number }, emit) => emit('k', r.v === 2 ? 'two' as never : r.v), merge: sum });
    expect(invalid(() => checkViewLaws(view, records))).toBe("The view's map failed on sample record 2 of 4: Expected sum's values to be finite numbers, got 'two'");
  });
});

// A compile-time check as much as a run-time one: the key and value types a definition accepts.
const _typed: Array<ViewDefinition<Click>> = [
  { source: 'clicks', map: (e, emit) => emit([e.page_id, 1, 'x'] as KeyElement[], e.user ?? ''), merge: topK(3) },
  { source: 'clicks', map: (e, emit) => emit(e.page_id, e.user ?? ''), merge: { zero: '', plus: (a: string, b: string) => (a > b ? a : b) } },
];
