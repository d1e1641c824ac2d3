/**
 * The ingest benchmark's latency attribution: reading the master's
 * exposition (histogram deltas, bucket quantiles, GC pauses between two
 * scrapes) and this process's GC watch.
 */
import { describe, expect, it } from 'vitest';
import { bucketQuantile, formatGc, gcDelta, GcWatch, histogramDelta, histogramOf } from '../../../bench/ingest-attribution.js';

const NAME = 'laminate_dataset_fsync_duration_seconds';

function exposition(counts: readonly number[], sum: number, gc: { minor: [number, number]; major: [number, number] }): string {
  const les = ['0.001', '0.005', '0.01', '+Inf'];
  return [
    `# HELP ${NAME} fdatasync`,
    `# TYPE ${NAME} histogram`,
    ...les.map((le, i) => `${NAME}_bucket{le="${le}"} ${counts[i]}`),
    `${NAME}_sum ${sum}`,
    `${NAME}_count ${counts[counts.length - 1]}`,
    `nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 1`,
    `nodejs_gc_duration_seconds_sum{kind="minor"} ${gc.minor[1]}`,
    `nodejs_gc_duration_seconds_count{kind="minor"} ${gc.minor[0]}`,
    `nodejs_gc_duration_seconds_sum{kind="major"} ${gc.major[1]}`,
    `nodejs_gc_duration_seconds_count{kind="major"} ${gc.major[0]}`,
    // A longer name that starts with the histogram's must not be read as it.
    `${NAME}_bucket_extra 99`,
  ].join('\n');
}

describe('ingest latency attribution', () => {
  const before = exposition([2, 5, 5, 5], 0.01, { minor: [3, 0.003], major: [1, 0.02] });
  const after = exposition([2, 15, 104, 105], 0.8, { minor: [10, 0.01], major: [4, 0.08] });

  it('reads a histogram and what was added between two scrapes', () => {
    const h = histogramOf(after, NAME)!;
    expect(h.count).toBe(105);
    expect(h.buckets.map((b) => b.le)).toEqual([0.001, 0.005, 0.01, Infinity]);
    const d = histogramDelta(h, histogramOf(before, NAME));
    expect(d.buckets.map((b) => b.count)).toEqual([0, 10, 99, 100]);
    expect(d.count).toBe(100);
    expect(d.sum).toBeCloseTo(0.79, 10);
    expect(histogramOf('nothing here', NAME)).toBeUndefined();
  });

  it('gives the bucket bound holding a quantile, Infinity past the last bound', () => {
    const d = histogramDelta(histogramOf(after, NAME)!, histogramOf(before, NAME));
    expect(bucketQuantile(d, 0.05)).toBe(0.005);
    expect(bucketQuantile(d, 0.1)).toBe(0.005);
    expect(bucketQuantile(d, 0.5)).toBe(0.01);
    expect(bucketQuantile(d, 0.99)).toBe(0.01);
    expect(bucketQuantile(d, 1)).toBe(Infinity);
    expect(bucketQuantile({ buckets: [], sum: 0, count: 0 }, 0.5)).toBeUndefined();
  });

  it('counts GC pauses by kind between two scrapes', () => {
    const gc = gcDelta(after, before);
    expect(gc.map((t) => t.kind)).toEqual(['major', 'minor']);
    expect(gc[0]!.count).toBe(3);
    expect(gc[0]!.seconds).toBeCloseTo(0.06, 10);
    expect(gc[1]!.count).toBe(7);
    expect(formatGc(gc)).toBe('major 3 in 60 ms, minor 7 in 7 ms');
    expect(formatGc([])).toBe('none');
  });

  it('watches this process\'s own collections', async () => {
    const watch = new GcWatch().start();
    // Enough short-lived garbage for several scavenges; the entries arrive after the collections.
    let recent: Array<{ i: number }> = [];
    let sum = 0;
    for (let i = 0; i < 3_000_000; i++) {
      recent.push({ i });
      if (recent.length === 1000) {
        sum += recent.length;
        recent = [];
      }
    }
    await new Promise((r) => setTimeout(r, 0));
    const tallies = watch.stop();
    expect(sum).toBe(3_000_000);
    const minor = tallies.find((t) => t.kind === 'minor');
    expect(minor?.count).toBeGreaterThan(0);
    expect(minor!.maxSeconds!).toBeLessThanOrEqual(minor!.seconds);
  });
});
