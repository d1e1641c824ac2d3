import { describe, expect, it } from 'vitest';
import { lineGeometry, MIN_BAR_PX, niceCeil, rateSeries, timelineLayout, timeTicks, type TimelineAttempt } from '../../../src/console/ui/chart-geometry.js';
import { formatAgo, formatBytes, formatDuration, formatPercent, jobDuration, jobProgress, speedLagFreshness } from '../../../src/console/ui/format.js';
import { pageHref, routeOf, streamUrl } from '../../../src/console/ui/routes.js';

describe('console routes', () => {
  it('maps each page URL to its API path, with ids decoded and re-encoded', () => {
    expect(routeOf('/')).toMatchObject({ kind: 'overview', apiPath: '/api/overview' });
    expect(routeOf('/cluster')).toMatchObject({ kind: 'cluster', apiPath: '/api/cluster', section: 'cluster' });
    expect(routeOf('/jobs/')).toMatchObject({ kind: 'jobs', apiPath: '/api/jobs' });
    expect(routeOf('/jobs/job-0007')).toMatchObject({ kind: 'job', id: 'job-0007', apiPath: '/api/jobs/job-0007', section: 'jobs' });
    expect(routeOf('/views/a%20b%2Fc')).toMatchObject({ kind: 'view', id: 'a b/c', apiPath: '/api/views/a%20b%2Fc' });
    expect(routeOf('/functions/f')).toMatchObject({ kind: 'function', apiPath: '/api/functions/f' });
    expect(routeOf('/datasets/d')).toMatchObject({ kind: 'dataset', apiPath: '/api/datasets/d' });
  });

  it('knows no other URL, however it is spelled', () => {
    for (const p of ['/nope', '/jobs/a/b', '/toString', '/constructor/x', '/overview', '/jobs/%E0%A4%A']) expect(routeOf(p).kind, p).toBe('unknown');
  });

  it('escapes ids in links and stream URLs', () => {
    expect(pageHref('views', 'a b?c')).toBe('/views/a%20b%3Fc');
    expect(streamUrl('/api/jobs/job-0001')).toBe('/api/stream?path=%2Fapi%2Fjobs%2Fjob-0001');
  });
});

describe('console formatting', () => {
  it('computes progress as the API defines it', () => {
    expect(jobProgress({ total: 4, succeeded: 2 }, { total: 2, succeeded: 1 }, 'RUNNING')).toBeCloseTo(0.5);
    expect(jobProgress(null, null, 'PENDING')).toBe(0);
    expect(jobProgress({ total: 0, succeeded: 0 }, null, 'SUCCEEDED')).toBe(1);
    expect(formatPercent(0.456)).toBe('45.6%');
    expect(formatPercent(1)).toBe('100%');
  });

  it('writes sizes, durations and ages', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4210)).toBe('4.2 s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(2 * 3600_000 + 4 * 60_000)).toBe('2h 04m');
    expect(formatAgo(0, 10)).toBe('never');
    expect(formatAgo(1000, 4100)).toBe('3.1 s ago');
    expect(jobDuration({ submitMs: 100, startMs: 0, finishMs: 0 }, 1100)).toBe(1000);
    expect(jobDuration({ submitMs: 100, startMs: 200, finishMs: 700 }, 5000)).toBe(500);
  });

  it('sums a speed report\'s lag over its partitions and dates its freshness from the oldest catch-up', () => {
    const report = { partitions: [{ applied: 90, end: 100, caughtUpAt: 7000 }, { applied: 5, end: 5, caughtUpAt: 9500 }] };
    expect(speedLagFreshness(report, 10_000)).toEqual({ lag: 10, freshness: '3.0 s' });
    expect(speedLagFreshness({ partitions: [...report.partitions, { applied: 0, end: 3, caughtUpAt: 0 }] }, 10_000)).toEqual({ lag: 13, freshness: 'never caught up' });
  });
});

const attempt = (o: Partial<TimelineAttempt> & Pick<TimelineAttempt, 'attemptId' | 'workerId' | 'startMs' | 'finishMs'>): TimelineAttempt => ({
  taskId: o.attemptId.replace(/-a\d+$/, ''), kind: 'map', state: o.finishMs === 0 ? 'RUNNING' : 'SUCCEEDED', speculative: false, failure: '', ...o,
});

