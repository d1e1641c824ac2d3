/**
 * Straggler detection for speculative execution. Once most tasks of a kind
 * have finished, an attempt running far longer than their median earns a
 * backup attempt on another worker (Hadoop's and Spark's rule, simplified:
 * Spark's spark.speculation.quantile and multiplier).
 */
import { liveAttempts, type JobRecord, type TaskRecord } from './records.js';

export interface SpeculationOptions {
  /** Fraction of a kind's tasks that must have succeeded first. Default 0.75 (Spark). */
  readonly quantile: number;
  /** How many times the median an attempt must have run. Default 2. */
  readonly multiplier: number;
  /** Never speculate an attempt younger than this. Default 1000 ms. */
  readonly minRuntimeMs: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Tasks of `tasks` that deserve a backup attempt now, slowest first. */
export function findStragglers(
  job: JobRecord,
  tasks: readonly TaskRecord[],
  now: number,
  options: SpeculationOptions,
): TaskRecord[] {
  if (!job.submission.speculation || tasks.length === 0) return [];
  const durations: number[] = [];
  for (const t of tasks) {
    if (t.state === 'SUCCEEDED' && t.winner?.finish !== undefined) durations.push(t.winner.finish - t.winner.start);
  }
  if (durations.length === 0 || durations.length < options.quantile * tasks.length) return [];
  const threshold = Math.max(options.minRuntimeMs, options.multiplier * median(durations));
  const slow: Array<{ task: TaskRecord; runtime: number }> = [];
  for (const t of tasks) {
    if (t.state !== 'RUNNING' || t.speculated) continue;
    const live = liveAttempts(t);
    if (live.length !== 1 || live[0]!.state !== 'RUNNING') continue;
    const runtime = now - live[0]!.start;
    if (runtime > threshold) slow.push({ task: t, runtime });
  }
  return slow.sort((a, b) => b.runtime - a.runtime).map((s) => s.task);
}
