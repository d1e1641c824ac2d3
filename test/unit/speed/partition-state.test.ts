import { describe, expect, it } from 'vitest';
import { PartitionState, type SplitPart } from '../../../src/speed/partition-state.js';
import { seededRandom } from '../../support/seeded-random.js';

/** A record of the test log: key and value; the map emits (key, value), the monoid sums. */
interface Rec { readonly k: string; readonly v: number }
const plus = (a: number, b: number): number => a + b;
const emitsOf = (r: Rec): Array<readonly [string, number]> => [[r.k, r.v], ['total', 1]];

/** The independent reference: a plain loop over the records [from, to). */
function reference(log: readonly Rec[], from: number, to: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let o = from; o < to; o++) {
    const r = log[o]!;
    m.set(r.k, (m.get(r.k) ?? 0) + r.v);
    m.set('total', (m.get('total') ?? 0) + 1);
  }
  return m;
}

function foldSegments(state: PartitionState<number>, c: number): Map<string, number> | string {
  const r = state.readFrom(c);
  if (!r.covered) return r.reason;
  const m = new Map<string, number>();
  for (const s of r.segments) for (const [k, v] of s.entries) m.set(k, (m.get(k) ?? 0) + v);
  return m;
}

function checkInvariants(state: PartitionState<number>): void {
  const segs = state.allSegments;
  expect(segs.length).toBeGreaterThan(0);
  expect(segs[0]!.from).toBe(state.start);
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (i < segs.length - 1) {
      expect(s.to).toBe(segs[i + 1]!.from);
      expect(s.closedAt).toBeDefined();
      expect(s.to).toBeGreaterThan(s.from);
    } else {
      expect(s.closedAt).toBeUndefined();
      expect(s.to).toBe(state.applied);
    }
  }
}

/** The re-fold a split asks for, done from the log. */
function refold(log: readonly Rec[], from: number, to: number, at: readonly number[]): SplitPart<number>[] {
  const edges = [from, ...at, to];
  return edges.slice(1).map((end, i) => ({ from: edges[i]!, to: end, entries: reference(log, edges[i]!, end) }));
}

