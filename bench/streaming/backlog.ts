/**
 * The speed side's backlog during a run: records durable in the log but not
 * yet applied (the log's end minus the applied offsets A), sampled every
 * 500 ms from a merged answer's coverage (its `lag` when it has one, else
 * the dataset's end offsets minus its `speed` vector), and whether it grew
 * over the second half of the run: the test of a sustained rate.
 */
import type { LaminateClient } from '../../src/client/laminate-client.js';
import { sleep } from './sleep.js';
import type { KeyElement } from '../../src/common/view-key.js';
import type { MergedCoverage } from './merged-answers.js';

export interface BacklogSample {
  readonly atMs: number;
  readonly backlog: number;
}

export interface BacklogFigures {
  readonly samples: number;
  /** Least-squares slope of the backlog over the second half of the run, records per second. */
  readonly slopePerS: number;
  /** The slope allowed: 1% of the rate (a backlog growing slower than that is noise from builds and batching). */
  readonly allowedSlopePerS: number;
  /** Undefined with fewer than 4 samples in the second half. */
  readonly sustained: boolean | undefined;
  readonly maxBacklog: number;
  readonly lastBacklog: number;
  readonly source: string;
  /** Every sample, as [seconds since the start, backlog], for the JSON. */
  readonly series: Array<[number, number]>;
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) { sx += x; sy += y; }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) { num += (x - mx) * (y - my); den += (x - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

/**
 * Judges a run from its samples: sustained when the backlog's slope over
 * [start + half, end] is at most 1% of the rate. Pure; the sampler's figures().
 */
export function judgeBacklog(samples: readonly BacklogSample[], startMs: number, endMs: number, rate: number, source: string): BacklogFigures {
  const half = samples.filter((s) => s.atMs >= startMs + (endMs - startMs) / 2 && s.atMs <= endMs);
  const slopePerS = slope(half.map((s) => [(s.atMs - startMs) / 1000, s.backlog] as const));
  const allowedSlopePerS = rate * 0.01;
  return {
    samples: samples.length, slopePerS, allowedSlopePerS,
    sustained: half.length < 4 ? undefined : slopePerS <= allowedSlopePerS,
    maxBacklog: Math.max(0, ...samples.map((s) => s.backlog)),
    lastBacklog: half[half.length - 1]?.backlog ?? 0,
    source,
    series: samples.map((x) => [Math.round(x.atMs - startMs) / 1000, x.backlog]),
  };
}

export class BacklogSampler {
  private readonly samples: BacklogSample[] = [];
  private viaLag = 0;

  /** `guard` runs each sample, counting a failed query instead of ending the run. */
  constructor(private readonly client: LaminateClient, private readonly dataset: string, private readonly view: string, private readonly probeKey: KeyElement[],
    private readonly guard: (what: string, q: () => Promise<void>) => Promise<void> = (_w, q) => q()) {}

  /** Samples every 500 ms until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.guard('a backlog sample', async () => {
        const ends = (await this.client.describeDataset(this.dataset)).partitions.map((p) => p.endOffset);
        const c = (await this.client.get(this.view, this.probeKey)).coverage as MergedCoverage;
        if (c.speed !== undefined) {
          const computed = ends.reduce((sum, end, p) => sum + Math.max(0, end - (c.speed![p] ?? 0)), 0);
          if (c.lag !== undefined) this.viaLag++;
          this.samples.push({ atMs: Date.now(), backlog: c.lag ?? computed });
        }
      });
      await sleep(500, signal);
    }
  }

  figures(startMs: number, endMs: number, rate: number): BacklogFigures {
    const source = this.viaLag === this.samples.length ? "the answers' coverage.lag" : 'end offsets minus coverage.speed';
    return judgeBacklog(this.samples, startMs, endMs, rate, source);
  }
}
