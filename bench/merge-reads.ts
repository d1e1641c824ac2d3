/**
 * The reduce side's merge of map outputs read in place (host-local runs:
 * src/storage/sorted-run.ts's fileRun), with blocking reads against reads
 * through libuv's thread pool: the quickest way to see what the choice does,
 * without a cluster. Writes `--runs` sorted run files of `--records`
 * records each (keys interleaved across the runs, ~100-byte values, as the
 * serving benchmark's map outputs), then merges them with mergeGroups, each
 * way in turn, `--rounds` times, and prints the wall time and the process's
 * CPU of each.
 *
 *   node dist/bench/merge-reads.js [--runs N] [--records N] [--rounds N] [--busy N]
 *
 * Medians are context.ts's (the mean of the two middle rounds for an even
 * count). `--busy N` starts N processes spinning on the CPU for the whole run, as
 * the other map and reduce attempts of a build keep the machine's cores
 * busy; the thread pool's threads then wait for a core too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrowableBuffer } from '../src/storage/byte-sink.js';
import { mergeGroups } from '../src/storage/merger.js';
import { appendRecord } from '../src/storage/record-codec.js';
import { fileRun } from '../src/storage/sorted-run.js';
import { numberArg } from './args.js';
import { median } from './context.js';

interface Options {
  readonly runs: number;
  readonly records: number;
  readonly rounds: number;
  readonly busy: number;
}

/** The flags (args.ts: each a positive integer; --busy absent for none). */
function options(): Options {
  return { runs: numberArg('runs', 4, true), records: numberArg('records', 125_000, true), rounds: numberArg('rounds', 6, true), busy: numberArg('busy', 0, true) };
}

/** Run files of sorted records: run r holds keys r, r + runs, r + 2 runs, ... */
function writeRuns(dir: string, o: Options): Array<{ path: string; bytes: number }> {
  const files: Array<{ path: string; bytes: number }> = [];
  for (let r = 0; r < o.runs; r++) {
    const sink = new GrowableBuffer(1 << 20);
    for (let i = 0; i < o.records; i++) appendRecord(sink, `k${String(i * o.runs + r).padStart(10, '0')}`, 'v'.repeat(100));
    const bytes = sink.toBuffer();
    const path = join(dir, `run-${r}`);
    writeFileSync(path, bytes);
    files.push({ path, bytes: bytes.length });
  }
  return files;
}

async function main(): Promise<void> {
  const o = options();
  const dir = mkdtempSync(join(tmpdir(), 'merge-reads-'));
  const spinners: ChildProcess[] = [];
  try {
    const files = writeRuns(dir, o);
    for (let i = 0; i < o.busy; i++) spinners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const results = new Map<boolean, Array<{ ms: number; cpuMs: number }>>([[true, []], [false, []]]);
    for (let round = 0; round < o.rounds; round++) {
      for (const syncReads of [true, false]) {
        const runs = files.map((f) => fileRun(f.path, 0, f.bytes, 64 * 1024, undefined, { syncReads }));
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        let records = 0;
        await mergeGroups(runs, (_key, values) => {
          records += values.length;
        });
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        if (records !== o.runs * o.records) throw new Error(`Expected ${o.runs * o.records} records merged, got ${records}`);
        results.get(syncReads)!.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000 });
      }
    }
    const mb = files.reduce((s, f) => s + f.bytes, 0) / 1e6;
    console.log(`merge of ${o.runs} runs, ${o.records} records each (${mb.toFixed(1)} MB), ${o.rounds} rounds each way in turn, ${o.busy} spinning processes beside`);
    for (const [syncReads, rs] of results) {
      console.log(`  ${syncReads ? 'blocking reads   ' : 'thread-pool reads'}  wall ms median ${median(rs.map((r) => r.ms)).toFixed(0)} (${rs.map((r) => r.ms.toFixed(0)).join(' ')}), process CPU ms median ${median(rs.map((r) => r.cpuMs)).toFixed(0)}`);
    }
  } finally {
    for (const s of spinners) s.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
