/**
 * The benchmark suite: `npm run bench [-- NAME... ] [--scale F] [--keep]`.
 *
 *   NAME      wordcount, sort, tasks, latency, failover, ingest, serving, streaming, functions (default: all, in that order)
 *   --scale F multiply input sizes and counts by F (e.g. 0.05 for a quick run)
 *   --keep    keep each benchmark's work folder (outputs, cluster logs)
 *   --repeat N run each contender N times and report the fastest (default 1;
 *             the machine is shared, so best-of-N filters out others' load)
 *   --profile run the master and workers with --cpu-prof and print where
 *             their time went (self time per function; timings then include
 *             the profiler's overhead)
 *   --NAME V  a flag of one benchmark (wordcount: --storage s3; streaming:
 *             --seconds, --rate, --rates, --build-every, --floor-events; see its file)
 *
 * Prints a table per benchmark and writes every result as JSON under
 * bench/results/. Exits 1 if a benchmark failed or an output check did not
 * hold (a missed speed target is reported, not an error).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failover } from './benchmarks/failover.js';
import { functions } from './benchmarks/functions.js';
import { ingest } from './benchmarks/ingest.js';
import { serving } from './benchmarks/serving.js';
import { latency } from './benchmarks/latency.js';
import { sort } from './benchmarks/sort.js';
import { streaming } from './benchmarks/streaming.js';
import { tasks } from './benchmarks/tasks.js';
import { wordcount } from './benchmarks/wordcount.js';
import type { Benchmark } from './context.js';
import { formatProfile, summarizeProfiles } from './profile.js';
import { formatResult, writeResults, type BenchResult } from './report.js';

const ALL: readonly Benchmark[] = [wordcount, sort, tasks, latency, failover, ingest, serving, streaming, functions];

/** Every benchmark's own flags, by name. */
const FLAGS = new Map(ALL.flatMap((b) => Object.keys(b.flags ?? {}).map((f) => [f, b.name] as const)));

function parseArgs(argv: string[]): { names: string[]; scale: number; keep: boolean; profile: boolean; repeat: number; flags: Map<string, string> } {
  const names: string[] = [];
  const flags = new Map<string, string>();
  let scale = 1;
  let keep = false;
  let profile = false;
  let repeat = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--scale') {
      scale = Number(argv[++i]);
      if (!(scale > 0)) throw new Error(`Expected --scale to be a positive number, got '${argv[i]}'`);
    } else if (a.startsWith('--scale=')) {
      scale = Number(a.slice(8));
      if (!(scale > 0)) throw new Error(`Expected --scale to be a positive number, got '${a}'`);
    } else if (a === '--keep') keep = true;
    else if (a === '--profile') profile = true;
    else if (a === '--repeat') {
      repeat = Number(argv[++i]);
      if (!Number.isSafeInteger(repeat) || repeat < 1) throw new Error(`Expected --repeat to be a positive integer, got '${argv[i]}'`);
    }
    else if (ALL.some((b) => b.name === a)) names.push(a);
    else if (a.startsWith('--') && FLAGS.has(a.slice(2).split('=')[0]!)) {
      const eq = a.indexOf('=');
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`Expected a value after ${a} (a flag of ${FLAGS.get(a.slice(2))})`);
      flags.set(eq >= 0 ? a.slice(2, eq) : a.slice(2), value);
    }
    else throw new Error(`Unknown argument '${a}': expected ${ALL.map((b) => b.name).join(', ')}, --scale F, --repeat N, --keep, --profile${FLAGS.size > 0 ? ` or a benchmark's flag (${[...FLAGS].map(([f, b]) => `--${f} of ${b}`).join(', ')})` : ''}`);
  }
  return { names: names.length > 0 ? names : ALL.map((b) => b.name), scale, keep, profile, repeat, flags };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { names, scale, keep, profile, repeat, flags } = parseArgs(argv);
  const startedAt = new Date();
  const results: BenchResult[] = [];
  let failed = false;
  for (const bench of ALL.filter((b) => names.includes(b.name))) {
    const work = mkdtempSync(join(tmpdir(), `laminate-bench-${bench.name}-`));
    const started = performance.now();
    const log = (m: string): void => {
      process.stderr.write(`[${bench.name} +${((performance.now() - started) / 1000).toFixed(1)}s] ${m}\n`);
    };
    try {
      const profileDir = profile ? join(work, 'profiles') : undefined;
      const r = await bench.run({ scale, work, log, profileDir, repeat, flags });
      results.push(r);
      if (r.checks.some((c) => !c.ok)) failed = true;
      process.stdout.write(`${formatResult(r)}\n\n`);
      if (profileDir) {
        for (const role of readdirSync(profileDir).sort()) {
          process.stdout.write(`  CPU profiles of ${role}:\n${summarizeProfiles(join(profileDir, role)).map(formatProfile).join('\n')}\n`);
        }
        process.stdout.write('\n');
      }
    } catch (err) {
      failed = true;
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      process.stdout.write(`== ${bench.name}: FAILED\n  ${message}\n\n`);
      results.push({ name: bench.name, description: 'failed', scale, contenders: [], targets: [], checks: [{ name: 'ran', ok: false, detail: message }], notes: [], params: {} });
    } finally {
      if (keep) log(`work folder kept: ${work}`);
      else rmSync(work, { recursive: true, force: true });
    }
  }
  if (scale !== 1) process.stdout.write(`Note: run at scale ${scale}; the targets are defined for scale 1.\n`);
  process.stdout.write(`Results: ${writeResults(results, argv, startedAt)}\n`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
