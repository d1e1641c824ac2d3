/** What every benchmark gets from the runner, and what it must provide. */
import { readSync, openSync, closeSync } from 'node:fs';
import type { BenchResult } from './report.js';

export interface BenchContext {
  /** Multiplies input sizes and counts (1 = the sizes the issue states). */
  readonly scale: number;
  /** A fresh folder for this benchmark's outputs and cluster; removed afterwards unless --keep. */
  readonly work: string;
  /** Runs per contender (--repeat); the fastest is reported, every wall time kept. */
  readonly repeat: number;
  /** Set by --profile: the cluster's processes write CPU profiles here. */
  readonly profileDir: string | undefined;
  /** Values of the benchmark's own flags (Benchmark.flags) given on the command line, by name without the dashes. */
  readonly flags: ReadonlyMap<string, string>;
  log(message: string): void;
}

export interface Benchmark {
  readonly name: string;
  /** Flags of this benchmark alone (`--name VALUE`), with what each means: run.ts accepts them. */
  readonly flags?: Readonly<Record<string, string>>;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** A benchmark flag's value as a positive number (an integer with `integer`), or `dflt` when absent. */
export function flagNumber(ctx: BenchContext, name: string, dflt: number, integer = false): number {
  const raw = ctx.flags.get(name);
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!(integer ? Number.isSafeInteger(v) : Number.isFinite(v)) || v <= 0) {
    throw new Error(`Expected --${name} to be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return v;
}

/** A benchmark flag's value as 'yes' (true) or 'no' (false), false when absent. */
export function flagYes(ctx: BenchContext, name: string): boolean {
  const raw = ctx.flags.get(name);
  if (raw === undefined || raw === 'no') return false;
  if (raw === 'yes') return true;
  throw new Error(`Expected --${name} to be 'yes' or 'no', got '${raw}'`);
}

/** The cluster every benchmark runs on: a master and 2 workers of one slot each. */
export const CLUSTER_SHAPE = { workers: 2, slots: 1, workerMemoryMb: 1024 } as const;

/** Reads a file once so that every contender finds it in the page cache. */
export function warmPageCache(path: string): void {
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs a measurement ctx.repeat times; returns the fastest run, its index, every wall time and every run. */
export async function bestOf<T extends { wallS: number }>(ctx: BenchContext, what: string, run: (i: number) => Promise<T>): Promise<{ best: T; index: number; walls: number[]; all: T[] }> {
  const all: T[] = [];
  for (let i = 0; i < ctx.repeat; i++) {
    ctx.log(`${what}${ctx.repeat > 1 ? ` (run ${i + 1} of ${ctx.repeat})` : ''}`);
    all.push(await run(i));
  }
  const walls = all.map((r) => r.wallS);
  const index = walls.indexOf(Math.min(...walls));
  return { best: all[index]!, index, walls, all };
}

/** The figures of every run, for the JSON. */
export function runFigures(all: ReadonlyArray<{ wallS: number; cpuS: number; peakMb: number; otherCores: number }>): Array<{ wallS: number; cpuS: number; peakMb: number; otherCores: number }> {
  return all.map(({ wallS, cpuS, peakMb, otherCores }) => ({ wallS, cpuS, peakMb, otherCores }));
}
