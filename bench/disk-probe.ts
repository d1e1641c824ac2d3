/**
 * The disk's own fsync latency, measured just before a latency run on the
 * same file system: a file grown by 56 KiB (about what one partition's
 * group commit writes at 50,000 records/s) and fdatasync'd, about 300 times
 * a second (the master's fsync rate in that run), for a few seconds. The
 * ingest open loop's p99 cannot be below what the disk gives one fsync, and
 * on a shared machine that moves by the quarter hour (bench/README.md,
 * ingest, 2 December): printed beside the run, it says which figures are
 * the engine's and which the disk's.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface DiskSyncProbe {
  readonly syncs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const WRITE_BYTES = 56 * 1024;
/** Pause between syncs: about 300 a second with a fast disk. */
const GAP_MS = 3;

/** Blocks for `seconds` (the process does nothing else meanwhile). Leaves no file behind. */
export function probeDiskSync(dir: string, seconds = 3): DiskSyncProbe {
  const path = join(dir, `disk-probe-${process.pid}.bin`);
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(WRITE_BYTES, 0x5a);
  const ms: number[] = [];
  try {
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      writeSync(fd, buf);
      const t = performance.now();
      fdatasyncSync(fd);
      ms.push(performance.now() - t);
      const resume = performance.now() + GAP_MS;
      while (performance.now() < resume) { /* a sleep without timers, to keep the rate steady */ }
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  ms.sort((a, b) => a - b);
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(ms.length * q))] ?? NaN;
  return { syncs: ms.length, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: ms[ms.length - 1] ?? NaN };
}

export function formatDiskProbe(p: DiskSyncProbe): string {
  return `the disk alone just before (${p.syncs} fdatasyncs of 56 KiB appends, 3 s): p50 ${p.p50Ms.toFixed(2)} ms, p90 ${p.p90Ms.toFixed(2)}, p99 ${p.p99Ms.toFixed(2)}, max ${p.maxMs.toFixed(2)}`;
}
