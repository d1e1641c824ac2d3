/**
 * Swaps under load (bench/swaps-under-reads.ts), on its own:
 *
 *   npm run build && node dist/bench/serving-swaps.js [--keys N] [--swaps S] [--readers R] [--batch B] [--heartbeat-ms H]
 *
 * Prints: reads and keys/s over the run, failed reads and answers mixing
 * versions (both must be 0), MultiGet latency percentiles (closed loop:
 * each reader sends its next request when the last returns, so these are
 * service times, not open-loop latencies), and the swap turnaround
 * (publish to the node's acknowledgement, which includes up to one
 * heartbeat interval of waiting). Exits 1 if a read failed or mixed
 * versions. `npm run bench -- serving` runs the same scenario (100 swaps).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberArg } from './args.js';
import { swapsUnderReads } from './swaps-under-reads.js';

const KEYS = numberArg('keys', 100_000, true);
const SWAPS = numberArg('swaps', 100, true);
const READERS = numberArg('readers', 4, true);
const BATCH = numberArg('batch', 100, true);
const HEARTBEAT_MS = numberArg('heartbeat-ms', 100, true);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'laminate-bench-swaps-'));
  try {
    const f = await swapsUnderReads({ work, keys: KEYS, swaps: SWAPS, readers: READERS, batch: BATCH, heartbeatMs: HEARTBEAT_MS });
    console.log(`serving swaps: ${SWAPS} swaps of a view of ${KEYS} keys (~100-byte values, 4 files) in ${f.elapsedS.toFixed(1)} s, ${READERS} readers of MultiGets of ${BATCH} keys`);
    console.log(`  reads: ${f.reads} MultiGets, ${Math.round(f.keysPerS)} keys/s; failed ${f.failed}; answers mixing versions ${f.mixed}`);
    console.log(`  MultiGet ms (closed loop): p50 ${f.p50Ms.toFixed(2)}, p99 ${f.p99Ms.toFixed(2)}, p99.9 ${f.p999Ms.toFixed(2)}, max ${f.maxMs.toFixed(2)}`);
    console.log(`  swap turnaround (publish to acknowledgement, heartbeat every ${HEARTBEAT_MS} ms): median ${f.turnaroundMedianMs} ms, max ${f.turnaroundMaxMs} ms`);
    if (f.failed > 0 || f.mixed > 0) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
