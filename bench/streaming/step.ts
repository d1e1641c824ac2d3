/**
 * One run of the streaming benchmark at one rate, on a fresh cluster of
 * separate processes: a master and 2 workers (bench/cluster.ts), a serving
 * node, a speed process (when the build has one), and the appender
 * (appender.ts) sending YSB events in open loop. While it runs: a batch build
 * every `buildEverySeconds`, the backlog sampled (backlog.ts), the windows
 * polled for their final counts (window-poller.ts), and whole-view scans at
 * random moments. Then it drains (the speed side caught up with the log; a
 * last build served), scans again, and checks every answer it kept against
 * the reference fold of the log up to the answer's coverage.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { answerOffsets, describeMismatches, diffAnswer, foldLogAt, type Mismatch } from '../../test/integration/speed-reference.js';
import { BenchCluster, CLI, ROOT } from '../cluster.js';
import { CLUSTER_SHAPE } from '../context.js';
import { Prng } from '../data-gen/prng.js';
import { processCpuSeconds, sampleRss } from '../measure.js';
import { BacklogSampler, type BacklogFigures } from './backlog.js';
import { ysbKey, ysbReferenceFold, type MergedCoverage, type MergedQueryOptions, type MergedScanEntry } from './merged-answers.js';
import type { OpenLoopStats } from './open-loop.js';
import { startProcess, stopProcess, type StartedProcess } from './processes.js';
import { CAMPAIGNS, YSB_WINDOW_MS } from './ysb-campaigns.js';
import { WindowPoller } from './window-poller.js';
import { sleep } from './sleep.js';

export const DATASET = 'ysb';
export const VIEW = 'campaigns';
const VIEW_FILE = join(ROOT, 'dist', 'bench', 'views', 'ysb-campaign-views.js');
const APPENDER = join(ROOT, 'dist', 'bench', 'streaming', 'appender.js');

export interface StepOptions {
  readonly dir: string;
  readonly rate: number;
  readonly seconds: number;
  readonly buildEverySeconds: number;
  /** Start `laminate speed` (false when this build has none: answers are then batch-only). */
  readonly speed: boolean;
  readonly seed: number;
  readonly partitions: number;
  readonly profileDir: string | undefined;
  log(message: string): void;
}

/** An answer kept for the exactness check: its keys (reference form) and values, and its coverage. */
export interface KeptAnswer {
  readonly kind: 'random scan' | 'final window' | 'drained scan' | 'drained batch-only scan' | 'served scan' | 'served batch-only scan';
  readonly atMs: number;
  readonly coverage: MergedCoverage;
  /** A scan of the whole view: every key of the reference must be in it. */
  readonly complete: boolean;
  readonly entries: ReadonlyArray<readonly [string, number | undefined]>;
}

export interface StepResult {
  readonly rate: number;
  readonly seconds: number;
  readonly generator: OpenLoopStats;
  /** From event 0's due time to every event durable. */
  readonly ingestWallS: number;
  readonly endOffsets: number[];
  readonly builds: ReadonlyArray<{ readonly version: number; readonly wallS: number; readonly records: number }>;
  /** Whether the last build's cut is the log's end: the batch side alone then counts every record. */
  readonly lastBuildCovers: boolean;
  readonly backlog: BacklogFigures | undefined;
  /** ms from each window's end to the first answer showing it final. */
  readonly windowLatenciesMs: number[];
  readonly windowsNeverFinal: number;
  /** Final windows whose count differed from the whole log's (a window marked final too early). */
  readonly finalWindowsChanged: number;
  readonly answers: { readonly checked: number; readonly withSpeed: number; readonly withUncovered: number; readonly mismatched: number; readonly detail: string };
  readonly drainS: number | undefined;
  /** Queries of the pollers and samplers that failed (the run goes on without them), and the last one's error. */
  readonly queryErrors: number;
  readonly lastQueryError: string;
  readonly cpuS: Record<string, number>;
  readonly peakMb: number;
}


