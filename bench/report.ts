/**
 * Benchmark results: their shape, the table printed per benchmark, and the
 * JSON file written under bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BENCH_ROOT } from './data-cache.js';

export interface Contender {
  readonly name: string;
  readonly wallS: number;
  readonly cpuS: number;
  readonly peakMb: number;
  /** Cores busy with other processes during the run, on average (machine noise). */
  readonly otherCores?: number;
  /** Wall seconds of every repetition, when the contender ran more than once (the best is reported). */
  readonly walls?: number[];
  /** Every repetition's figures. */
  readonly runs?: Array<{ wallS: number; cpuS: number; peakMb: number; otherCores: number }>;
  /** Anything else worth keeping (CPU per process, counters...). */
  readonly detail?: Record<string, unknown>;
}

export interface Target {
  readonly name: string;
  /** The measured figure and the limit it must stay at or under (or at or over, when atLeast). */
  readonly measured: number;
  readonly limit: number;
  readonly unit: string;
  readonly atLeast?: boolean;
  readonly met: boolean;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface BenchResult {
  readonly name: string;
  readonly description: string;
  readonly scale: number;
  readonly contenders: Contender[];
  readonly targets: Target[];
  readonly checks: Check[];
  readonly notes: string[];
  readonly params: Record<string, unknown>;
}

export function target(name: string, measured: number, limit: number, unit: string, atLeast = false): Target {
  return { name, measured, limit, unit, atLeast, met: atLeast ? measured >= limit : measured <= limit };
}

/** A figure, or '-' where there is none (NaN: e.g. no CPU figure for a run that lost a process). */
const f = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : Number.isNaN(x) ? '-' : String(x));

export function formatResult(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`== ${r.name}: ${r.description}${r.scale !== 1 ? ` (scale ${r.scale})` : ''}`);
  const w = Math.max(10, ...r.contenders.map((c) => c.name.length));
  lines.push(`  ${'contender'.padEnd(w)}  ${'wall s'.padStart(9)}  ${'CPU s'.padStart(9)}  ${'peak MB'.padStart(9)}  ${'noise'.padStart(6)}  runs (wall s@noise)`);
  for (const c of r.contenders) {
    const noise = c.otherCores === undefined ? '' : f(c.otherCores, 2);
    const runs = c.runs && c.runs.length > 1 ? c.runs.map((x) => `${f(x.wallS, 2)}@${f(x.otherCores, 1)}`).join(' ')
      : c.walls && c.walls.length > 1 ? c.walls.map((x) => f(x, 2)).join(' ') : '';
    lines.push(`  ${c.name.padEnd(w)}  ${f(c.wallS, 3).padStart(9)}  ${f(c.cpuS).padStart(9)}  ${f(c.peakMb, 0).padStart(9)}  ${noise.padStart(6)}  ${runs}`);
  }
  lines.push('  (noise: cores busy with other processes during the run; with several runs the fastest is shown)');
  for (const t of r.targets) {
    const rel = t.atLeast ? '>=' : '<=';
    lines.push(`  target ${t.name}: ${f(t.measured, 3)} ${t.unit} (${rel} ${f(t.limit, 3)}; ${f(t.measured / t.limit)}x of the limit) ${t.met ? 'MET' : 'MISSED'}`);
  }
  for (const c of r.checks) lines.push(`  check ${c.name}: ${c.ok ? 'ok' : 'FAILED'}${c.detail ? ` (${c.detail})` : ''}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export function machine(): Record<string, unknown> {
  const sh = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    nproc: Number(sh('nproc', [])) || cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    kernel: sh('uname', ['-r']),
    coreutils: sh('sort', ['--version']).split('\n')[0] ?? '',
    loadAverageAtStart: sh('cat', ['/proc/loadavg']),
    // The engine measured: the commit, and the files of src/ changed since (others edit the tree concurrently).
    gitHead: sh('git', ['-C', BENCH_ROOT, 'rev-parse', '--short', 'HEAD']),
    srcChangedSinceHead: sh('git', ['-C', BENCH_ROOT, 'status', '--short', '--', '../src']).split('\n').filter(Boolean),
  };
}

/** Writes the results as JSON under bench/results/; returns the file. */
export function writeResults(results: BenchResult[], argv: string[], startedAt: Date): string {
  const dir = join(BENCH_ROOT, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${stamp}.json`);
  const body = JSON.stringify({ startedAt: startedAt.toISOString(), argv, machine: machine(), results }, null, 2);
  writeFileSync(file, body);
  writeFileSync(join(dir, 'latest.json'), body);
  return file;
}
