/**
 * Swaps under load, the scenario shared by bench/serving-swaps.ts and the
 * serving benchmark: a master and a serving node (the compiled CLI, each a
 * process of its own) serve a view of N keys; this process runs R loops of
 * MultiGets of B keys through LaminateClient while it publishes S new
 * versions one after another (each written by hand into the master's view
 * store, as a build would leave it, then published), waiting for the node
 * to acknowledge each before the next. Every value names the version it
 * was written in, and is checked against the answer's coverage.
 *
 * Versions older than the current one and the 3 before it are removed from
 * the store as the master's retention would, so the disk holds at most 4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { LaminateClient } from '../src/client/laminate-client.js';
import { hashPartition } from '../src/common/partitioner.js';
import { ViewsClient } from '../src/protocol/view-rpc.js';
import { ViewFileWriter } from '../src/view/view-file-writer.js';
import { makeManifest, type ViewManifestFile } from '../src/view/view-manifest.js';
import { prepareVersionDir, publishVersion, removeVersion, viewFileName, writeManifest } from '../src/view/view-version-dir.js';

/** What a run is: N keys, S swaps, R readers of MultiGets of B keys, the node's heartbeat interval. */
export interface SwapOptions {
  /** A fresh folder for the master's and the node's data (left for the caller to remove). */
  readonly work: string;
  readonly keys: number;
  readonly swaps: number;
  readonly readers: number;
  readonly batch: number;
  readonly heartbeatMs: number;
}

/** What a run measured. Read latencies are closed-loop service times (each reader sends its next request when the last returns). */
export interface SwapFigures {
  readonly elapsedS: number;
  /** MultiGets answered, and keys per second over the run. */
  readonly reads: number;
  readonly keysPerS: number;
  /** Reads that failed, and answers with a value of another version than their coverage's (both must be 0). */
  readonly failed: number;
  readonly mixed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Publish to the node's acknowledgement (includes up to one heartbeat interval). */
  readonly turnaroundMedianMs: number;
  readonly turnaroundMaxMs: number;
}

const PARTITIONS = 4;
const VIEW = 'bench-swaps';
const CLI = resolve(import.meta.dirname, '..', '..', 'bin', 'laminate.cjs');
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
async function publish(store: string, version: number, keyCount: number): Promise<void> {
  const dir = await prepareVersionDir(store, VIEW, version);
  const files: ViewManifestFile[] = [];
  const keys = Array.from({ length: keyCount }, (_, i) => i);
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

/**
 * Starts a master and a `laminate serve` process (the compiled CLI) under
 * `o.work`, publishes version 1 of an N-key view, then runs R loops of
 * MultiGets while it publishes S new versions one after another (each
 * waited for until the node acknowledges it), and stops both processes.
 * Called by bench/serving-swaps.ts and by the serving benchmark.
 */
export async function swapsUnderReads(o: SwapOptions): Promise<SwapFigures> {
  const { work, keys, swaps, batch, heartbeatMs } = o;
  const procs: ChildProcess[] = [];
  // Also set when a step fails, so that the readers end and the process can exit.
  let stop = false;
  try {
    const master = await start(['master', '--port', '0', '--data', join(work, 'master')], /master listening on (\S+)/);
    procs.push(master.proc);
    const address = master.match[1]!;
    const store = join(work, 'master', 'views');
    const client = new LaminateClient(address);
    const views = new ViewsClient(address);
    await client.createDataset('bench', { partitions: 2 });
    await views.deployView({ name: VIEW, bundle: Buffer.from('export default {};\n'), source: 'bench', definitionHash: 'e'.repeat(64), merge: 'sum' });
    await publish(store, 1, keys);
    const node = await start(['serve', '--master', address, '--port', '0', '--data', join(work, 'serve'), '--heartbeat-interval', String(heartbeatMs)], /listening on (\S+)/);
    procs.push(node.proc);
    await acknowledged(views, 1);
    const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    let reads = 0;
    let failed = 0;
    let mixed = 0;
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const readers = Array.from({ length: o.readers }, async () => {
      while (!stop) {
        const idx = Array.from({ length: batch }, () => Math.floor(random() * keys));
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
    for (let v = 2; v <= swaps + 1; v++) {
      await publish(store, v, keys);
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
    const ms = (q: number): number => latency.getValueAtPercentile(q) / 1000;
    return {
      elapsedS, reads, keysPerS: (reads * batch) / elapsedS, failed, mixed, p50Ms: ms(50), p99Ms: ms(99), p999Ms: ms(99.9), maxMs: latency.maxValue / 1000,
      turnaroundMedianMs: turnaround[turnaround.length >> 1] ?? 0, turnaroundMaxMs: turnaround[turnaround.length - 1] ?? 0,
    };
  } finally {
    stop = true;
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
  }
}