describe('PartitionState', () => {
  it('answers every read from a kept cut with exactly the fold of [cut, applied), under random folds, cuts, splits, drops and resets', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const random = seededRandom(seed);
      const int = (n: number): number => Math.floor(random() * n);
      const log: Rec[] = Array.from({ length: 3000 }, () => ({ k: `k${int(12)}`, v: int(100) - 20 }));
      let now = 1_000_000;
      const state = new PartitionState<number>(0, plus, 0, now, { paneMs: 1000, settleMs: 5000 });
      let cuts: number[] = [];
      const pending: Array<{ from: number; to: number; at: readonly number[] }> = [];
      let resets = 0;
      let splits = 0;
      for (let step = 0; step < 400; step++) {
        const op = random();
        if (op < 0.45) {
          const n = 1 + int(25);
          for (let i = 0; i < n && state.applied < log.length; i++) {
            now += int(120);
            state.apply(state.applied, emitsOf(log[state.applied]!), now);
          }
        } else if (op < 0.6) {
          // New cuts: ahead of applied, inside what is folded, or at a segment start.
          const c = random() < 0.5 ? state.applied + int(60) : state.start + int(Math.max(1, state.applied - state.start + 1));
          cuts = [...cuts, c].slice(-5);
          state.setBoundaries(cuts, now);
        } else if (op < 0.72) {
          for (const req of state.splitsNeeded()) {
            state.beginSplit(req);
            pending.push(req);
          }
          // Install some now, leave others for later (the old segment answers meanwhile).
          while (pending.length > 0 && random() < 0.7) {
            const req = pending.shift()!;
            if (state.installSplit(req.from, req.to, refold(log, req.from, req.to, req.at), now)) splits++;
          }
        } else if (op < 0.8) {
          now += 1000 + int(8000);
          state.compact(now);
        } else if (op < 0.9) {
          // A handoff at a kept cut at or before applied: drops what it covers.
          const kept = cuts.filter((c) => c >= state.start && c <= state.applied);
          if (kept.length > 0) state.handoff(kept[int(kept.length)]!, now);
        } else if (op < 0.95) {
          // Skip ahead or roll back.
          const h = random() < 0.5 ? state.applied + 1 + int(40) : Math.max(0, state.start - 1 - int(40));
          if (h < log.length && h !== state.start) {
            expect(state.handoff(h, now)).toBe('reset');
            resets++;
            expect(state.start).toBe(h);
            expect(state.applied).toBe(h);
          }
        }
        checkInvariants(state);
        const probes = new Set([...cuts, state.start, state.applied, state.applied + 1, Math.max(0, state.start - 1), ...state.allSegments.map((s) => s.from)]);
        for (const c of probes) {
          const got = foldSegments(state, c);
          if (typeof got === 'string') {
            if (c > state.applied) expect(got).toBe('not reached');
            else if (c < state.start) expect(got).toBe('dropped');
            else expect(got).toMatch(/^busy: /);
          } else {
            expect(got).toEqual(reference(log, c, state.applied));
          }
        }
        // A kept cut within the state is covered once no split of it is pending.
        if (pending.length === 0 && state.splitsNeeded().length === 0) {
          for (const c of cuts) if (c >= state.start && c <= state.applied) expect(typeof foldSegments(state, c)).not.toBe('string');
        }
      }
      expect(resets).toBeGreaterThan(0);
      expect(splits).toBeGreaterThan(0);
    }
  });

  it('rolls a segment exactly at a boundary it reaches, and a pane after paneMs of folding', () => {
    const state = new PartitionState<number>(0, plus, 10, 0, { paneMs: 1000, settleMs: 5000 });
    state.setBoundaries([13], 0);
    for (let o = 10; o < 16; o++) state.apply(o, [['a', 1]], 10);
    expect(state.allSegments.map((s) => [s.from, s.to])).toEqual([[10, 13], [13, 16]]);
    state.apply(16, [['a', 1]], 1010);
    expect(state.allSegments.map((s) => [s.from, s.to])).toEqual([[10, 13], [13, 16], [16, 17]]);
    expect(foldSegments(state, 16)).toEqual(new Map([['a', 1]]));
    expect(foldSegments(state, 17)).toEqual(new Map());
  });

  it('compacts only settled neighbours with no kept boundary between them', () => {
    const state = new PartitionState<number>(0, plus, 0, 0, { paneMs: 1000, settleMs: 5000 });
    state.setBoundaries([4], 0);
    let t = 0;
    for (let o = 0; o < 8; o++) state.apply(o, [['a', 1]], (t += 600)); // panes roll every ~1 s
    const before = state.allSegments.map((s) => [s.from, s.to]);
    expect(before.length).toBeGreaterThan(3);
    state.compact(t + 1000); // not settled yet
    expect(state.allSegments.map((s) => [s.from, s.to])).toEqual(before);
    state.compact(t + 10_000);
    const after = state.allSegments.map((s) => s.from);
    expect(after).toContain(4); // the kept boundary survives
    expect(after.length).toBeLessThan(before.length);
    expect(foldSegments(state, 4)).toEqual(new Map([['a', 4]]));
    expect(foldSegments(state, 0)).toEqual(new Map([['a', 8]]));
  });

  it('splits a segment a late cut falls inside, answering other cuts from the old one meanwhile', () => {
    const log: Rec[] = Array.from({ length: 20 }, (_, i) => ({ k: `k${i % 3}`, v: i }));
    const state = new PartitionState<number>(0, plus, 0, 0);
    for (let o = 0; o < 20; o++) state.apply(o, emitsOf(log[o]!), 0);
    state.setBoundaries([0, 7, 12], 0);
    expect(state.allSegments.length).toBe(2); // the open one was closed at applied, so it can be split
    const [req] = state.splitsNeeded();
    expect(req).toEqual({ from: 0, to: 20, at: [7, 12] });
    state.beginSplit(req!);
    expect(state.splitsNeeded()).toEqual([]);
    expect(foldSegments(state, 7)).toBe('busy: splitting a segment at this cut');
    expect(foldSegments(state, 0)).toEqual(reference(log, 0, 20));
    expect(foldSegments(state, 5)).toMatch(/^busy: no boundary/);
    expect(state.installSplit(0, 20, refold(log, 0, 20, [7, 12]), 0)).toBe(true);
    expect(foldSegments(state, 7)).toEqual(reference(log, 7, 20));
    expect(foldSegments(state, 12)).toEqual(reference(log, 12, 20));
    // A split the state no longer has is ignored.
    state.beginSplit({ from: 0, to: 7, at: [3] });
    state.handoff(7, 0);
    expect(state.installSplit(0, 7, refold(log, 0, 7, [3]), 0)).toBe(false);
    expect(state.start).toBe(7);
  });

  it('drops what the handoff cut covers, resets on skip-ahead and on rollback', () => {
    const state = new PartitionState<number>(0, plus, 0, 0);
    state.setBoundaries([5, 10], 0);
    for (let o = 0; o < 15; o++) state.apply(o, [['a', 1]], 0);
    expect(state.handoff(5, 0)).toBe('dropped');
    expect(state.start).toBe(5);
    expect(foldSegments(state, 0)).toBe('dropped');
    expect(foldSegments(state, 10)).toEqual(new Map([['a', 5]]));
    expect(state.handoff(5, 0)).toBe('kept');
    expect(state.handoff(15, 0)).toBe('dropped');
    expect([state.start, state.applied]).toEqual([15, 15]);
    expect(state.handoff(40, 0)).toBe('reset');
    expect([state.start, state.applied]).toEqual([40, 40]);
    expect(state.handoff(3, 0)).toBe('reset');
    expect([state.start, state.applied]).toEqual([3, 3]);
    expect(foldSegments(state, 10)).toBe('not reached');
  });

  it('stops before the record its map failed on, refuses folds after, and a reset clears it', () => {
    const state = new PartitionState<number>(0, plus, 0, 0);
    state.apply(0, [['a', 1]], 0);
    state.stop(1, 'boom');
    expect(state.stopped).toEqual({ offset: 1, message: 'boom' });
    expect(foldSegments(state, 0)).toBe('stopped at offset 1: boom');
    expect(() => state.apply(1, [], 0)).toThrow(/after its map stopped at offset 1/);
    expect(() => state.stop(3, 'x')).toThrow(/Expected the map to stop at the next offset 1/);
    expect(() => new PartitionState<number>(0, plus, 0, 0).apply(2, [], 0)).toThrow(/Expected the record at offset 0 of partition 0 next, got offset 2/);
    state.handoff(0, 0); // kept: start is 0, stop stays
    expect(state.stopped).toBeDefined();
    state.handoff(5, 0);
    expect(state.stopped).toBeUndefined();
  });

  it('restores saved segments and refuses ones with a gap', () => {
    const saved = { start: 2, applied: 9, segments: [{ from: 2, to: 5, entries: new Map([['a', 3]]) }, { from: 5, to: 9, entries: new Map([['a', 4]]) }] };
    const state = PartitionState.restore<number>(0, plus, saved, 0);
    checkInvariants(state);
    expect(foldSegments(state, 5)).toEqual(new Map([['a', 4]]));
    expect(foldSegments(state, 2)).toEqual(new Map([['a', 7]]));
    expect(() => PartitionState.restore<number>(0, plus, { ...saved, segments: [saved.segments[1]!] }, 0)).toThrow(/contiguous from 2/);
    expect(() => PartitionState.restore<number>(0, plus, { ...saved, applied: 10 }, 0)).toThrow(/end at applied 10/);
  });
});
