/**
 * serving (issue 8): a view of 1,000,000 keys with ~100-byte values (two
 * records per key, the largest value kept: bench/views/kv-max.ts), built by
 * the engine on the benchmark cluster (a master and 2 one-slot workers)
 * against the floor (baselines/serving-floor.ts: one process reading the
 * same records from a file, folding them into a Map and writing them
 * sorted; the records are generated before either is timed). Also: load-and-verify
 * time of the version's files (open, check every block and the whole
 * file's checksum against the manifest), per million keys, as a serving
 * node does when it loads a version.
 *
 * Then reads, against `laminate serve` (a separate process, loaded from the
 * master's assignment) and against the RPC floor (baselines/
 * serving-rpc-floor.ts: a grpc-js server answering from a Map), the load
 * generator in this process on the same 2 cores: Gets in open loop with
 * zipfian keys (YCSB C), the highest rate whose p99 stays within 5 ms;
 * MultiGets of 100 keys; a Scan of the whole view (serving-reads.ts).
 *
 * Last, reads during swaps (bench/swaps-under-reads.ts, the scenario of
 * bench/serving-swaps.ts): 4 loops of MultiGets of 100 keys against a
 * `laminate serve` process while 100 versions are published one after
 * another, each acknowledged by the node before the next; the p99 of those
 * reads, and a check that none failed and none mixed two versions. Its view
 * has 100,000 keys at scale 1 (100 versions of the 1,000,000-key view would
 * write and copy some 11 GB): what is measured is reads across swaps.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { readManifest, versionDir } from '../../src/view/view-version-dir.js';
import { ViewFileReader } from '../../src/view/view-file-reader.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { ServingClient } from '../../src/protocol/serving-rpc.js';
import { BenchCluster, CLI, ROOT } from '../cluster.js';
import { highestRate, multiGetRate, openLoopGets, scanRate, Zipfian } from '../serving-reads.js';
import { bestOf, CLUSTER_SHAPE, runFigures, warmPageCache, type BenchContext, type Benchmark } from '../context.js';
import { kvKey, kvRecords } from '../data-gen/kv-records.js';
import { machineBusySeconds, measureCommand, otherCores, processCpuSeconds, sampleRss } from '../measure.js';
import { target, type BenchResult, type Check } from '../report.js';
import { swapsUnderReads } from '../swaps-under-reads.js';

const FULL_KEYS = 1_000_000;
const PER_KEY = 2;
const SEED = 20261201;
const VIEW_PARTITIONS = 4;
/** The swap scenario: versions published under reads (the issue's 100, at every scale), and its view's keys at scale 1. */
const SWAPS = 100;
const SWAP_KEYS = 100_000;
const SWAP_READERS = 4;
const SWAP_BATCH = 100;

interface ReadFigures {
  /** Highest open-loop Get rate (req/s) with p99 within 5 ms; 0 when even the lowest missed. */
  readonly getRate: number;
  readonly getP99Ms: number;
  readonly steps: string;
  readonly multiGetKeysPerS: number;
  readonly scanPerS: number;
}

const GET_RATES = [1000, 2000, 4000, 8000, 12000, 16000, 24000];
const STEP_SECONDS = 3;

async function readFigures(address: string, keys: number): Promise<ReadFigures> {
  const client = new ServingClient(address);
  try {
    const zipf = new Zipfian(keys, SEED + 7);
    const key = (): string => kvKey(zipf.next());
    // Warm up (connection, JIT, the node's block cache) before anything is measured.
    await openLoopGets(client, 'kv', key, 1000, 3);
    const { best, steps } = await highestRate(client, 'kv', key, GET_RATES, STEP_SECONDS, 5);
    const multiGetKeysPerS = await multiGetRate(client, 'kv', key, 100, 4, STEP_SECONDS);
    const scan = await scanRate(client, 'kv');
    return {
      getRate: best?.rate ?? 0, getP99Ms: best?.p99Ms ?? Number.NaN,
      steps: steps.map((s) => `${s.rate}/s: p99 ${s.p99Ms.toFixed(2)} ms${s.errors > 0 ? `, ${s.errors} errors` : ''}`).join('; '),
      multiGetKeysPerS, scanPerS: scan.perSecond,
    };
  } finally {
    client.close();
  }
}

/** Starts a process and resolves with what `re` matched on its stdout; the process is killed by `stop`. */
function startProcess(args: string[], re: RegExp, logFile: string): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', openSync(logFile, 'w')] });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) { clearTimeout(t); resolve({ proc, match: m }); }
    });
    proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`${args.join(' ')} exited with ${c}`)); });
  });
}