describe('event timeline layout', () => {
  it('puts each worker in its own lane, stacks overlapping attempts, and runs unfinished ones to now', () => {
    const attempts = [
      attempt({ attemptId: 'm1-a1', workerId: 'worker-0002', startMs: 1000, finishMs: 3000 }),
      attempt({ attemptId: 'm2-a1', workerId: 'worker-0001', startMs: 1000, finishMs: 2000 }),
      attempt({ attemptId: 'm3-a1', workerId: 'worker-0001', startMs: 1500, finishMs: 0 }),
      // Starts after m2 ended on the same worker: reuses its row.
      attempt({ attemptId: 'm4-a1', workerId: 'worker-0001', startMs: 2000, finishMs: 2500 }),
      // Not started yet: not drawn.
      attempt({ attemptId: 'm5-a1', workerId: 'worker-0003', startMs: 0, finishMs: 0 }),
    ];
    const t = timelineLayout(attempts, 1000, 5000, 400);
    expect(t.lanes.map((l) => [l.workerId, l.rows])).toEqual([['worker-0001', 2], ['worker-0002', 1]]);
    expect(t.startMs).toBe(1000);
    expect(t.endMs).toBe(5000);
    const bar = (id: string) => t.bars.find((b) => b.attempt.attemptId === id)!;
    expect(t.bars).toHaveLength(4);
    expect(bar('m2-a1')).toMatchObject({ lane: 0, row: 0, x: 0, width: 100 });
    expect(bar('m3-a1')).toMatchObject({ lane: 0, row: 1, x: 50, width: 350, endMs: 5000 });
    expect(bar('m4-a1')).toMatchObject({ lane: 0, row: 0, x: 100, width: 50 });
    expect(bar('m1-a1')).toMatchObject({ lane: 1, row: 0, x: 0, width: 200 });
    expect(t.lanes[1]!.y).toBeGreaterThan(t.lanes[0]!.y);
  });

  it('keeps a very short attempt visible and every bar within the plot', () => {
    const t = timelineLayout([
      attempt({ attemptId: 'a', workerId: 'w', startMs: 0 + 1, finishMs: 100_000 }),
      attempt({ attemptId: 'b', workerId: 'w2', startMs: 99_999, finishMs: 100_000 }),
    ], 1, 100_000, 300);
    for (const b of t.bars) expect(b.x + b.width).toBeLessThanOrEqual(300 + 1e-9);
    expect(t.bars.find((b) => b.attempt.attemptId === 'b')!.width).toBe(MIN_BAR_PX);
  });

  it('chooses round ticks across the span', () => {
    const ticks = timeTicks(10_000, 500);
    expect(ticks.map((t) => t.ms)).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
    expect(ticks[5]!.x).toBe(500);
  });
});

describe('append-rate chart', () => {
  it('turns sampled totals into per-second rates, restarting at 0 when a total goes down', () => {
    const samples = [{ at: 0, value: 0 }, { at: 5000, value: 500 }, { at: 10_000, value: 600 }, { at: 10_000, value: 700 }, { at: 15_000, value: 100 }, { at: 20_000, value: 600 }];
    expect(rateSeries(samples)).toEqual([{ at: 5000, perSec: 100 }, { at: 10_000, perSec: 20 }, { at: 15_000, perSec: 0 }, { at: 20_000, perSec: 100 }]);
  });

  it('draws the line within its box with a round maximum', () => {
    const g = lineGeometry([{ at: 0, perSec: 0 }, { at: 10, perSec: 37 }, { at: 20, perSec: 18.5 }], 0, 20, 200, 100);
    expect(g.max).toBe(50);
    expect(g.line).toBe('M0,100 L100,26 L200,63');
    expect(g.area).toBe('M0,100 L100,26 L200,63 L200,100 L0,100 Z');
    expect(lineGeometry([{ at: 0, perSec: 1 }], 0, 1, 10, 10).line).toBe('');
    expect([niceCeil(0), niceCeil(1), niceCeil(1.2), niceCeil(37), niceCeil(501)]).toEqual([0, 1, 2, 50, 1000]);
  });
});
