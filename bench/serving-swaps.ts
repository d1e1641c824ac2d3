/**
 * Swaps under load: a master and a serving node (the compiled CLI, each a
 * process of its own) serve a view of N keys; this process runs R loops of
 * MultiGets of B keys through LaminateClient while it publishes S new
 * versions one after another (each written by hand into the master's view
 * store, as a build would leave it, then published), waiting for the node to
 * acknowledge each before the next.
 *
 *   npm run build && node dist/bench/serving-swaps.js [--keys N] [--swaps S] [--readers R] [--batch B] [--heartbeat-ms H]
 *
 * Prints: reads and keys/s over the run, failed reads and answers mixing
 * versions (both must be 0: every value names the version it was written
 * in, and is checked against the answer's coverage), MultiGet latency
 * percentiles (closed loop: each reader sends its next request when the
 * last returns, so these are service times, not open-loop latencies), and
 * the swap turnaround (publish to the node's acknowledgement, which
 * includes up to one heartbeat interval of waiting). Exits 1 if a read
 * failed or mixed versions.
 *
 * Versions older than the current one and the 3 before it are removed from
 * the store as the master's retention would, so the disk holds at most 4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { LaminateClient } from '../src/client/laminate-client.js';
import { hashPartition } from '../src/common/partitioner.js';
import { ViewsClient } from '../src/protocol/view-rpc.js';
import { ViewFileWriter } from '../src/view/view-file-writer.js';
import { makeManifest, type ViewManifestFile } from '../src/view/view-manifest.js';
import { prepareVersionDir, publishVersion, removeVersion, viewFileName, writeManifest } from '../src/view/view-version-dir.js';
import { numberArg } from './args.js';

const KEYS = numberArg('keys', 100_000, true);
const SWAPS = numberArg('swaps', 100, true);
const READERS = numberArg('readers', 4, true);
const BATCH = numberArg('batch', 100, true);
const HEARTBEAT_MS = numberArg('heartbeat-ms', 100, true);
const PARTITIONS = 4;
const VIEW = 'bench-swaps';
const CLI = resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const PAD = 'x'.repeat(80);

const keyOf = (i: number): string => `page/${String(i).padStart(8, '0')}`;

/** Starts a CLI command; resolves with the process and the first match of `re` on its stdout. */
async function start(args: string[], re: RegExp): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LAMINATE_LOG_LEVEL: 'warn' } });
  let out = '';
  const match = await new Promise<RegExpExecArray>((ok, fail) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) ok(m);
    });
    proc.once('exit', (code) => fail(new Error(`laminate ${args[0]} exited (${code}) before it listened`)));
  });
  return { proc, match };
}

/** Writes and publishes version `version`: key i's value is { v: version, i, pad }. */
async function publish(store: string, version: number): Promise<void> {
  const dir = await prepareVersionDir(store, VIEW, version);
  const files: ViewManifestFile[] = [];
  const keys = Array.from({ length: KEYS }, (_, i) => i);
  for (let p = 0; p < PARTITIONS; p++) {
    const name = viewFileName(p);
    const w = await ViewFileWriter.create(join(dir, name));
    for (const i of keys) {
      const k = keyOf(i);
      if (hashPartition(k, PARTITIONS) !== p) continue;
      w.addValue(k, { v: version, i, pad: PAD });
      if (w.needsFlush()) await w.flush();
    }
    const s = await w.finish();
    files.push({ name, partition: p, bytes: s.bytes, checksum: s.checksum, records: s.records, firstKey: s.firstKey ?? null, lastKey: s.lastKey ?? null });
  }
  await writeManifest(store, makeManifest({
    view: VIEW, version, dataset: 'bench', cut: [version, 0], jobId: `job-${String(version).padStart(4, '0')}`, definitionHash: 'e'.repeat(64),
    builtAt: new Date().toISOString(), files,
  }));
  await publishVersion(store, VIEW, version);
}

async function acknowledged(views: ViewsClient, version: number): Promise<void> {
  for (;;) {
    const nodes = await views.listServingNodes();
    if (nodes.some((n) => n.loaded.some((l) => l.view === VIEW && l.version === version))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'laminate-bench-swaps-'));
  const procs: ChildProcess[] = [];
  try {
    const master = await start(['master', '--port', '0', '--data', join(work, 'master')], /master listening on (\S+)/);
    procs.push(master.proc);
    const address = master.match[1]!;
    const store = join(work, 'master', 'views');
    const client = new LaminateClient(address);
    const views = new ViewsClient(address);
    await client.createDataset('bench', { partitions: 2 });
    await views.deployView({ name: VIEW, bundle: Buffer.from('export default {};\n'), source: 'bench', definitionHash: 'e'.repeat(64), merge: 'sum' });
    await publish(store, 1);
    const node = await start(['serve', '--master', address, '--port', '0', '--data', join(work, 'serve'), '--heartbeat-interval', String(HEARTBEAT_MS)], /listening on (\S+)/);
    procs.push(node.proc);
    await acknowledged(views, 1);

    const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    let reads = 0;
    let failed = 0;
    let mixed = 0;
    let stop = false;
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const readers = Array.from({ length: READERS }, async () => {
      while (!stop) {
        const idx = Array.from({ length: BATCH }, () => Math.floor(random() * KEYS));
        const t0 = process.hrtime.bigint();
        try {
          const r = await client.multiGet(VIEW, idx.map(keyOf));
          latency.recordValue(Number((process.hrtime.bigint() - t0) / 1000n));
          reads++;
          r.results.forEach((x, j) => {
            const value = x.value as { v: number; i: number } | undefined;
            if (!x.found || value?.v !== r.coverage.version || value.i !== idx[j]) mixed++;
          });
        } catch (err) {
          failed++;
          console.error(`read failed: ${(err as Error).message}`);
        }
      }
    });

    const turnaround: number[] = [];
    const started = Date.now();
    for (let v = 2; v <= SWAPS + 1; v++) {
      await publish(store, v);
      const t0 = Date.now();
      await acknowledged(views, v);
      turnaround.push(Date.now() - t0);
      if (v - 4 >= 1) await removeVersion(store, VIEW, v - 4);
    }
    const elapsedS = (Date.now() - started) / 1000;
    stop = true;
    await Promise.all(readers);
    client.close().catch(() => undefined);
    views.close();

    turnaround.sort((a, b) => a - b);
    const pct = (q: number): string => (latency.getValueAtPercentile(q) / 1000).toFixed(2);
    console.log(`serving swaps: ${SWAPS} swaps of a view of ${KEYS} keys (~100-byte values, ${PARTITIONS} files) in ${elapsedS.toFixed(1)} s, ${READERS} readers of MultiGets of ${BATCH} keys`);
    console.log(`  reads: ${reads} MultiGets, ${Math.round((reads * BATCH) / elapsedS)} keys/s; failed ${failed}; answers mixing versions ${mixed}`);
    console.log(`  MultiGet ms (closed loop): p50 ${pct(50)}, p99 ${pct(99)}, p99.9 ${pct(99.9)}, max ${(latency.maxValue / 1000).toFixed(2)}`);
    console.log(`  swap turnaround (publish to acknowledgement, heartbeat every ${HEARTBEAT_MS} ms): median ${turnaround[turnaround.length >> 1]} ms, max ${turnaround[turnaround.length - 1]} ms`);
    if (failed > 0 || mixed > 0) process.exitCode = 1;
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