interface BuildRun {
  readonly wallS: number;
  readonly cpuS: number;
  readonly peakMb: number;
  readonly otherCores: number;
  readonly keys: number;
  readonly verifyMsPerMillion: number;
  readonly bytes: number;
  readonly serve?: ReadFigures;
  readonly floor?: ReadFigures;
}

/** The benchmark's records, u32-length-framed msgpack, for the floor to read. */
function writeRecordsFile(path: string, keys: number): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.allocUnsafe(1024 * 1024 + 64 * 1024);
  let used = 0;
  for (const r of kvRecords(SEED, keys, PER_KEY)) {
    const b = pack(r);
    buf.writeUInt32LE(b.length, used);
    buf.set(b, used + 4);
    used += 4 + b.length;
    if (used >= 1024 * 1024) {
      writeSync(fd, buf, 0, used);
      used = 0;
    }
  }
  writeSync(fd, buf, 0, used);
  closeSync(fd);
}

async function buildRun(ctx: BenchContext, keys: number, i: number): Promise<BuildRun> {
  const cluster = await BenchCluster.start({ dir: join(ctx.work, `build-${i}`), ...CLUSTER_SHAPE, profileDir: ctx.profileDir });
  const client = new LaminateClient(cluster.address);
  try {
    await client.createDataset('kv', { partitions: 4 });
    const producer = client.producer('kv', {});
    let n = 0;
    for (const r of kvRecords(SEED, keys, PER_KEY)) {
      producer.write(r);
      if ((++n & 1023) === 0) await producer.ready();
    }
    await producer.flush();
    await client.deployView(join(ROOT, 'dist', 'bench', 'views', 'kv-max.js'), { name: 'kv', partitions: VIEW_PARTITIONS });

    const pids = cluster.processes.map((p) => p.pid);
    const rss = sampleRss(pids);
    const cpu0 = pids.reduce((s, pid) => s + processCpuSeconds(pid), 0);
    const busy0 = machineBusySeconds();
    const t0 = performance.now();
    const b = await client.buildView('kv', { full: true, wait: true });
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = pids.reduce((s, pid) => s + processCpuSeconds(pid), 0) - cpu0;
    const busy = machineBusySeconds() - busy0;
    const peak = rss.stop();
    if (b.state !== 'PUBLISHED') throw new Error(`the build failed: ${b.error}`);

    // Load and verify, as a serving node does: open each file, check every block and the file's checksum.
    const root = join(cluster.options.dir, 'master', 'views');
    const manifest = await readManifest(root, 'kv', b.version);
    const v0 = performance.now();
    for (const f of manifest.files) {
      const reader = await ViewFileReader.open(join(versionDir(root, 'kv', b.version), f.name));
      await reader.verify({ checksum: f.checksum });
      await reader.close();
    }
    const verifyMs = performance.now() - v0;

    // Reads (first run only): `laminate serve` once it has loaded the version, then the RPC floor.
    let serve: ReadFigures | undefined;
    let floor: ReadFigures | undefined;
    if (i === 0) {
      const node = await startProcess([CLI, 'serve', '--master', cluster.address, '--port', '0', '--data', join(cluster.options.dir, 'serve')],
        /listening on (\S+)/, join(cluster.options.dir, 'serve.log'));
      try {
        const deadline = Date.now() + 120_000;
        while (!(await client.viewVersions('kv')).versions.some((v) => v.version === b.version && v.servedBy.length > 0)) {
          if (Date.now() > deadline) throw new Error('the serving node did not load the version');
          await new Promise((r) => setTimeout(r, 100));
        }
        ctx.log('reads against laminate serve');
        serve = await readFigures(node.match[1]!, keys);
      } finally {
        node.proc.kill('SIGTERM');
      }
      const rpcFloor = await startProcess([join(ROOT, 'dist', 'bench', 'baselines', 'serving-rpc-floor.js'), versionDir(root, 'kv', b.version), 'kv'],
        /listening on (\S+)/, join(cluster.options.dir, 'rpc-floor.log'));
      try {
        ctx.log('reads against the RPC floor');
        floor = await readFigures(rpcFloor.match[1]!, keys);
      } finally {
        rpcFloor.proc.kill('SIGTERM');
      }
    }
    return {
      ...(serve ? { serve } : {}), ...(floor ? { floor } : {}),
      wallS, cpuS, peakMb: peak.sumMb, otherCores: otherCores(busy, cpuS, wallS), keys: manifest.keys,
      verifyMsPerMillion: verifyMs / (manifest.keys / 1e6), bytes: manifest.bytes,
    };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

export const serving: Benchmark = {
  name: 'serving',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const keys = Math.max(1000, Math.round(FULL_KEYS * ctx.scale));
    const recordsFile = join(ctx.work, 'records.bin');
    writeRecordsFile(recordsFile, keys);
    warmPageCache(recordsFile);
    const floor = await bestOf(ctx, `node floor: fold ${keys * PER_KEY} records into a Map, write ${keys} keys sorted`, () =>
      measureCommand([process.execPath, join(ROOT, 'dist', 'bench', 'baselines', 'serving-floor.js'), recordsFile, join(ctx.work, 'floor.bin')]));
    const build = await bestOf(ctx, `Laminate: build a view of ${keys} keys over ${keys * PER_KEY} records`, (i) => buildRun(ctx, keys, i));
    const best = build.best;
    const reads = build.all[0]?.serve;
    const rpcFloor = build.all[0]?.floor;
    const swapKeys = Math.max(1000, Math.round(SWAP_KEYS * ctx.scale));
    ctx.log(`reads during ${SWAPS} swaps of a view of ${swapKeys} keys`);
    const swaps = await swapsUnderReads({ work: join(ctx.work, 'swaps'), keys: swapKeys, swaps: SWAPS, readers: SWAP_READERS, batch: SWAP_BATCH, heartbeatMs: 100 });
    const checks: Check[] = [
      { name: 'the view has one key per distinct key', ok: best.keys === keys, detail: `${best.keys} keys for ${keys}` },
      {
        name: `${SWAPS} swaps under reads: no failed read, no answer mixing versions`, ok: swaps.failed === 0 && swaps.mixed === 0 && swaps.reads > 0,
        detail: `${swaps.reads} MultiGets, ${swaps.failed} failed, ${swaps.mixed} values of another version than their answer's`,
      },
    ];
    return {
      name: 'serving',
      description: `a view of ${keys} keys (~100-byte values, ${PER_KEY} records per key, merge max) built on ${CLUSTER_SHAPE.workers} one-slot workers`,
      scale: ctx.scale,
      contenders: [
        { name: 'node floor (Map, sorted file)', ...floor.best, walls: floor.walls, runs: runFigures(floor.all) },
        { name: 'Laminate view build', wallS: best.wallS, cpuS: best.cpuS, peakMb: best.peakMb, otherCores: best.otherCores, walls: build.walls, runs: runFigures(build.all) },
      ],
      targets: [
        target('build time / floor time', best.wallS / floor.best.wallS, 0.8, 'x'),
        target('load and verify per million keys', best.verifyMsPerMillion, 50, 'ms'),
        ...(reads ? [
          target('Get rate (zipfian, open loop) with p99 <= 5 ms', reads.getRate, 8000, 'req/s', true),
          target('MultiGet of 100 keys', reads.multiGetKeysPerS, 200_000, 'keys/s', true),
          target('Scan', reads.scanPerS, 1_000_000, 'entries/s', true),
        ] : []),
      ],
      checks,
      notes: [
        `view: ${best.keys} keys, ${(best.bytes / 1e6).toFixed(1)} MB in ${VIEW_PARTITIONS} files; load and verify ${best.verifyMsPerMillion.toFixed(1)} ms per million keys`,
        ...[['laminate serve', reads], ['RPC floor (Map)', rpcFloor]].filter((x): x is [string, ReadFigures] => x[1] !== undefined).map(([who, r]) =>
          `${who}: Get ${r.getRate}/s with p99 ${r.getP99Ms.toFixed(2)} ms (${r.steps}); MultiGet ${Math.round(r.multiGetKeysPerS)} keys/s; Scan ${Math.round(r.scanPerS)} entries/s`),
        `reads during ${SWAPS} swaps (view of ${swapKeys} keys, ${SWAP_READERS} closed loops of MultiGets of ${SWAP_BATCH} keys, ${swaps.elapsedS.toFixed(1)} s): `
          + `p99 ${swaps.p99Ms.toFixed(2)} ms (p50 ${swaps.p50Ms.toFixed(2)}, p99.9 ${swaps.p999Ms.toFixed(2)}, max ${swaps.maxMs.toFixed(2)}); ${Math.round(swaps.keysPerS)} keys/s; `
          + `${swaps.failed} failed, ${swaps.mixed} mixed; swap turnaround median ${swaps.turnaroundMedianMs} ms, max ${swaps.turnaroundMaxMs} ms`,
      ],
      params: { keys, perKey: PER_KEY, seed: SEED, viewPartitions: VIEW_PARTITIONS, swaps: SWAPS, swapKeys, swapP99Ms: swaps.p99Ms, swapFailed: swaps.failed, swapMixed: swaps.mixed },
    };
  },
};
