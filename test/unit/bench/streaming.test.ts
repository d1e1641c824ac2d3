/**
 * The streaming benchmark's pieces that need no cluster: the YSB generator
 * (deterministic, the schedule as event time, the campaign table, the event
 * size), the open-loop appender driven by a manual clock, and the judges of
 * a run (backlog slope, window finality, percentiles).
 */
import { describe, expect, it } from 'vitest';
import { ADS, CAMPAIGN_OF_AD, CAMPAIGNS } from '../../../bench/streaming/ysb-campaigns.js';
import { EVENT_TYPES, YsbGenerator, type YsbEvent } from '../../../bench/streaming/ysb-generator.js';
import { runOpenLoop, type EventSink, type OpenLoopClock } from '../../../bench/streaming/open-loop.js';
import { judgeBacklog, slope, type BacklogSample } from '../../../bench/streaming/backlog.js';
import { shownFinal } from '../../../bench/streaming/window-poller.js';
import type { MergedKeyResult } from '../../../bench/streaming/merged-answers.js';
import { percentile } from '../../../bench/benchmarks/streaming.js';

const START = 1_700_000_000_000;

describe('YSB campaigns', () => {
  it('are 100 campaigns of 10 distinct ads each', () => {
    expect(new Set(CAMPAIGNS).size).toBe(100);
    expect(new Set(ADS).size).toBe(1000);
    expect(CAMPAIGN_OF_AD.size).toBe(1000);
    const adsPer = new Map<string, number>();
    for (const c of CAMPAIGN_OF_AD.values()) adsPer.set(c, (adsPer.get(c) ?? 0) + 1);
    expect([...adsPer.values()].every((n) => n === 10)).toBe(true);
    expect(CAMPAIGN_OF_AD.get(ADS[0]!)).toBe(CAMPAIGNS[0]);
    expect(CAMPAIGN_OF_AD.get(ADS[999]!)).toBe(CAMPAIGNS[99]);
  });
});

describe('YsbGenerator', () => {
  it('gives the same events for the same seed and schedule, others for another seed', () => {
    const take = (seed: number): YsbEvent[] => {
      const g = new YsbGenerator(seed, { startMs: START, rate: 1000 });
      return Array.from({ length: 100 }, () => g.next());
    };
    expect(take(7)).toEqual(take(7));
    expect(take(8)).not.toEqual(take(7));
  });

  it('stamps each event with its scheduled send time', () => {
    const g = new YsbGenerator(1, { startMs: START, rate: 3 });
    expect(Array.from({ length: 5 }, () => g.next().event_time)).toEqual([START, START + 333, START + 666, START + 1000, START + 1333]);
    expect(g.count).toBe(5);
    expect(g.scheduledAt(6)).toBe(START + 2000);
  });

  it('makes events of about 240 bytes of JSON, ads from the table, the three event types about equally', () => {
    const g = new YsbGenerator(3, { startMs: START, rate: 100_000 });
    let bytes = 0;
    const types = new Map<string, number>();
    const n = 30_000;
    for (let i = 0; i < n; i++) {
      const e = g.next();
      bytes += JSON.stringify(e).length;
      expect(CAMPAIGN_OF_AD.has(e.ad_id)).toBe(true);
      types.set(e.event_type, (types.get(e.event_type) ?? 0) + 1);
    }
    expect(bytes / n).toBeGreaterThan(230);
    expect(bytes / n).toBeLessThan(250);
    expect([...types.keys()].sort()).toEqual([...EVENT_TYPES].sort());
    for (const c of types.values()) expect(Math.abs(c / n - 1 / 3)).toBeLessThan(0.02);
  });
});