/** Polls `probe` every `everyMs` until it returns a value, or throws after `timeoutMs` saying `what`. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A whole-view scan, kept as an answer. */
async function scanAll(client: LaminateClient, kind: KeptAnswer['kind'], options: MergedQueryOptions = {}): Promise<KeptAnswer> {
  const scan = client.scan(VIEW, options);
  const entries: Array<[string, number]> = [];
  for await (const e of scan as AsyncIterable<MergedScanEntry>) entries.push([ysbKey(e.key), e.value as number]);
  return { kind, atMs: Date.now(), coverage: scan.coverage as MergedCoverage, complete: true, entries };
}

/** Runs one step; the cluster is stopped before it returns (or throws). */
export async function runStep(o: StepOptions): Promise<StepResult> {
  mkdirSync(o.dir, { recursive: true });
  const cluster = await BenchCluster.start({ dir: o.dir, ...CLUSTER_SHAPE, profileDir: o.profileDir });
  const client = new LaminateClient(cluster.address);
  const started: StartedProcess[] = [];
  const stop = new AbortController();
  let rss: ReturnType<typeof sampleRss> | undefined;
  try {
    const prof = (name: string): string[] => (o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(o.profileDir, name)}`] : []);
    const serve = await startProcess('laminate serve', [...prof('serve'), CLI, 'serve', '--master', cluster.address, '--port', '0', '--data', join(o.dir, 'serve')],
      join(o.dir, 'serve.log'), /listening on (\S+)/);
    started.push(serve.p);
    if (o.speed) {
      const speed = await startProcess('laminate speed', [...prof('speed'), CLI, 'speed', '--master', cluster.address, '--port', '0', '--data', join(o.dir, 'speed'),
        '--checkpoints', join(o.dir, 'speed', 'checkpoints')], join(o.dir, 'speed.log'), /listening on (\S+)/);
      started.push(speed.p);
    }
    await client.createDataset(DATASET, { partitions: o.partitions });
    await client.deployView(VIEW_FILE, { name: VIEW, partitions: 4 });
    // Version 1 over the empty dataset, so that the serving node has a version to answer from.
    const first = await client.buildView(VIEW, { wait: true });
    if (first.state !== 'PUBLISHED') throw new Error(`the first build failed: ${first.error}`);
    await until('the serving node to load version 1', 60_000, async () =>
      (await client.viewVersions(VIEW)).versions.some((v) => v.version === first.version && v.servedBy.length > 0) ? true : undefined);

    const events = Math.round(o.rate * o.seconds);
    // Time for the appender to start and connect (a second or two on a busy machine) before event 0 is due.
    const startMs = Date.now() + 3000;
    const appender = await startProcess('appender', [APPENDER, '--master', cluster.address, '--dataset', DATASET, '--rate', String(o.rate),
      '--events', String(events), '--start-ms', String(startMs), '--seed', String(o.seed)], join(o.dir, 'appender.log'), /^\{/, 30_000);
    started.push(appender.p);
    const pids: Record<string, number> = { master: cluster.master.pid, ...Object.fromEntries(cluster.workers.map((w, i) => [`worker-${i + 1}`, w.pid])),
      ...Object.fromEntries(started.map((p) => [p.name.replace('laminate ', ''), p.pid])) };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid)]));
    rss = sampleRss(Object.values(pids).filter((pid) => pid !== appender.p.pid));
    o.log(`${o.rate} events/s for ${o.seconds} s (${events} events), builds every ${o.buildEverySeconds} s${o.speed ? '' : ', no speed process'}`);

    const kept: KeptAnswer[] = [];
    const builds: Array<{ version: number; wallS: number; records: number }> = [];
    const loops: Array<Promise<void>> = [];
    // A loop's failure ends the run at once (and is rethrown below); a
    // rejection must never wait unhandled until the appender is done.
    let failure: unknown;
    const track = (p: Promise<void>): Promise<void> => p.catch((err: unknown) => {
      failure ??= err;
      stop.abort();
      appender.p.proc.kill('SIGTERM');
    });
    let queryErrors = 0;
    let lastQueryError = '';
    const tolerate = async (what: string, q: () => Promise<void>): Promise<void> => {
      try {
        await q();
      } catch (err) {
        // A query that fails is counted and reported; the run goes on.
        queryErrors++;
        lastQueryError = `${what}: ${(err as Error).message}`;
      }
    };
    // Batch builds every so often while events arrive.
    loops.push(track((async () => {
      await sleep(Math.max(0, startMs - Date.now()), stop.signal);
      while (!stop.signal.aborted) {
        await sleep(o.buildEverySeconds * 1000, stop.signal);
        if (stop.signal.aborted) break;
        const t0 = performance.now();
        const b = await client.buildView(VIEW, { wait: true });
        if (b.state !== 'PUBLISHED') throw new Error(`a build during the run failed: ${b.error}`);
        builds.push({ version: b.version, wallS: (performance.now() - t0) / 1000, records: b.cut.reduce((a, x) => a + x, 0) });
        o.log(`built version ${b.version} over ${builds[builds.length - 1]!.records} records in ${builds[builds.length - 1]!.wallS.toFixed(1)} s`);
      }
    })()));
    // Whole-view scans at random moments (exponential gaps, about 8 a run).
    const prng = new Prng(o.seed + 1);
    loops.push(track((async () => {
      await sleep(Math.max(0, startMs - Date.now()), stop.signal);
      while (!stop.signal.aborted) {
        await sleep(-Math.log(1 - prng.float()) * (o.seconds * 1000) / 8, stop.signal);
        if (stop.signal.aborted) break;
        await tolerate('a random scan', async () => { kept.push(await scanAll(client, 'random scan')); });
      }
    })()));
    const backlog = o.speed ? new BacklogSampler(client, DATASET, VIEW, [CAMPAIGNS[0]!, 0], tolerate) : undefined;
    if (backlog) loops.push(track(backlog.run(stop.signal)));
    const lastEnd = startMs + o.seconds * 1000;
    const poller = o.speed ? new WindowPoller(client, VIEW, startMs - (startMs % YSB_WINDOW_MS), lastEnd, tolerate) : undefined;
    const pollerStop = new AbortController();
    const pollerDone = poller === undefined ? Promise.resolve() : track(poller.run(pollerStop.signal, (a) => kept.push({ kind: 'final window', ...a, complete: false })));

    // The appender's end: every event durable.
    const code = await appender.p.exited;
    if (failure !== undefined) throw failure;
    const statsLine = appender.p.lines.find((l) => l.startsWith('{"stats"'));
    if (code !== 0 || statsLine === undefined) throw new Error(`the appender failed (exit ${code}); see ${appender.p.logFile}`);
    const { stats: generator, cpuS: appenderCpuS } = JSON.parse(statsLine) as { stats: OpenLoopStats; cpuS: number };
    stop.abort();
    await Promise.all(loops);
    if (failure !== undefined) throw failure;
    const ingestWallS = (generator.durableMs - startMs) / 1000;
    // The appender has exited: its CPU is what it reported.
    const cpuS = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid === appender.p.pid ? appenderCpuS : processCpuSeconds(pid) - cpu0[k]!]));
    const endOffsets = (await client.describeDataset(DATASET)).partitions.map((p) => p.endOffset);
    o.log(`appended ${generator.sent} events in ${ingestWallS.toFixed(1)} s (achieved ${Math.round(generator.achievedRate)}/s, at most ${generator.maxBehindMs.toFixed(0)} ms behind schedule)`);

    // Drain: the speed side has applied every record.
    let drainS: number | undefined;
    if (o.speed) {
      const d0 = performance.now();
      await until(`the speed side to apply every record up to [${endOffsets.join(',')}] (its log: ${join(o.dir, 'speed.log')})`, 120_000, async () => {
        const r = await client.get(VIEW, [CAMPAIGNS[0]!, 0]);
        const c = r.coverage as MergedCoverage;
        return c.speed !== undefined && isDeepStrictEqual([...c.speed], endOffsets) ? true : undefined;
      });
      drainS = (performance.now() - d0) / 1000;
      kept.push(await scanAll(client, 'drained scan'));
      kept.push(await scanAll(client, 'drained batch-only scan', { batchOnly: true }));
    }
    pollerStop.abort();
    await pollerDone;
    if (failure !== undefined) throw failure;
    // A last build over everything, served: batch alone now counts every record.
    const last = await client.buildView(VIEW, { wait: true });
    if (last.state !== 'PUBLISHED') throw new Error(`the last build failed: ${last.error}`);
    builds.push({ version: last.version, wallS: Number.NaN, records: last.cut.reduce((a, x) => a + x, 0) });
    await until(`version ${last.version} to be served`, 60_000, async () =>
      (await client.get(VIEW, [CAMPAIGNS[0]!, 0])).coverage.version === last.version ? true : undefined);
    kept.push(await scanAll(client, 'served scan'));
    kept.push(await scanAll(client, 'served batch-only scan', { batchOnly: true }));
    const peakMb = rss.stop().sumMb;
    rss = undefined;

    o.log(`checking ${kept.length} answers against the reference fold of the log`);
    const answers = await checkAnswers(client, kept, endOffsets);
    return {
      rate: o.rate, seconds: o.seconds, generator, ingestWallS, endOffsets, builds, lastBuildCovers: isDeepStrictEqual([...last.cut], endOffsets),
      backlog: backlog?.figures(startMs, lastEnd, o.rate),
      windowLatenciesMs: poller?.latencies() ?? [], windowsNeverFinal: poller?.pending() ?? 0,
      finalWindowsChanged: answers.finalWindowsChanged,
      answers: answers.summary, drainS, cpuS, peakMb, queryErrors, lastQueryError,
    };
  } finally {
    stop.abort();
    rss?.stop();
    for (const p of started.reverse()) await stopProcess(p);
    await client.close();
    await cluster.stop();
    // The data (gigabytes at the top rates) goes; the logs stay with the work folder.
    for (const d of ['master', 'serve', 'speed', ...cluster.workers.map((_, i) => `worker-${i + 1}`)]) rmSync(join(o.dir, d), { recursive: true, force: true });
  }
}

/**
 * Every kept answer against the reference at its coverage (zero tolerance),
 * and every final window's counts against the whole log's: a window shown
 * final must not change afterwards.
 */
async function checkAnswers(client: LaminateClient, kept: readonly KeptAnswer[], endOffsets: number[]): Promise<{ summary: StepResult['answers']; finalWindowsChanged: number }> {
  const bad: string[] = [];
  const vectors: number[][] = [];
  const checkable: KeptAnswer[] = [];
  for (const a of kept) {
    try {
      vectors.push(answerOffsets(a.coverage));
      checkable.push(a);
    } catch (err) {
      bad.push(`${a.kind} at ${a.atMs}: ${(err as Error).message}`);
    }
  }
  const folds = await foldLogAt(client, DATASET, [...vectors, endOffsets], ysbReferenceFold);
  const whole = folds.pop()!;
  let mismatched = bad.length;
  checkable.forEach((a, i) => {
    const m: Array<Mismatch<number>> = diffAnswer(folds[i]!, a.entries, { complete: a.complete });
    if (m.length > 0) {
      mismatched++;
      if (bad.length < 5) bad.push(`${a.kind} at ${a.atMs} (version ${a.coverage.version}, up to [${vectors[i]!.join(',')}]): ${describeMismatches(m)}`);
    }
  });
  let finalWindowsChanged = 0;
  for (const a of checkable.filter((x) => x.kind === 'final window')) {
    if (diffAnswer(whole, a.entries, { complete: false }).length > 0) finalWindowsChanged++;
  }
  return {
    summary: {
      checked: kept.length,
      withSpeed: kept.filter((a) => a.coverage.speed !== undefined).length,
      withUncovered: kept.filter((a) => (a.coverage.uncovered?.length ?? 0) > 0).length,
      mismatched,
      detail: bad.length === 0 ? `${kept.length} answers equal the reference at their coverage` : bad.join(' | '),
    },
    finalWindowsChanged,
  };
}
