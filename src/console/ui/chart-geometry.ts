/**
 * The geometry of the console's two charts, apart from drawing them: the
 * job's event timeline (one lane per worker, a bar per attempt, as Spark's
 * UI draws it) and a dataset's append-rate line (deltas of the totals the
 * master samples). Pure: the unit tests check the numbers in Node, and
 * charts.ts turns them into SVG nodes.
 */

/** What the timeline needs of an attempt. */
export interface TimelineAttempt {
  readonly attemptId: string;
  readonly taskId: string;
  readonly kind: string;
  readonly workerId: string;
  readonly state: string;
  readonly startMs: number;
  /** 0 while running: the bar runs to `nowMs`. */
  readonly finishMs: number;
  readonly speculative: boolean;
  readonly failure: string;
}

export interface TimelineBar {
  readonly attempt: TimelineAttempt;
  /** Index into lanes. */
  readonly lane: number;
  /** Row within the lane: attempts overlapping in time on one worker (several slots) stack. */
  readonly row: number;
  readonly x: number;
  readonly width: number;
  readonly endMs: number;
}

export interface TimelineLayout {
  /** Worker ids, sorted, one lane each. */
  readonly lanes: readonly { readonly workerId: string; readonly rows: number; readonly y: number }[];
  readonly bars: readonly TimelineBar[];
  readonly startMs: number;
  readonly endMs: number;
  /** Px of the plot area; bars are within [0, width]. */
  readonly width: number;
  readonly height: number;
  /** Time ticks: offset from startMs and x. */
  readonly ticks: readonly { readonly ms: number; readonly x: number }[];
}

/** The smallest width a bar is drawn with, so that a 5 ms attempt stays visible and clickable. */
export const MIN_BAR_PX = 3;
export const ROW_PX = 18;
export const LANE_GAP_PX = 6;

/**
 * Lays attempts out: time from `fromMs` (the job's start) to the last finish
 * or `nowMs`, mapped to [0, width]; within a worker's lane, an attempt goes on
 * the first row whose previous bar ended before it started.
 */
export function timelineLayout(attempts: readonly TimelineAttempt[], fromMs: number, nowMs: number, width: number): TimelineLayout {
  const started = attempts.filter((a) => a.startMs > 0);
  const endOf = (a: TimelineAttempt): number => (a.finishMs > 0 ? a.finishMs : Math.max(nowMs, a.startMs));
  const startMs = Math.min(fromMs > 0 ? fromMs : Infinity, ...started.map((a) => a.startMs));
  const lastMs = Math.max(...started.map(endOf), startMs + 1);
  const first = Number.isFinite(startMs) ? startMs : nowMs;
  const last = Number.isFinite(startMs) ? lastMs : nowMs + 1;
  const span = Math.max(1, last - first);
  const xOf = (ms: number): number => ((ms - first) / span) * width;

  const workers = [...new Set(started.map((a) => a.workerId))].sort();
  const rowsEnds = new Map<string, number[]>(workers.map((w) => [w, []]));
  const placed: Omit<TimelineBar, 'lane'>[] = [];
  for (const a of [...started].sort((p, q) => p.startMs - q.startMs || p.attemptId.localeCompare(q.attemptId))) {
    const ends = rowsEnds.get(a.workerId)!;
    let row = ends.findIndex((end) => end <= a.startMs);
    if (row === -1) {
      row = ends.length;
      ends.push(0);
    }
    const endMs = endOf(a);
    ends[row] = endMs;
    // A bar starting at the very end still shows its minimum width, inside the plot.
    const x = Math.max(0, Math.min(xOf(a.startMs), width - MIN_BAR_PX));
    placed.push({ attempt: a, row, x, width: Math.min(width - x, Math.max(MIN_BAR_PX, xOf(endMs) - x)), endMs });
  }
  let y = 0;
  const lanes = workers.map((workerId) => {
    const rows = Math.max(1, rowsEnds.get(workerId)!.length);
    const lane = { workerId, rows, y };
    y += rows * ROW_PX + LANE_GAP_PX;
    return lane;
  });
  const laneIndex = new Map(workers.map((w, i) => [w, i]));
  const bars = placed.map((b) => ({ ...b, lane: laneIndex.get(b.attempt.workerId)! }));
  return { lanes, bars, startMs: first, endMs: last, width, height: Math.max(ROW_PX, y), ticks: timeTicks(span, width) };
}

const TICK_STEPS_MS = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];

/** About six ticks at a round step over [0, spanMs]. */
export function timeTicks(spanMs: number, width: number, about = 6): { ms: number; x: number }[] {
  const step = TICK_STEPS_MS.find((s) => spanMs / s <= about) ?? Math.ceil(spanMs / about / 3_600_000) * 3_600_000;
  const ticks: { ms: number; x: number }[] = [];
  for (let ms = 0; ms <= spanMs; ms += step) ticks.push({ ms, x: (ms / spanMs) * width });
  return ticks;
}

/** One point of a rate line: the mean rate over the interval ending at `at`. */
export interface RatePoint {
  readonly at: number;
  readonly perSec: number;
}

/**
 * Records (or bytes) per second between consecutive samples of running
 * totals. A total that went down (the master restarted, a dataset was
 * recreated) restarts the line at 0 rather than drawing a negative rate.
 */
export function rateSeries(history: readonly { readonly at: number; readonly value: number }[]): RatePoint[] {
  const points: RatePoint[] = [];
  for (let i = 1; i < history.length; i++) {
    const prev = history[i - 1]!;
    const cur = history[i]!;
    const dt = cur.at - prev.at;
    if (dt <= 0) continue;
    const delta = cur.value - prev.value;
    points.push({ at: cur.at, perSec: delta < 0 ? 0 : (delta * 1000) / dt });
  }
  return points;
}

export interface LineGeometry {
  /** An SVG path (M/L commands) of the line; '' with fewer than two points. */
  readonly line: string;
  /** The same closed down to the x axis, for the filled area. */
  readonly area: string;
  /** The y axis' top value (a round number at or above the maximum). */
  readonly max: number;
}

/** The rate line within a width x height box, time on x over [fromMs, toMs], 0 at the bottom. */
export function lineGeometry(points: readonly RatePoint[], fromMs: number, toMs: number, width: number, height: number): LineGeometry {
  const max = niceCeil(Math.max(0, ...points.map((p) => p.perSec)));
  if (points.length < 2) return { line: '', area: '', max };
  const span = Math.max(1, toMs - fromMs);
  const xy = points.map((p) => [round2(((p.at - fromMs) / span) * width), round2(height - (max === 0 ? 0 : (p.perSec / max) * height))] as const);
  const line = xy.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
  const firstX = xy[0]![0];
  const lastX = xy[xy.length - 1]![0];
  return { line, area: `${line} L${lastX},${height} L${firstX},${height} Z`, max };
}

/** The smallest 1, 2 or 5 times a power of ten at or above n (0 stays 0). */
export function niceCeil(n: number): number {
  if (n <= 0) return 0;
  const pow = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * pow >= n) return m * pow;
  return 10 * pow;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
