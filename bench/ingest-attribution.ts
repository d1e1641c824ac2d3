/**
 * Where an append's latency goes, for the ingest benchmark: the pieces that
 * need no cluster. The benchmark reads the master's Prometheus exposition
 * (GET /metrics) before and after a measured phase, and takes the
 * difference: fsyncs (laminate_dataset_fsync_duration_seconds, one per group
 * commit) and garbage-collection pauses (prom-client's
 * nodejs_gc_duration_seconds, per kind). On its own side it times each
 * Append call (a batch's round trip, master included) and watches its own
 * GC pauses (GcWatch). Record latency minus the Append round trip is the
 * time a record spent in the producer: linger, waiting for a slot in flight,
 * and the client's event loop.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

/** A Prometheus histogram as exposed: cumulative buckets by upper bound, its sum and count. */
export interface PromHistogram {
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

/** `name{labels} value` lines of an exposition, labels as one string ('' without any). */
function samples(text: string, name: string): Array<{ labels: string; value: number }> {
  const out: Array<{ labels: string; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^(?:\{([^}]*)\})?\s+(\S+)/.exec(rest);
    if (m === null) continue;
    out.push({ labels: m[1] ?? '', value: Number(m[2]) });
  }
  return out;
}

/** The unlabelled histogram `name` of an exposition (label `le` aside), or undefined when absent. */
export function histogramOf(text: string, name: string): PromHistogram | undefined {
  const buckets = samples(text, `${name}_bucket`).map((s) => {
    const le = /le="([^"]*)"/.exec(s.labels)?.[1];
    return { le: le === '+Inf' ? Infinity : Number(le), count: s.value };
  });
  const sum = samples(text, `${name}_sum`)[0];
  const count = samples(text, `${name}_count`)[0];
  if (buckets.length === 0 || sum === undefined || count === undefined) return undefined;
  return { buckets: buckets.sort((a, b) => a.le - b.le), sum: sum.value, count: count.value };
}

/** What happened between two readings of the same histogram (`before` may be undefined: nothing yet). */
export function histogramDelta(after: PromHistogram, before: PromHistogram | undefined): PromHistogram {
  const was = (le: number): number => before?.buckets.find((b) => b.le === le)?.count ?? 0;
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - was(b.le) })),
    sum: after.sum - (before?.sum ?? 0),
    count: after.count - (before?.count ?? 0),
  };
}

/**
 * The upper bound of the bucket that holds quantile q (0 < q <= 1): "at most
 * this" (Infinity past the last bound); undefined for an empty histogram.
 * No interpolation: bucket bounds are what the exposition knows.
 */
export function bucketQuantile(h: PromHistogram, q: number): number | undefined {
  if (h.count <= 0) return undefined;
  const rank = q * h.count;
  for (const b of h.buckets) if (b.count >= rank) return b.le;
  return Infinity;
}

/** GC pauses by kind (minor, major, incremental, weakcb): how many, and their total in seconds. */
export interface GcTally {
  readonly kind: string;
  readonly count: number;
  readonly seconds: number;
  /** The longest single pause, when known (the client's own; the exposition has only totals). */
  readonly maxSeconds?: number;
}

/** The master's GC pauses between two expositions, from prom-client's nodejs_gc_duration_seconds. */
export function gcDelta(after: string, before: string): GcTally[] {
  const read = (text: string, suffix: string): Map<string, number> =>
    new Map(samples(text, `nodejs_gc_duration_seconds_${suffix}`).map((s) => [/kind="([^"]*)"/.exec(s.labels)?.[1] ?? '', s.value]));
  const sumsAfter = read(after, 'sum');
  const countsAfter = read(after, 'count');
  const sumsBefore = read(before, 'sum');
  const countsBefore = read(before, 'count');
  return [...countsAfter.keys()].sort().map((kind) => ({
    kind,
    count: countsAfter.get(kind)! - (countsBefore.get(kind) ?? 0),
    seconds: (sumsAfter.get(kind) ?? 0) - (sumsBefore.get(kind) ?? 0),
  }));
}

/** "minor 12 in 40 ms (max 9 ms), major 3 in 21 ms": GC tallies in a line. */
export function formatGc(tallies: readonly GcTally[]): string {
  const shown = tallies.filter((t) => t.count > 0);
  if (shown.length === 0) return 'none';
  return shown.map((t) => `${t.kind} ${t.count} in ${(t.seconds * 1000).toFixed(0)} ms${t.maxSeconds === undefined ? '' : ` (max ${(t.maxSeconds * 1000).toFixed(1)} ms)`}`).join(', ');
}

const GC_KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** This process's GC pauses from start() to stop(), by kind, with the longest of each. */
export class GcWatch {
  private readonly tallies = new Map<string, { count: number; seconds: number; maxSeconds: number }>();
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS.get((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1) ?? 'other';
      const t = this.tallies.get(kind) ?? { count: 0, seconds: 0, maxSeconds: 0 };
      t.count++;
      t.seconds += e.duration / 1000;
      t.maxSeconds = Math.max(t.maxSeconds, e.duration / 1000);
      this.tallies.set(kind, t);
    }
  });

  start(): this {
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): GcTally[] {
    this.observer.disconnect();
    return [...this.tallies].sort(([a], [b]) => a.localeCompare(b)).map(([kind, t]) => ({ kind, ...t }));
  }
}