/** A manual clock: sleeping advances it; nothing real waits. */
function manualClock(): OpenLoopClock & { t: number } {
  const clock = {
    t: START - 50,
    now: () => clock.t,
    sleep: (ms: number) => {
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

/** A sink recording when each event was written; `stallOnce` ms added to the clock by the first ready(). */
function recordingSink(clock: { t: number }, stallOnce = 0): EventSink & { writes: Array<{ e: YsbEvent; at: number }>; flushed: number } {
  let stall = stallOnce;
  const sink = {
    writes: [] as Array<{ e: YsbEvent; at: number }>,
    flushed: 0,
    write(e: YsbEvent) { sink.writes.push({ e, at: clock.t }); },
    ready() {
      clock.t += stall;
      stall = 0;
      return Promise.resolve();
    },
    flush() {
      sink.flushed++;
      return Promise.resolve();
    },
  };
  return sink;
}

describe('runOpenLoop', () => {
  it('writes every event once it is due, on schedule, then flushes', async () => {
    const clock = manualClock();
    const gen = new YsbGenerator(1, { startMs: START, rate: 2000 });
    const sink = recordingSink(clock);
    const stats = await runOpenLoop(gen, sink, clock, { rate: 2000, events: 4000, startMs: START });
    expect(stats.sent).toBe(4000);
    expect(sink.writes).toHaveLength(4000);
    expect(sink.flushed).toBe(1);
    sink.writes.forEach(({ e, at }, i) => {
      expect(e.event_time).toBe(Math.floor(START + i / 2));
      expect(at).toBeGreaterThanOrEqual(START + i / 2);
      expect(at - (START + i / 2)).toBeLessThanOrEqual(1);
    });
    expect(stats.maxBehindMs).toBeLessThanOrEqual(1);
    expect(stats.keptRate).toBe(true);
    expect(stats.achievedRate).toBeCloseTo(2000, -1);
  });

  it('reports a stall it recovers from, and sends the late events rather than fewer', async () => {
    const clock = manualClock();
    const gen = new YsbGenerator(1, { startMs: START, rate: 2000 });
    // The sink blocks for 3 s at its first check for room (after 1,024 events).
    const sink = recordingSink(clock, 3000);
    const stats = await runOpenLoop(gen, sink, clock, { rate: 2000, events: 10_000, startMs: START, toleranceMs: 1000 });
    expect(stats.sent).toBe(10_000);
    expect(stats.maxBehindMs).toBeGreaterThanOrEqual(3000);
    // One stall, then back on schedule: the rate was kept.
    expect(stats.endBehindMs).toBeLessThanOrEqual(1);
    expect(stats.keptRate).toBe(true);
    // Event times stay the schedule's: lateness is visible, not hidden in a slower clock.
    expect(sink.writes.map(({ e }) => e.event_time)).toEqual(Array.from({ length: 10_000 }, (_, i) => Math.floor(START + i / 2)));
  });

  it('says when it cannot keep the rate: each write costing more than the gap between events', async () => {
    const clock = manualClock();
    const gen = new YsbGenerator(1, { startMs: START, rate: 2000 });
    const sink = recordingSink(clock);
    const write = sink.write.bind(sink);
    // 1 ms a write where the schedule leaves 0.5 ms: it falls further behind all along.
    sink.write = (e) => { write(e); clock.t += 1; };
    const stats = await runOpenLoop(gen, sink, clock, { rate: 2000, events: 6000, startMs: START, toleranceMs: 1000 });
    expect(stats.sent).toBe(6000);
    expect(stats.endBehindMs).toBeGreaterThan(2900);
    expect(stats.achievedRate).toBeLessThan(1100);
    expect(stats.keptRate).toBe(false);
  });

  it('stops at the signal and reports what it sent', async () => {
    const clock = manualClock();
    const gen = new YsbGenerator(1, { startMs: START, rate: 1000 });
    const ac = new AbortController();
    const sink = recordingSink(clock);
    const stats = await runOpenLoop(gen, sink, clock, {
      rate: 1000, events: 5000, startMs: START, signal: ac.signal,
      onProgress: (p) => { if (p.sent >= 2000) ac.abort(); },
    });
    expect(stats.sent).toBeGreaterThanOrEqual(2000);
    expect(stats.sent).toBeLessThan(5000);
    expect(stats.keptRate).toBe(false);
    expect(sink.flushed).toBe(1);
  });
});

describe('judgeBacklog', () => {
  const at = (s: number, backlog: number): BacklogSample => ({ atMs: START + s * 1000, backlog });

  it('measures the slope over the second half only', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBe(2);
    expect(slope([[0, 4]])).toBe(0);
    // Growing fast in the first half (warm-up), flat in the second: sustained.
    const samples = [at(0, 0), at(2, 5000), at(4, 10_000), at(6, 800), at(7, 900), at(8, 700), at(9, 800), at(10, 800)];
    const f = judgeBacklog(samples, START, START + 10_000, 10_000, 'test');
    // Second half: x = 6..10 (mean 8), y = 800, 900, 700, 800, 800: slope = -100 / 10.
    expect(f.slopePerS).toBeCloseTo(-10, 9);
    expect(f.sustained).toBe(true);
    expect(f.maxBacklog).toBe(10_000);
    expect(f.lastBacklog).toBe(800);
  });

  it('calls a backlog growing by more than 1% of the rate a second not sustained', () => {
    const growing = [5, 6, 7, 8, 9, 10].map((s) => at(s, (s - 5) * 150));
    expect(judgeBacklog(growing, START, START + 10_000, 10_000, 'test')).toMatchObject({ slopePerS: 150, allowedSlopePerS: 100, sustained: false });
    const slow = [5, 6, 7, 8, 9, 10].map((s) => at(s, (s - 5) * 50));
    expect(judgeBacklog(slow, START, START + 10_000, 10_000, 'test').sustained).toBe(true);
    expect(judgeBacklog(growing.slice(0, 3), START, START + 10_000, 10_000, 'test').sustained).toBeUndefined();
  });
});

describe('window latency', () => {
  it('calls a window final when something is found and every found entry is final', () => {
    const r = (found: boolean, final?: boolean): MergedKeyResult => ({ key: ['c', 0], value: found ? 1 : undefined, found, ...(final === undefined ? {} : { final }) });
    expect(shownFinal([r(true, true), r(false), r(true, true)])).toBe(true);
    expect(shownFinal([r(true, true), r(true, false)])).toBe(false);
    expect(shownFinal([r(true)])).toBe(false);
    expect(shownFinal([r(false), r(false)])).toBe(false);
  });

  it('takes percentiles by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
