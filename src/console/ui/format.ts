/**
 * How the console writes numbers, sizes, times and progress: pure functions
 * (no DOM), so that the unit tests run them in Node (test/unit/console/).
 * Called on every render, for every cell.
 */

/** 1234567 -> "1,234,567"; non-finite -> "-". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Bytes in binary units with at most three significant digits: 1536 -> "1.50 KB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  let v = n;
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** A rate per second: "12.5/s", "1,200/s"; bytes when `bytes`. */
export function formatRate(perSec: number, bytes = false): string {
  if (!Number.isFinite(perSec) || perSec < 0) return '-';
  if (bytes) return `${formatBytes(perSec)}/s`;
  return `${perSec >= 100 ? formatCount(perSec) : perSec.toFixed(perSec >= 10 ? 1 : 2)}/s`;
}

/** A duration: "850 ms", "4.2 s", "3m 05s", "2h 04m". Negative or non-finite: "-". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How long before `now` a time was: "3.1 s ago"; 0 (never) -> "never". */
export function formatAgo(thenMs: number, nowMs: number): string {
  if (thenMs <= 0) return 'never';
  return `${formatDuration(Math.max(0, nowMs - thenMs))} ago`;
}

/** A wall-clock time in UTC, ISO-like without the date when it is today's: "2026-12-01 21:54:02". 0 -> "-". */
export function formatTime(ms: number): string {
  if (ms <= 0 || !Number.isFinite(ms)) return '-';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

/** A cut (per-partition offsets): "[10, 20, 0]". */
export function formatCut(cut: readonly number[]): string {
  return `[${cut.join(', ')}]`;
}

/** The counts a job's progress is made of (its maps and reduces; null before planning). */
export interface ProgressCounts {
  readonly total: number;
  readonly succeeded: number;
}

/**
 * A job's progress in [0, 1]: (maps.succeeded + reduces.succeeded) /
 * (maps.total + reduces.total), as the API documents it; 0 with no tasks yet,
 * and 1 once the job SUCCEEDED (a job without tasks is done too).
 */
export function jobProgress(maps: ProgressCounts | null, reduces: ProgressCounts | null, state: string): number {
  if (state === 'SUCCEEDED') return 1;
  const total = (maps?.total ?? 0) + (reduces?.total ?? 0);
  if (total === 0) return 0;
  return Math.min(1, ((maps?.succeeded ?? 0) + (reduces?.succeeded ?? 0)) / total);
}

/** 0.4567 -> "45.7%". */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '-';
  return `${(fraction * 100).toFixed(fraction >= 1 || fraction <= 0 ? 0 : 1)}%`;
}

/** A job's duration: from its start (or submission, while pending) to its finish or `now`. */
export function jobDuration(job: { readonly submitMs: number; readonly startMs: number; readonly finishMs: number }, nowMs: number): number {
  const from = job.startMs > 0 ? job.startMs : job.submitMs;
  const to = job.finishMs > 0 ? job.finishMs : nowMs;
  return Math.max(0, to - from);
}

/** Whether a job state is final (nothing to kill). */
export function isFinalJobState(state: string): boolean {
  return state === 'SUCCEEDED' || state === 'FAILED' || state === 'KILLED';
}

/** What the lag and freshness of a speed report are computed from: per partition, as a speed process reports it. */
export interface SpeedPartitionProgress {
  readonly applied: number;
  readonly end: number;
  /** When applied last reached the end the process saw; 0 if never. */
  readonly caughtUpAt: number;
}

/**
 * A speed process's lag on a view (records durable but not folded, summed
 * over its partitions) and freshness (now minus the oldest catch-up over
 * them: every record durable that long ago is folded), as `laminate
 * speed-status` and the speed metrics count them per partition.
 */
export function speedLagFreshness(report: { readonly partitions: readonly SpeedPartitionProgress[] }, nowMs: number): { lag: number; freshness: string } {
  const lag = report.partitions.reduce((sum, p) => sum + Math.max(0, p.end - p.applied), 0);
  const caught = report.partitions.map((p) => p.caughtUpAt);
  const freshness = caught.length === 0 || caught.some((t) => t <= 0) ? 'never caught up' : formatDuration(Math.max(0, nowMs - Math.min(...caught)));
  return { lag, freshness };
}
